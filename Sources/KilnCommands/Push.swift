import ArgumentParser
import Foundation
import OCI
import OCIRegistry

/// `kiln push oci-layout:DIR[:TAG] REF`: pushes an image from an OCI image layout to a registry.
public struct Push: ContextCommand {
    /// Help and examples.
    public static let configuration = CommandConfiguration(
        abstract: "Push an image from an OCI image layout to a registry.",
        discussion: """
        Finds the image (or index) tagged TAG in the layout's index.json and pushes it as `kiln build \
        --push` does (distribution-spec, "Pushing"): each blob is checked with HEAD first, \
        so what the repository already holds is not sent again (an unchanged image uploads nothing); \
        --mount-from names repositories of the same registry to mount blobs from; small blobs go in one \
        PUT, large ones as a streamed chunked upload; the manifest is put only after every blob is \
        confirmed, then the other tags. Blobs are checked for their size, not hashed, before the push: \
        the registry verifies the digest of every blob it receives. Memory stays flat whatever the layer \
        sizes.

        Without TAG the layout must hold exactly one image. REF's tag defaults to TAG (or 'latest'); \
        a REF with @sha256: pushes by digest only and needs the layout's image to have that digest.

        Credentials: ECR references log in with GetAuthorizationToken (AWS credentials and region from \
        the usual places; the repository is created when missing); other registries use \
        ~/.docker/config.json (auths, credHelpers, credsStore; DOCKER_CONFIG moves it). Loopback \
        registries are spoken to over plain HTTP.

        Examples:
          kiln push oci-layout:out/tools:2026.11 127.0.0.1:5000/tools
          kiln push oci-layout:out/tools 123456789012.dkr.ecr.us-east-1.amazonaws.com/tools:latest --json
          kiln push oci-layout:out/tools:2026.11 ghcr.io/org/tools --also-tag latest --mount-from org/base
        """)

    /// The source.
    @Argument(help: "The image to push: oci-layout:DIR[:TAG].")
    public var source: String

    /// The destination.
    @Argument(help: "Where to push it: [registry/]repository[:tag][@sha256:digest].")
    public var reference: String

    /// More tags.
    @Option(name: .customLong("also-tag"), help: "Another tag to give the pushed manifest (repeatable).")
    public var alsoTag: [String] = []

    /// Repositories to mount from.
    @Option(name: .customLong("mount-from"), help: "A repository of the same registry that may already hold the blobs (repeatable).")
    public var mountFrom: [String] = []

    /// Global options.
    @OptionGroup public var global: GlobalOptions

    /// Creates the command.
    public init() {}

    /// `oci-layout:DIR[:TAG]` split into the directory and the tag (nil when none is given).
    static func parseSource(_ text: String) throws -> (directory: String, tag: String?) {
        let prefix = "oci-layout:"
        guard text.hasPrefix(prefix), text.count > prefix.count else {
            throw ValidationError("the source must be oci-layout:DIR[:TAG], got '\(text)'")
        }
        let rest = String(text.dropFirst(prefix.count))
        // The tag is what follows the last ':' when it holds no '/' (image-spec image-layout.md: a
        // ref.name annotation); a directory name with ':' in it needs an explicit tag after it.
        if let colon = rest.lastIndex(of: ":") {
            let tag = String(rest[rest.index(after: colon)...])
            let directory = String(rest[..<colon])
            if !tag.contains("/") {
                guard !directory.isEmpty else { throw ValidationError("the source names no directory: '\(text)'") }
                do { try ImageLayout.validateTag(tag) } catch { throw ValidationError("the source's tag: \(error)") }
                return (directory, tag)
            }
        }
        return (rest, nil)
    }

    /// Whether `tag` is a valid registry tag (distribution-spec: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`).
    static func isValidTag(_ tag: String) -> Bool {
        (try? ImageReference(parsing: "kiln.invalid/x:" + tag))?.tag == tag
    }

    /// Checks the source, the reference and the tags without touching the file system or the network.
    public func validate() throws {
        _ = try Self.parseSource(source)
        do { _ = try ImageReference(parsing: reference) } catch { throw ValidationError("\(error)") }
        for tag in alsoTag where !Self.isValidTag(tag) {
            throw ValidationError("--also-tag '\(tag)' must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
        }
        for repository in mountFrom where repository.isEmpty || repository.contains(":") || repository.contains("@") {
            throw ValidationError("--mount-from takes a repository path like team/base, got '\(repository)'")
        }
    }

    /// Pushes the image and prints the manifest digest (or the JSON record).
    public func run(context: CommandContext) throws {
        let (directory, sourceTag) = try Self.parseSource(source)
        let layout = try ImageLayout.open(at: context.absolute(directory))
        // The manifest (or index) descriptor from index.json (image-layout.md). The blobs are not hashed
        // here: the push checks their sizes, sends only what the registry lacks, and the registry verifies
        // the digest of every blob it receives (distribution-spec, "Pushing blobs"), so an unchanged
        // re-push reads no layer at all.
        let manifests = try layout.readIndex().manifests
        let tag: String
        let image: Descriptor
        if let sourceTag {
            guard let found = manifests.first(where: { $0.annotations?[Descriptor.refNameAnnotation] == sourceTag }) else {
                throw ValidationError("oci-layout:\(directory) has no image tagged '\(sourceTag)' (tags: "
                    + "\(try layout.tags().joined(separator: ", ")))")
            }
            tag = sourceTag
            image = found
        } else {
            let tags = try layout.tags()
            guard manifests.count == 1, let only = manifests.first else {
                throw ValidationError("oci-layout:\(directory) holds \(manifests.count) images (tags: \(tags.joined(separator: ", "))); "
                    + "name one as oci-layout:\(directory):TAG")
            }
            tag = tags.first ?? "latest"
            image = only
        }
        var target = try ImageReference(parsing: reference)
        // A reference written without a tag (the parser reads it as :latest) takes the layout's tag.
        let lastComponent = reference.split(separator: "@").first?.split(separator: "/").last ?? ""
        if target.digest == nil && !lastComponent.contains(":") {
            target.tag = Self.isValidTag(tag) ? tag : "latest"
        }
        let settings = ECRRepositorySettings()
        let client = try registryClient(for: target, global: global, context: context, creatingRepository: settings)
        let started = Date()
        let report = try client.push(layout: layout, image: image, to: target, extraTags: alsoTag,
                                     mountFrom: mountFrom)
        let seconds = Date().timeIntervalSince(started)
        let record = PushedRecord(reference: target.description, tags: report.tags, manifestDigest: report.manifestDigest.description,
                                  blobsUploaded: report.blobsUploaded, blobsSkipped: report.blobsSkipped,
                                  blobsMounted: report.blobsMounted, bytesUploaded: report.bytesUploaded)
        if global.json {
            context.out(try jsonText(record))
        } else {
            context.err("pushed oci-layout:\(directory):\(tag) to \(target) (tags \(report.tags.joined(separator: ", "))): "
                + "\(report.blobsUploaded) blobs uploaded (\(report.bytesUploaded) bytes), \(report.blobsSkipped) already there, "
                + "\(report.blobsMounted) mounted, " + String(format: "%.2f s", seconds) + "\n")
            context.out(report.manifestDigest.description + "\n")
        }
    }
}

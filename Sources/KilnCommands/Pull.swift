#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import OCI
import OCIRegistry

/// `kiln pull REF`: copies an image from a registry into an OCI image layout.
public struct Pull: ContextCommand {
    /// Help and examples.
    public static let configuration = CommandConfiguration(
        abstract: "Pull an image from a registry into an OCI image layout.",
        discussion: """
        Resolves REF (a tag or a digest; an index is narrowed to --platform), downloads the config and \
        layers in parallel, verifies each against its digest and size, and stores the manifest byte for \
        byte (its digest unchanged) under a tag in the layout's index.json. Blobs already in the layout \
        are not downloaded again. OCI and Docker schema-2 images are accepted.

        Credentials: ECR references log in with GetAuthorizationToken (AWS credentials and region from the \
        usual places); other registries use ~/.docker/config.json (auths, credHelpers, credsStore; \
        DOCKER_CONFIG moves it). Loopback registries are spoken to over plain HTTP.

        Examples:
          kiln pull docker.io/library/debian:bookworm
          kiln pull 123456789012.dkr.ecr.us-east-1.amazonaws.com/jupyter:2026.11 --output oci-layout:out/jupyter
          kiln pull ghcr.io/org/tool@sha256:<digest> --platform linux/arm64 --json
        """)

    /// The image to pull.
    @Argument(help: "Image reference: [registry/]repository[:tag][@sha256:digest].")
    public var reference: String

    /// The destination.
    @Option(help: "Where to write: oci-layout:DIR (default oci-layout:out/pull/<repository name>).")
    public var output: String?

    /// The platform to select from an index.
    @Option(help: "Platform to pick from a multi-platform image: os/arch[/variant].")
    public var platform: String = "linux/amd64"

    /// The tag in the layout.
    @Option(help: "Tag to give the image in the layout's index.json (default: the reference's tag, or 'latest').")
    public var tag: String?

    /// Plain HTTP.
    @Flag(name: .customLong("plain-http"), help: "Speak plain HTTP to the registry (default only for 127.0.0.1/localhost).")
    public var plainHTTP = false

    /// A private CA.
    @Option(name: .customLong("ca-bundle"), help: "PEM file of CA certificates to verify the registry with.")
    public var caBundle: String?

    /// Parallel downloads.
    @Option(help: "How many blobs to download at once.")
    public var parallel: Int = 3

    /// Global options.
    @OptionGroup public var global: GlobalOptions

    /// Creates the command.
    public init() {}

    /// Checks the reference, the output, the platform and the tag without touching the network.
    public func validate() throws {
        do { _ = try ImageReference(parsing: reference) } catch { throw ValidationError("\(error)") }
        if let output, !output.hasPrefix("oci-layout:") || output.count == "oci-layout:".count {
            throw ValidationError("--output must be oci-layout:DIR, got '\(output)'")
        }
        do { _ = try Platform(parsing: platform) } catch { throw ValidationError("--platform: \(error)") }
        if let tag {
            do { try ImageLayout.validateTag(tag) } catch { throw ValidationError("--tag: \(error)") }
        }
        if parallel < 1 || parallel > 32 { throw ValidationError("--parallel must be between 1 and 32") }
    }

    /// What `--json` prints.
    struct Record: Encodable {
        var reference: String
        var digest: String
        var mediaType: String
        var platform: String?
        var layout: String
        var tag: String
        var layers: Int
        var size: Int64
    }

    /// Pulls the image and prints its manifest digest (or the JSON record).
    public func run(context: CommandContext) throws {
        let ref = try ImageReference(parsing: reference)
        let selected = try Platform(parsing: platform)
        let directory = context.absolute(output.map { String($0.dropFirst("oci-layout:".count)) }
            ?? "out/pull/" + (ref.repository.split(separator: "/").last.map(String.init) ?? "image"))
        let layoutTag = tag ?? ref.tag ?? "latest"
        let interactive = isatty(2) == 1 && (context.environment["TERM"].map { $0 != "dumb" } ?? false)
        var options = RegistryOptions(environment: context.environment)
        options.plainHTTP = plainHTTP ? true : nil
        options.caBundle = caBundle.map { context.absolute($0) }
        options.parallelUploads = parallel
        options.progress = ConsoleProgress(write: context.err, isTerminal: interactive)
        if global.verbose {
            let err = context.err
            options.log = { line in err("kiln: \(line)\n") }
        }
        var aws = global
        if let region = ref.ecrRegion { aws.region = region }
        let client = try Registries.client(for: ref, options: options,
                                           aws: ref.isECR ? try aws.awsConfig(context: context) : nil)
        let layout = try ImageLayout.create(at: directory)
        let image = try client.pull(ref, platform: selected, into: layout, tag: layoutTag)
        if global.json {
            let record = Record(reference: ref.description, digest: image.descriptor.digest.description,
                                mediaType: image.descriptor.mediaType, platform: image.descriptor.platform?.description,
                                layout: directory, tag: layoutTag, layers: image.manifest.layers.count,
                                size: image.manifest.layers.reduce(image.manifest.config.size) { $0 + $1.size })
            context.out(try jsonText(record))
        } else {
            context.err("pulled \(ref) into oci-layout:\(directory) as '\(layoutTag)'\n")
            context.out(image.descriptor.digest.description + "\n")
        }
    }
}

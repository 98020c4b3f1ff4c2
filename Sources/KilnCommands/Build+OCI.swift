import ArgumentParser
import Catalog
import Foundation
import ECR
import OCI
import OCIPipeline
import OCIRegistry
import Pipeline
import Recipe

/// What `kiln build --target oci --json` prints for one recipe.
struct OCIBuildRecord: Encodable {
    var build: OCIBuildResult
    var pushed: PushedRecord?
}

/// Where an image went in a registry.
struct PushedRecord: Encodable {
    var reference: String
    var tags: [String]
    var manifestDigest: String
    var blobsUploaded: Int
    var blobsSkipped: Int
    var blobsMounted: Int
    var bytesUploaded: Int64
}

extension Build {
    /// `--target oci`: builds each recipe into a layout, then pushes it when asked.
    func runOCI(context: CommandContext) throws {
        let loader = RecipeLoader(overrides: try parseParams(params), workingDirectory: context.workingDirectory)
        let cacheRoot = cacheDir.map(context.absolute) ?? BuildCache.defaultRoot(environment: context.environment)
        var epoch: Int64?
        if let text = context.environment["SOURCE_DATE_EPOCH"], !text.isEmpty {
            guard let value = Int64(text), value >= 0 else {
                throw ValidationError("SOURCE_DATE_EPOCH='\(text)' is not a number of seconds since 1970")
            }
            epoch = value
        }
        let pushReference = try push.map { text -> ImageReference in
            do { return try ImageReference(parsing: text) } catch { throw ValidationError("--push: \(error)") }
        }
        var records: [OCIBuildRecord] = []
        var failed = 0
        for path in recipes {
            let run = try BuildRun(path: path, loader: loader, context: context)
            defer { run.trap?.remove() }
            let (recipe, hash, buildID, journal, progress, pipelineContext) =
                (run.recipe, run.hash, run.buildID, run.journal, run.progress, run.pipelineContext)
            let layoutPath = context.absolute(output.map { String($0.dropFirst("oci-layout:".count)) } ?? "out/\(recipe.name)")
            progress.note("build \(buildID): \(recipe.name) \(recipe.version) → oci-layout:\(layoutPath)")
            let options = OCIBuildOptions(
                output: layoutPath, cacheRoot: cacheRoot, kilnVersion: Kiln.version, tag: tag, useCache: !noCache,
                sourceDateEpoch: epoch, runTests: !skipTests,
                revision: sourceRevision(recipeDirectory: (context.absolute(path) as NSString).deletingLastPathComponent,
                                         environment: context.environment),
                pullBase: { [global] reference, platform, layout, tag in
                    let ref = try ImageReference(parsing: reference)
                    let client = try registryClient(for: ref, global: global, context: context, creatingRepository: nil)
                    return try client.pull(ref, platform: platform, into: layout, tag: tag)
                },
                onOutput: { line in context.err("  | \(line)\n") })
            do {
                let result = try OCIBuilder(options: options).build(recipe, hash: hash, context: pipelineContext)
                try? journal.finish(outcome: .succeeded)
                var record = OCIBuildRecord(build: result, pushed: nil)
                if let pushReference {
                    record.pushed = try pushImage(result, recipe: recipe, to: pushReference, context: context)
                }
                records.append(record)
                if !self.record(ociEntry(record, recipe: recipe, hash: hash, buildID: buildID), context: context) { failed += 1 }
                if !global.json {
                    context.out("\(recipe.name) \(recipe.version): \(result.manifestDigest) in oci-layout:\(result.layout) (tag \(result.tag)); "
                        + "\(result.stepsRun.count) steps run, \(result.stepsCached.count) cached, \(result.testsPassed.count) tests passed, "
                        + String(format: "%.1f s", result.seconds) + "\n")
                    if let pushed = record.pushed {
                        context.out("  pushed \(pushed.reference) (tags \(pushed.tags.joined(separator: ", "))): "
                            + "\(pushed.blobsUploaded) blobs uploaded, \(pushed.blobsSkipped) already there, \(pushed.blobsMounted) mounted\n")
                    }
                }
            } catch {
                try? journal.finish(outcome: pipelineContext.isCancelled ? .cancelled : .failed)
                context.err("error: build \(buildID) of \(recipe.name) failed: \(error)\n")
                failed += 1
                if pipelineContext.isCancelled { break }
            }
        }
        if global.json { context.out(try jsonText(records)) }
        if failed > 0 { throw ExitCode(1) }
    }

    /// The catalog entry of an OCI build: the pushed repository, digest and tags (the layout's digest and
    /// tag when it was not pushed), the resolved base, the compressed size.
    func ociEntry(_ record: OCIBuildRecord, recipe: ResolvedRecipe, hash: String, buildID: String) -> CatalogEntry {
        let result = record.build
        var entry = CatalogEntry(building: recipe, target: .oci, id: buildID, hash: hash, kilnVersion: Kiln.version,
                                 builtAt: Date(), seconds: result.seconds)
        entry.resolvedHash = result.hash == hash ? nil : result.hash
        entry.base = CatalogEntry.ResolvedBase(digest: result.base)
        let repository = record.pushed.flatMap { pushed -> String? in
            guard let reference = try? ImageReference(parsing: pushed.reference) else { return nil }
            return "\(reference.registry)/\(reference.repository)"
        }
        entry.oci = CatalogEntry.OCIImage(repository: repository, digest: record.pushed?.manifestDigest ?? result.manifestDigest,
                                          tags: record.pushed?.tags ?? [result.tag], platform: result.platform)
        entry.sizeBytes = result.size
        return entry
    }

    /// Pushes a built image: the reference's tag, or the recipe's tags (or its version).
    func pushImage(_ result: OCIBuildResult, recipe: ResolvedRecipe, to reference: ImageReference,
                   context: CommandContext) throws -> PushedRecord {
        let layout = try ImageLayout.open(at: result.layout)
        // The build just wrote these blobs: the descriptor comes from its result, nothing is re-hashed
        // (the registry checks every digest it receives).
        let image = Descriptor(mediaType: MediaType.imageManifest, digest: try Digest(parsing: result.manifestDigest),
                               size: result.manifestSize)
        // A reference without a tag (the parser reads it as :latest) gets the recipe's tags.
        let named = push.map { text in
            (text.split(separator: "@").first?.split(separator: "/").last ?? "").contains(":")
        } ?? false
        var tags = named ? reference.tag.map { [$0] } ?? [] : (recipe.oci.tags ?? [recipe.version])
        if tags.isEmpty { tags = [recipe.version] }
        var target = reference
        target.tag = tags[0]
        let settings = ECRRepositorySettings(scanOnPush: true,
                                             tagMutability: recipe.oci.immutableTags == true ? .immutable : .mutable)
        let client = try registryClient(for: target, global: global, context: context, creatingRepository: settings)
        // A base image in the same registry lends its layers by cross-repository mount.
        var mountFrom: [String] = []
        if case .image(let text)? = recipe.base.oci, let base = try? ImageReference(parsing: text),
           base.registry == target.registry, base.repository != target.repository {
            mountFrom = [base.repository]
        }
        let report = try client.push(layout: layout, image: image, to: target, extraTags: Array(tags.dropFirst()),
                                     mountFrom: mountFrom)
        return PushedRecord(reference: target.description, tags: tags, manifestDigest: report.manifestDigest.description,
                            blobsUploaded: report.blobsUploaded, blobsSkipped: report.blobsSkipped,
                            blobsMounted: report.blobsMounted, bytesUploaded: report.bytesUploaded)
    }
}

/// A registry client for a reference: Docker config credentials, plus an ECR login (and the
/// repository created when missing, when `creatingRepository` is set) for ECR hosts, with progress on
/// standard error.
func registryClient(for reference: ImageReference, global: GlobalOptions, context: CommandContext,
                    creatingRepository settings: ECRRepositorySettings?) throws -> RegistryClient {
    var options = RegistryOptions(environment: context.environment)
    options.progress = ConsoleProgress(write: context.err, isTerminal: isatty(2) == 1)
    let aws = try reference.ecrRegion.map { try global.awsConfig(context: context, region: $0) }
    return try Registries.client(for: reference, options: options, aws: aws, ecrRepositorySettings: settings)
}

/// The source revision recorded in the image: $KILN_SOURCE_REVISION, $GITHUB_SHA, else the recipe
/// directory's git HEAD (nil outside a git work tree).
func sourceRevision(recipeDirectory: String, environment: [String: String]) -> String? {
    for name in ["KILN_SOURCE_REVISION", "GITHUB_SHA"] {
        if let value = environment[name], !value.isEmpty { return value }
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "-C", recipeDirectory, "rev-parse", "HEAD"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return text.count == 40 ? text : nil
}

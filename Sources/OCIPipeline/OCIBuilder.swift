import Foundation
import KilnArchive
import OCI
import Pipeline
import Recipe
import Sandbox

/// How an OCI build runs: where it writes, what it caches, how it reaches registries.
public struct OCIBuildOptions: Sendable {
    /// The OCI image layout the image is written to (created when missing; other tags in it are kept).
    public var output: String
    /// The tag in the layout's index (default: the recipe's version).
    public var tag: String?
    /// The build cache (blobs, step records, build roots).
    public var cacheRoot: String
    /// When false, every step runs again (their new layers still go into the cache).
    public var useCache: Bool
    /// `SOURCE_DATE_EPOCH`: overrides the recipe's `epoch` for mtimes and the created time.
    public var sourceDateEpoch: Int64?
    /// Compression threads (default: the active cores); the output does not depend on it.
    public var threads: Int?
    /// Run the recipe's tests in the finished image (in the sandbox) before writing it.
    public var runTests: Bool
    /// The `debootstrap` program.
    public var debootstrap: String
    /// The source revision recorded in `org.opencontainers.image.revision` (nil: none).
    public var revision: String?
    /// kiln's version, recorded in the history.
    public var kilnVersion: String
    /// Pulls a registry base into a layout: (reference, platform, layout, tag) → the image.
    public var pullBase: (@Sendable (String, Platform, ImageLayout, String) throws -> LayoutImage)?
    /// Receives each line a step, test or debootstrap prints.
    public var onOutput: @Sendable (String) -> Void

    /// Options with defaults.
    public init(output: String, cacheRoot: String, kilnVersion: String, tag: String? = nil, useCache: Bool = true,
                sourceDateEpoch: Int64? = nil, threads: Int? = nil, runTests: Bool = true,
                debootstrap: String = "debootstrap", revision: String? = nil,
                pullBase: (@Sendable (String, Platform, ImageLayout, String) throws -> LayoutImage)? = nil,
                onOutput: @escaping @Sendable (String) -> Void = { _ in }) {
        self.output = output
        self.cacheRoot = cacheRoot
        self.kilnVersion = kilnVersion
        self.tag = tag
        self.useCache = useCache
        self.sourceDateEpoch = sourceDateEpoch
        self.threads = threads
        self.runTests = runTests
        self.debootstrap = debootstrap
        self.revision = revision
        self.pullBase = pullBase
        self.onOutput = onOutput
    }
}

/// What an OCI build made.
public struct OCIBuildResult: Codable, Sendable {
    /// The recipe's name.
    public var recipe: String
    /// The recipe's version.
    public var version: String
    /// The recipe hash (with the resolved base).
    public var hash: String
    /// The layout written.
    public var layout: String
    /// The tag in the layout.
    public var tag: String
    /// The manifest digest (the image's identity).
    public var manifestDigest: String
    /// The manifest's size in bytes.
    public var manifestSize: Int64
    /// The config digest.
    public var configDigest: String
    /// The platform.
    public var platform: String
    /// What the base resolved to (a digest, or a debootstrap layer digest).
    public var base: String
    /// The layers, base first.
    public var layers: [CachedLayer]
    /// Steps that ran.
    public var stepsRun: [String]
    /// Steps taken from the cache.
    public var stepsCached: [String]
    /// Tests that passed.
    public var testsPassed: [String]
    /// The compressed size of all layers.
    public var size: Int64
    /// Wall time in seconds.
    public var seconds: Double
}

/// Builds a recipe into an OCI image: resolve the base, turn each step into a layer (fetch and files
/// without executing anything; run, apt and pip in the namespace sandbox, their changes captured by an
/// overlay), reuse cached layers, run the tests in the finished root, write the image layout.
public final class OCIBuilder: @unchecked Sendable {
    /// The options.
    public let options: OCIBuildOptions

    /// Creates a builder.
    public init(options: OCIBuildOptions) { self.options = options }

    /// Builds `recipe`; `hash` is its recipe hash before the base is resolved.
    public func build(_ recipe: ResolvedRecipe, hash: String, context: PipelineContext) throws -> OCIBuildResult {
        let started = Date()
        guard let baseSpec = recipe.base.oci else { throw OCIBuildError.noBase(recipe: recipe.name) }
        let cache = try BuildCache(root: options.cacheRoot)
        let epoch = options.sourceDateEpoch ?? recipe.epoch.map(Int64.init)
        let platform = try Self.platform(recipe)
        let compression = recipe.oci.compression ?? .gzip
        let work = try cache.workDirectory(recipe.name)
        defer { Self.removeTree(work) }
        let root = RootFS(path: work + "/root", cache: cache)

        // The base.
        context.progress.stepStarted("base")
        let base = try BaseResolver(options: options, cache: cache, recipe: recipe, platform: platform,
                                    compression: compression, epoch: epoch, work: work, context: context)
            .resolve(baseSpec, root: root)
        context.progress.stepFinished("base")
        context.progress.note("base: \(base.description) → \(base.identity)")
        let fullHash = try RecipeHash.compute(recipe, resolvedBases: ["oci": base.identity])

        var layers = base.layers
        var history = base.history
        var env = base.config?.config?.env ?? ["PATH=\(RootFS.defaultPath)"]
        var chain = BuildCache.key(["kiln-oci-chain 1", base.identity, platform.architecture, compressionName(compression),
                                    epoch.map(String.init) ?? "-"])
        var stepsRun: [String] = [], stepsCached: [String] = []
        let writer = StepLayerWriter(cache: cache, compression: compression, threads: options.threads, epoch: epoch,
                                     recipe: recipe, work: work, output: options.onOutput)
        for step in recipe.steps(for: .oci) {
            try context.checkCancelled()
            chain = BuildCache.key([chain, try RecipeHash.stepFingerprint(step, in: recipe)])
            if case .env(let vars) = step.action {
                for v in vars { env = RootFS.setting(v.name, RootFS.expand(v.value, in: env), in: env) }
                history.append(.init(created: Self.timestamp(epoch), createdBy: "kiln env \(step.id)", emptyLayer: true))
                continue
            }
            if options.useCache, let hit = cache.lookup("steps", key: chain) {
                context.progress.note("step \(step.id): cached (\(hit.digest.prefix(19))…)")
                // The chain goes on from the layer's content, so a step re-run with a different
                // result invalidates the records that were built on top of the old one.
                chain = BuildCache.key([chain, hit.diffID])
                layers.append(hit)
                history.append(.init(created: Self.timestamp(epoch), createdBy: "kiln \(step.action.kind) \(step.id)"))
                stepsCached.append(step.id)
                continue
            }
            context.progress.stepStarted(step.id)
            let layer: CachedLayer
            do {
                layer = try writer.layer(for: step, root: root, layers: layers, env: env, context: context)
            } catch {
                context.progress.stepFailed(step.id, error)
                throw error
            }
            try cache.record("steps", key: chain, layer: layer)
            chain = BuildCache.key([chain, layer.diffID])
            context.progress.stepFinished(step.id)
            layers.append(layer)
            history.append(.init(created: Self.timestamp(epoch), createdBy: "kiln \(step.action.kind) \(step.id)"))
            stepsRun.append(step.id)
        }

        // Tests in the finished root, before anything is written.
        var testsPassed: [String] = []
        let tests = options.runTests ? recipe.tests(for: .oci) : []
        if !tests.isEmpty {
            try root.materialize(layers)
            for test in tests {
                try context.checkCancelled()
                context.progress.stepStarted("test \(test.name)")
                let result = try SandboxStep.run(script: "set -Eeuo pipefail\n" + test.run, root: root, env: env,
                                                 user: nil, workdir: nil, capture: work + "/test-capture",
                                                 context: context, output: options.onOutput)
                Self.removeTree(work + "/test-capture")
                if let failure = result.failure {
                    let error = OCIBuildError.testFailed(test.name, status: failure, lastLines: result.lastLines)
                    context.progress.stepFailed("test \(test.name)", error)
                    throw error
                }
                context.progress.stepFinished("test \(test.name)")
                testsPassed.append(test.name)
            }
        }

        // The image: config, manifest, layout.
        let config = try Self.imageConfig(recipe: recipe, hash: fullHash, base: base, env: env, layers: layers,
                                          history: history, platform: platform, epoch: epoch)
        let layout = try Self.openOrCreateLayout(options.output)
        var descriptors: [Descriptor] = []
        for layer in layers {
            descriptors.append(try Self.copyBlob(layer, from: cache, to: layout))
        }
        let configDescriptor = try layout.writeConfig(config)
        var annotations: [String: String] = [
            "org.opencontainers.image.created": Self.timestamp(epoch),
            "org.opencontainers.image.title": recipe.name,
            "org.opencontainers.image.version": recipe.version,
            "dev.kiln.recipe-hash": fullHash,
        ]
        if let source = recipe.oci.labels?["org.opencontainers.image.source"] { annotations["org.opencontainers.image.source"] = source }
        if let revision = options.revision { annotations["org.opencontainers.image.revision"] = revision }
        if let baseDigest = base.manifestDigest { annotations["org.opencontainers.image.base.digest"] = baseDigest }
        if let baseName = base.name { annotations["org.opencontainers.image.base.name"] = baseName }
        let manifest = Manifest(config: configDescriptor, layers: descriptors, annotations: annotations)
        let tag = options.tag ?? recipe.version
        let manifestDescriptor = try layout.addManifest(manifest, tag: tag, platform: platform)
        return OCIBuildResult(recipe: recipe.name, version: recipe.version, hash: fullHash, layout: layout.path, tag: tag,
                              manifestDigest: manifestDescriptor.digest.description, manifestSize: manifestDescriptor.size,
                              configDigest: configDescriptor.digest.description,
                              platform: "\(platform.os)/\(platform.architecture)", base: base.identity, layers: layers,
                              stepsRun: stepsRun, stepsCached: stepsCached, testsPassed: testsPassed,
                              size: layers.reduce(0) { $0 + $1.size }, seconds: Date().timeIntervalSince(started))
    }

    // MARK: pieces

    static func platform(_ recipe: ResolvedRecipe) throws -> Platform {
        if let text = recipe.oci.platform {
            let parts = text.split(separator: "/").map(String.init)
            guard parts.count >= 2 else { throw OCIBuildError.invalid("oci.platform '\(text)' is not os/arch") }
            return Platform(architecture: parts[1], os: parts[0], variant: parts.count > 2 ? parts[2] : nil)
        }
        return Platform(architecture: recipe.arch.rawValue, os: "linux")
    }

    static func timestamp(_ epoch: Int64?) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: epoch.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? Date())
    }

    static func imageConfig(recipe: ResolvedRecipe, hash: String, base: BaseImage, env: [String], layers: [CachedLayer],
                            history: [ImageConfig.History], platform: Platform, epoch: Int64?) throws -> ImageConfig {
        var execution = base.config?.config ?? ImageConfig.ExecutionConfig()
        execution.env = env
        if let user = recipe.oci.user { execution.user = user }
        if let workdir = recipe.oci.workdir { execution.workingDir = workdir }
        if let entrypoint = recipe.oci.entrypoint { execution.entrypoint = entrypoint; execution.cmd = nil }
        if let cmd = recipe.oci.cmd { execution.cmd = cmd }
        if recipe.oci.ports != nil {
            var exposed = execution.exposedPorts ?? [:]
            for port in LayerPlan.exposedPorts(recipe) { exposed[port] = EmptyObject() }
            execution.exposedPorts = exposed
        }
        execution.labels = (execution.labels ?? [:]).merging(LayerPlan.imageLabels(recipe, hash: hash)) { _, new in new }
        let diffIDs = try layers.map { try Digest(parsing: $0.diffID) }
        return ImageConfig(architecture: platform.architecture, os: platform.os, config: execution,
                           rootfs: .init(diffIDs: diffIDs), history: history, created: timestamp(epoch),
                           variant: platform.variant)
    }

    static func openOrCreateLayout(_ path: String) throws -> ImageLayout {
        if FileManager.default.fileExists(atPath: path + "/oci-layout") { return try ImageLayout.open(at: path) }
        try BuildCache.makeDirectory(path)
        return try ImageLayout.create(at: path)
    }

    /// Puts a cached blob into the output layout: a hard link when both are on one file system (the
    /// store's blobs are never modified in place), else a digest-checked copy.
    static func copyBlob(_ layer: CachedLayer, from cache: BuildCache, to layout: ImageLayout) throws -> Descriptor {
        let descriptor = try layer.descriptor()
        if layout.hasBlob(descriptor.digest) { return descriptor }
        let source = try cache.blobPath(layer)
        if link(source, layout.blobPath(descriptor.digest)) == 0 { return descriptor }
        return try layout.writeBlob(fromFile: source, mediaType: layer.mediaType, expected: descriptor.digest)
    }

    /// Removes a directory tree (a build root holds tens of thousands of files; Foundation's
    /// removeItem is slow at that, so this walks it with openat/unlinkat). Best effort.
    static func removeTree(_ path: String) {
        func remove(_ parent: Int32, _ name: String) {
            var info = stat()
            guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if fd >= 0, let dir = fdopendir(fd) {
                    var names: [String] = []
                    while let entry = readdir(dir) {
                        let child = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                        }
                        if child != "." && child != ".." { names.append(child) }
                    }
                    for child in names { remove(dirfd(dir), child) }
                    closedir(dir)
                }
                unlinkat(parent, name, AT_REMOVEDIR)
            } else {
                unlinkat(parent, name, 0)
            }
        }
        remove(AT_FDCWD, path)
    }
}

func compressionName(_ compression: Recipe.Compression) -> String { compression.rawValue }

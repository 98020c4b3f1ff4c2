import Foundation
import KilnArchive
import OCI
import Pipeline
import Recipe

/// A resolved base: its layers in the cache, its config, and what names it exactly.
struct BaseImage {
    var layers: [CachedLayer]
    var config: ImageConfig?
    var history: [ImageConfig.History]
    /// A digest that names the base's content (for the recipe hash and the step-cache chain).
    var identity: String
    /// The base in words.
    var description: String
    /// The base image's manifest digest and reference (annotations `org.opencontainers.image.base.*`).
    var manifestDigest: String?
    var name: String?
}

/// Resolves a recipe's OCI base into layers in the cache.
struct BaseResolver {
    let options: OCIBuildOptions
    let cache: BuildCache
    let recipe: ResolvedRecipe
    let platform: Platform
    let compression: Recipe.Compression
    let epoch: Int64?
    let work: String
    let context: PipelineContext

    func resolve(_ base: OCIBase, root: RootFS) throws -> BaseImage {
        switch base {
        case .scratch:
            return BaseImage(layers: [], config: nil, history: [], identity: "scratch", description: "scratch (empty)")
        case let .layout(path, reference):
            let directory = path.hasPrefix("/") ? path : (recipe.baseDirectory as NSString).appendingPathComponent(path)
            let layout = try ImageLayout.open(at: directory)
            let image: LayoutImage
            if reference.hasPrefix("sha256:") {
                let digest = try Digest(parsing: reference)
                guard let descriptor = try layout.readIndex().manifests.first(where: { $0.digest == digest }) else {
                    throw OCIBuildError.base("image \(reference) is not in the index of layout '\(directory)'")
                }
                image = try layout.read(descriptor)
            } else {
                image = try layout.read(tag: reference)
            }
            return try adopt(image, from: layout, description: "OCI layout \(directory) (\(reference))", name: nil)
        case let .image(reference):
            guard let pull = options.pullBase else {
                throw OCIBuildError.base("base image \(reference) must be pulled, but this build has no registry access")
            }
            let tag = "base-" + String(reference.map { $0.isLetter || $0.isNumber ? $0 : "-" })
            context.progress.note("pulling base \(reference)")
            let image = try pull(reference, platform, cache.store, tag)
            return try adopt(image, from: cache.store, description: "image \(reference)", name: reference)
        case let .debootstrap(suite, mirror, variant):
            return try debootstrap(suite: suite, mirror: mirror, variant: variant, root: root)
        }
    }

    /// Brings an image's layers into the cache store and keeps its config.
    private func adopt(_ image: LayoutImage, from layout: ImageLayout, description: String, name: String?) throws -> BaseImage {
        guard image.manifest.layers.count == image.config.rootfs.diffIDs.count else {
            throw OCIBuildError.base("\(description): the manifest has \(image.manifest.layers.count) layers but the config \(image.config.rootfs.diffIDs.count) diff IDs")
        }
        var layers: [CachedLayer] = []
        for (descriptor, diffID) in zip(image.manifest.layers, image.config.rootfs.diffIDs) {
            if !cache.store.hasBlob(descriptor.digest) {
                try cache.store.writeBlob(fromFile: layout.blobPath(descriptor.digest), mediaType: descriptor.mediaType,
                                          expected: descriptor.digest)
            }
            // A Docker schema-2 base's gzip layers are the same bytes as OCI's tar+gzip: the image kiln
            // writes is an OCI manifest, so it names them with the OCI media type (digests unchanged).
            let mediaType = descriptor.mediaType == MediaType.dockerLayerGzip ? MediaType.layerTarGzip : descriptor.mediaType
            layers.append(CachedLayer(digest: descriptor.digest.description, diffID: diffID.description, size: descriptor.size,
                                      mediaType: mediaType, createdBy: description))
        }
        return BaseImage(layers: layers, config: image.config, history: image.config.history ?? [],
                         identity: image.descriptor.digest.description, description: description,
                         manifestDigest: image.descriptor.digest.description, name: name)
    }

    /// A debootstrap root, built once per set of inputs and kept in the cache as one layer.
    private func debootstrap(suite: String, mirror: String, variant: String, root: RootFS) throws -> BaseImage {
        let description = "debootstrap \(suite) \(variant) from \(mirror)"
        let key = BuildCache.key(["debootstrap 1", suite, mirror, variant, recipe.arch.rawValue, compressionName(compression),
                                  epoch.map(String.init) ?? "-"])
        let config = ImageConfig(architecture: platform.architecture, os: platform.os,
                                 config: .init(env: ["PATH=\(RootFS.defaultPath)"], cmd: ["/bin/bash"]),
                                 rootfs: .init(diffIDs: []))
        let history = [ImageConfig.History(created: OCIBuilder.timestamp(epoch), createdBy: "kiln \(description)")]
        // Cached even under --no-cache: that re-runs the recipe's steps, not the making of its base.
        func cached() -> BaseImage? {
            cache.lookup("bases", key: key).map {
                BaseImage(layers: [$0], config: config, history: history, identity: $0.digest, description: description)
            }
        }
        if let hit = cached() { return hit }
        // One debootstrap per base at a time: a second build of the same base waits, then finds it cached.
        let lock = try FileLock(path: cache.root + "/bases/" + key.replacingOccurrences(of: "sha256:", with: "") + ".lock")
        defer { lock.unlock() }
        if lock.waited {
            context.progress.note("waiting for another build that is making the same debootstrap base")
        }
        if let hit = cached() { return hit }
        guard let program = Self.findProgram(options.debootstrap) else {
            throw OCIBuildError.base("'\(options.debootstrap)' was not found; install it with `apt-get install debootstrap` (a debootstrap base needs it and root)")
        }
        guard geteuid() == 0 else {
            throw OCIBuildError.base("a debootstrap base must be built as root (debootstrap creates devices and owners); run kiln with sudo once — the base is cached")
        }
        let target = root.path
        try? FileManager.default.removeItem(atPath: target)
        context.progress.note("debootstrap \(suite) (\(variant)) from \(mirror): the first build of this base takes a few minutes")
        // Variant "-" is debootstrap's own default package set: no --variant at all.
        let variantArguments = variant == "-" ? [] : ["--variant=\(variant)"]
        let status = try runStreaming(program, variantArguments + ["--arch=\(recipe.arch.rawValue)", suite, target, mirror])
        guard status == 0 else {
            throw OCIBuildError.base("debootstrap \(suite) from \(mirror) failed with exit status \(status) (its output is above); check the mirror and the suite name")
        }
        tidyDebootstrap(target)
        let writer = StepLayerWriter(cache: cache, compression: compression, threads: options.threads, epoch: epoch,
                                     recipe: recipe, work: work, output: options.onOutput)
        let layer = try writer.writeLayer(createdBy: description) { try $0.addTree(at: target) }
        try cache.record("bases", key: key, layer: layer)
        root.adopt(layers: 1)
        return BaseImage(layers: [layer], config: config, history: history, identity: layer.digest, description: description)
    }

    /// Removes what debootstrap copies from the host or leaves behind, so no host detail reaches the image.
    private func tidyDebootstrap(_ root: String) {
        for path in ["/etc/resolv.conf", "/etc/hostname", "/var/log/bootstrap.log", "/etc/machine-id"] {
            try? FileManager.default.removeItem(atPath: root + path)
        }
        _ = FileManager.default.createFile(atPath: root + "/etc/hostname", contents: Array("localhost\n".utf8).withUnsafeBytes { Data($0) })
        for directory in ["/var/cache/apt/archives", "/var/lib/apt/lists"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: root + directory)) ?? []
            where name != "partial" && name != "lock" {
                try? FileManager.default.removeItem(atPath: root + directory + "/" + name)
            }
        }
    }

    /// Runs a program with its output, line by line, sent to the build's output.
    private func runStreaming(_ program: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch {
            throw OCIBuildError.base("cannot start \(program): \(error)")
        }
        let output = options.onOutput
        var pending = Data()
        let handle = pipe.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 0x0A) {
                output(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...newline)
            }
        }
        if !pending.isEmpty { output(String(decoding: pending, as: UTF8.self)) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func findProgram(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in (path + ":/usr/sbin:/sbin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// An exclusive advisory lock (flock) on a file, held until `unlock()` or the process ends (the kernel
/// drops it with the descriptor, so a killed build never leaves it held).
final class FileLock {
    private var fd: Int32
    /// Whether another process held the lock when it was asked for.
    let waited: Bool

    init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OCIBuildError.io("open", path, String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            waited = false
        } else {
            waited = true
            while flock(fd, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    let reason = String(cString: strerror(errno))
                    close(fd)
                    throw OCIBuildError.io("flock", path, reason)
                }
            }
        }
    }

    func unlock() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { unlock() }
}

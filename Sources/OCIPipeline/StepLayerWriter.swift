import Foundation
import KilnArchive
import struct KilnCrypto.SHA256
import KilnHTTP
import OCI
import Pipeline
import Recipe

/// Turns one recipe step into a layer in the cache: `fetch` and `files` are written straight into a
/// layer (nothing executes); `run`, `apt` and `pip` run in the sandbox and their captured changes are
/// the layer, which is then applied to the build's root for the steps after it.
struct StepLayerWriter {
    let cache: BuildCache
    let compression: Recipe.Compression
    let threads: Int?
    let epoch: Int64?
    let recipe: ResolvedRecipe
    let work: String
    let output: @Sendable (String) -> Void

    init(cache: BuildCache, compression: Recipe.Compression, threads: Int?, epoch: Int64?, recipe: ResolvedRecipe,
         work: String, output: @escaping @Sendable (String) -> Void) {
        self.cache = cache
        self.compression = compression
        self.threads = threads
        self.epoch = epoch
        self.recipe = recipe
        self.work = work
        self.output = output
    }

    var mediaType: String { compression == .zstd ? MediaType.layerTarZstd : MediaType.layerTarGzip }

    /// Writes a layer with `body` filling it, and commits it to the cache.
    func writeLayer(createdBy: String, _ body: (LayerWriter) throws -> Void) throws -> CachedLayer {
        let temp = cache.temporaryBlobPath()
        do {
            let layerCompression: LayerWriter.Compression = compression == .zstd ? .zstd() : .gzip()
            let writer = try LayerWriter(path: temp, options: .init(compression: layerCompression, threads: threads,
                                                                    clampMTime: epoch))
            try body(writer)
            let digests = try writer.finish()
            return try cache.commit(temporary: temp, digests: digests, mediaType: mediaType, createdBy: createdBy)
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            throw error
        }
    }

    /// The layer of `step` on top of `layers`; `env` is the environment the step sees.
    func layer(for step: Recipe.Step, root: RootFS, layers: [CachedLayer], env: [String], context: PipelineContext) throws -> CachedLayer {
        switch step.action {
        case .files(let copies):
            return try writeLayer(createdBy: step.id) { writer in
                try writeEntries(try fileEntries(copies, step: step), to: writer)
            }
        case .fetch(let fetch):
            return try fetchLayer(fetch, step: step)
        case .run, .apt, .pip:
            guard let script = try SandboxScript.render(step, recipe: recipe) else {
                throw OCIBuildError.invalid("internal: step \(step.id) has no script")
            }
            try root.materialize(layers)
            var user: String?, workdir: String?
            if case .run(let run) = step.action { (user, workdir) = (run.user, run.workdir) }
            let capture = work + "/capture"
            defer { try? FileManager.default.removeItem(atPath: capture) }
            let outcome = try SandboxStep.run(script: script, root: root, env: env, user: user, workdir: workdir,
                                              capture: capture, context: context, output: output)
            try context.checkCancelled()
            if let failure = outcome.failure {
                throw OCIBuildError.stepFailed(step.id, status: failure, lastLines: outcome.lastLines)
            }
            guard let upper = outcome.upper else { throw OCIBuildError.invalid("internal: the sandbox captured no changes") }
            let layer = try writeLayer(createdBy: step.id) { writer in
                try writer.addTree(at: upper, format: .overlayUpper)
            }
            // The root moves on by the layer itself, so it is exactly what the image will hold.
            _ = try LayerExtractor.apply(layerAt: try cache.blobPath(layer), to: root.path)
            root.adopt(layers: layers.count + 1)
            return layer
        case .env:
            throw OCIBuildError.invalid("internal: env steps make no layer")
        }
    }

    // MARK: files

    /// One entry of a layer written from local files.
    enum Entry {
        case directory(path: String, mode: UInt32, uid: Int, gid: Int, mtime: Int64)
        case file(path: String, source: String, mode: UInt32, uid: Int, gid: Int, mtime: Int64)
        case symlink(path: String, target: String, uid: Int, gid: Int, mtime: Int64)

        var path: String {
            switch self {
            case let .directory(path, _, _, _, _), let .file(path, _, _, _, _, _), let .symlink(path, _, _, _, _): return path
            }
        }
    }

    func fileEntries(_ copies: [FileCopy], step: Recipe.Step) throws -> [Entry] {
        var entries: [Entry] = []
        for copy in copies {
            guard let local = recipe.localFiles.first(where: { $0.recipe == step.recipe && $0.relativePath == copy.src }) else {
                throw OCIBuildError.invalid("internal: '\(copy.src)' of step \(step.id) was not recorded")
            }
            let (uid, gid) = try owner(copy.owner, step: step)
            let explicitMode = try copy.mode.map { try parseMode($0, step: step) }
            let dest = String(copy.dest.drop(while: { $0 == "/" }))
            var info = stat()
            guard lstat(local.absolutePath, &info) == 0 else {
                throw OCIBuildError.io("lstat", local.absolutePath, String(cString: strerror(errno)))
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                entries.append(.directory(path: dest, mode: 0o755, uid: uid, gid: gid, mtime: mtime(info)))
                for child in LocalTree.subpaths(local.absolutePath).sorted() {
                    let absolute = local.absolutePath + "/" + child
                    var childInfo = stat()
                    guard lstat(absolute, &childInfo) == 0 else { continue }
                    let path = dest + "/" + child
                    switch childInfo.st_mode & S_IFMT {
                    case S_IFDIR:
                        entries.append(.directory(path: path, mode: 0o755, uid: uid, gid: gid, mtime: mtime(childInfo)))
                    case S_IFLNK:
                        let target = LocalTree.symlinkTarget(absolute) ?? ""
                        entries.append(.symlink(path: path, target: target, uid: uid, gid: gid, mtime: mtime(childInfo)))
                    case S_IFREG:
                        entries.append(.file(path: path, source: absolute, mode: explicitMode ?? defaultMode(childInfo),
                                             uid: uid, gid: gid, mtime: mtime(childInfo)))
                    default:
                        throw OCIBuildError.invalid("'\(absolute)' (step \(step.id)) is not a file, directory or symlink; files steps copy only those")
                    }
                }
            } else {
                entries.append(.file(path: dest, source: local.absolutePath, mode: explicitMode ?? defaultMode(info),
                                     uid: uid, gid: gid, mtime: mtime(info)))
            }
        }
        return entries
    }

    /// Writes entries sorted by path bytes (later copies to the same path win), so the layer does not
    /// depend on the order the recipe lists them in.
    func writeEntries(_ entries: [Entry], to writer: LayerWriter) throws {
        var byPath: [String: Entry] = [:]
        for entry in entries { byPath[entry.path] = entry }
        let sorted = byPath.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        for (_, entry) in sorted {
            switch entry {
            case let .directory(path, mode, uid, gid, mtime):
                try writer.addDirectory(path: path, mode: mode, uid: uid, gid: gid, mtime: mtime)
            case let .file(path, source, mode, uid, gid, mtime):
                try writer.addFile(path: path, fromFileAt: source, mode: mode, uid: uid, gid: gid, mtime: mtime)
            case let .symlink(path, target, uid, gid, mtime):
                try writer.addSymlink(path: path, target: target, uid: uid, gid: gid, mtime: mtime)
            }
        }
    }

    func mtime(_ info: stat) -> Int64 { Int64(info.st_mtim.tv_sec) }

    func defaultMode(_ info: stat) -> UInt32 { (info.st_mode & 0o111) != 0 ? 0o755 : 0o644 }

    func parseMode(_ text: String, step: Recipe.Step) throws -> UInt32 {
        guard let mode = UInt32(text, radix: 8), mode <= 0o7777 else {
            throw OCIBuildError.invalid("\(step.position.file):\(step.position.line): mode '\(text)' of step \(step.id) is not an octal mode such as 0644")
        }
        return mode
    }

    func owner(_ text: String?, step: Recipe.Step) throws -> (Int, Int) {
        guard let text else { return (0, 0) }
        let parts = text.split(separator: ":").map { Int($0) }
        guard parts.count == 2, let uid = parts[0], let gid = parts[1], uid >= 0, gid >= 0 else {
            throw OCIBuildError.invalid("\(step.position.file):\(step.position.line): owner '\(text)' of step \(step.id) must be numeric uid:gid in an OCI build")
        }
        return (uid, gid)
    }

    // MARK: fetch

    func fetchLayer(_ fetch: FetchStep, step: Recipe.Step) throws -> CachedLayer {
        let download = work + "/download"
        defer { try? FileManager.default.removeItem(atPath: download) }
        try Downloader.fetch(fetch.url, to: download, sha256: fetch.sha256)
        let (uid, gid) = try owner(fetch.owner, step: step)
        let now = epoch ?? Int64(Date().timeIntervalSince1970)
        if let dest = fetch.dest {
            let mode = try fetch.mode.map { try parseMode($0, step: step) } ?? 0o644
            return try writeLayer(createdBy: step.id) { writer in
                try writer.addFile(path: String(dest.drop(while: { $0 == "/" })), fromFileAt: download, mode: mode,
                                   uid: uid, gid: gid, mtime: now)
            }
        }
        guard let extract = fetch.extract else { throw OCIBuildError.invalid("step \(step.id): fetch needs dest or extract") }
        let unpacked = work + "/unpacked"
        defer { try? FileManager.default.removeItem(atPath: unpacked) }
        try? FileManager.default.removeItem(atPath: unpacked)
        try BuildCache.makeDirectory(unpacked)
        // The archive is untrusted input: the extractor refuses absolute paths, `..`, links out and devices.
        _ = try LayerExtractor.apply(layerAt: download, to: unpacked, options: ExtractOptions(rootless: true))
        var top = unpacked
        for _ in 0..<fetch.stripComponents {
            let children = (try? FileManager.default.contentsOfDirectory(atPath: top)) ?? []
            var isDirectory: ObjCBool = false
            guard children.count == 1, FileManager.default.fileExists(atPath: top + "/" + children[0], isDirectory: &isDirectory),
                  isDirectory.boolValue else {
                throw OCIBuildError.invalid("\(step.position.file):\(step.position.line): cannot strip a path component from \(fetch.url): it has no single top directory")
            }
            top += "/" + children[0]
        }
        if fetch.owner != nil { try chownTree(top, uid: uid, gid: gid) }
        let prefix = String(extract.drop(while: { $0 == "/" })).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        return try writeLayer(createdBy: step.id) { writer in
            try writer.addDirectory(path: prefix, mode: 0o755, uid: uid, gid: gid, mtime: now)
            try writer.addTree(at: top, prefix: prefix + "/")
        }
    }

    func chownTree(_ path: String, uid: Int, gid: Int) throws {
        let paths = [path] + LocalTree.subpaths(path).map { path + "/" + $0 }
        for p in paths where lchown(p, uid_t(uid), gid_t(gid)) != 0 {
            throw OCIBuildError.io("lchown", p, String(cString: strerror(errno)))
        }
    }
}

/// Verified downloads for `fetch` steps: streamed to a file, redirects followed, sha256 checked.
enum Downloader {
    static func fetch(_ url: String, to path: String, sha256 expected: String) throws {
        let client = try HTTPClient()
        var location = url
        for _ in 0..<8 {
            let response: HTTPResponse
            do {
                response = try client.send(HTTPRequest(url: location), bodyTo: path)
            } catch {
                throw OCIBuildError.download(url, "\(error)")
            }
            if (300..<400).contains(response.status), let next = response.header("Location") {
                location = next.hasPrefix("/") ? origin(location) + next : next
                continue
            }
            guard response.isSuccess else { throw OCIBuildError.download(url, "HTTP \(response.status)") }
            let actual = try SHA256.hash(fileAt: path).hex
            guard actual == expected.lowercased() else {
                try? FileManager.default.removeItem(atPath: path)
                throw OCIBuildError.checksum(url, expected: expected, actual: actual)
            }
            return
        }
        throw OCIBuildError.download(url, "too many redirects")
    }

    static func origin(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        return String(url[..<scheme.upperBound]) + String(rest.prefix { $0 != "/" })
    }
}

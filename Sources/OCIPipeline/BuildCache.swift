import Foundation
import KilnArchive
import struct KilnCrypto.SHA256
import OCI

/// A layer kept in the cache: enough to put it in a manifest and a config without reading it.
public struct CachedLayer: Codable, Sendable, Hashable {
    /// The blob digest (`sha256:…`, of the compressed bytes).
    public var digest: String
    /// The diffID (`sha256:…`, of the uncompressed tar).
    public var diffID: String
    /// The blob's size in bytes.
    public var size: Int64
    /// The blob's media type.
    public var mediaType: String
    /// What made it (a step ID, or a base description).
    public var createdBy: String

    /// The manifest descriptor.
    public func descriptor() throws -> Descriptor {
        Descriptor(mediaType: mediaType, digest: try Digest(parsing: digest), size: size)
    }
}

/// kiln's build cache (`~/.cache/kiln` unless configured): a content-addressed blob store (an OCI image
/// layout, so every blob is written to a temporary file and renamed to its digest) and small records
/// that map a key — a step's hash chained to everything before it, or a debootstrap base's inputs — to
/// a layer in the store.
///
/// Crash safety: a record is written (temporary file, fsync, rename) only after its blob has been
/// renamed into place, and a record whose blob is missing or has the wrong size reads as a miss, so a
/// build killed at any point leaves at worst an orphaned temporary file, never a record that lies.
public final class BuildCache: @unchecked Sendable {
    /// The cache's root directory.
    public let root: String
    /// The blob store.
    public let store: ImageLayout

    /// Opens (creating when missing) the cache at `root`.
    public init(root: String) throws {
        self.root = root
        for directory in ["steps", "bases", "work"] {
            try Self.makeDirectory(root + "/" + directory)
        }
        Self.sweepAbandonedWork(root + "/work")
        let storePath = root + "/store"
        if FileManager.default.fileExists(atPath: storePath + "/oci-layout") {
            store = try ImageLayout.open(at: storePath)
        } else {
            try Self.makeDirectory(root)
            store = try ImageLayout.create(at: storePath)
        }
        let blobs = storePath + "/blobs/sha256"
        let dayAgo = Date().addingTimeInterval(-86_400)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: blobs)) ?? [] where name.hasPrefix(".tmp-") {
            let path = blobs + "/" + name
            if let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
               modified < dayAgo {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// The default root: `$KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`.
    public static func defaultRoot(environment: [String: String]) -> String {
        if let dir = environment["KILN_CACHE_DIR"], !dir.isEmpty { return dir }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/kiln" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.cache/kiln"
    }

    /// A fresh path for a layer being written; `commit` moves it into the store.
    public func temporaryBlobPath() -> String { store.temporaryBlobPath() }

    /// A fresh scratch directory under the cache (same file system as the store), for a build's root.
    /// It holds a `.kiln-pid` file, so a build killed before it could remove the directory is swept by
    /// the next build that opens the cache.
    public func workDirectory(_ name: String) throws -> String {
        let path = root + "/work/" + name + "-" + UUID().uuidString.prefix(8).lowercased()
        try Self.makeDirectory(path)
        _ = FileManager.default.createFile(atPath: path + "/.kiln-pid", contents: Data("\(getpid())\n".utf8))
        return path
    }

    /// Removes work directories whose build process is gone (killed builds leave their roots behind),
    /// and temporary blobs older than a day (a live build renames its own within seconds of finishing).
    static func sweepAbandonedWork(_ directory: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let path = directory + "/" + name
            guard let text = try? String(contentsOfFile: path + "/.kiln-pid", encoding: .utf8),
                  let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { OCIBuilder.removeTree(path) }
        }
    }

    /// Moves a finished layer file into the store under its digest and returns the cache's record of it.
    public func commit(temporary path: String, digests: LayerDigests, mediaType: String, createdBy: String) throws -> CachedLayer {
        let digest = try Digest(parsing: digests.digest)
        let target = store.blobPath(digest)
        if FileManager.default.fileExists(atPath: target) {
            try? FileManager.default.removeItem(atPath: path)
        } else if rename(path, target) != 0 {
            throw OCIBuildError.io("rename", path, String(cString: strerror(errno)))
        }
        return CachedLayer(digest: digests.digest, diffID: digests.diffID, size: digests.size, mediaType: mediaType,
                           createdBy: createdBy)
    }

    /// The path of a cached layer's blob.
    public func blobPath(_ layer: CachedLayer) throws -> String {
        store.blobPath(try Digest(parsing: layer.digest))
    }

    /// The layer recorded under `key` in `kind` (`steps` or `bases`), or nil when there is none or
    /// its blob is gone.
    public func lookup(_ kind: String, key: String) -> CachedLayer? {
        let path = recordPath(kind, key)
        guard let data = FileManager.default.contents(atPath: path),
              let layer = try? JSONDecoder().decode(CachedLayer.self, from: data),
              let blob = try? blobPath(layer),
              let attributes = try? FileManager.default.attributesOfItem(atPath: blob),
              (attributes[.size] as? NSNumber)?.int64Value == layer.size else { return nil }
        return layer
    }

    /// Records `layer` under `key`; the blob must already be in the store.
    public func record(_ kind: String, key: String, layer: CachedLayer) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try encoder.encode(layer)
        let path = recordPath(kind, key)
        let temp = path + ".tmp-" + UUID().uuidString
        guard FileManager.default.createFile(atPath: temp, contents: data) else {
            throw OCIBuildError.io("write", temp, "cannot create the file")
        }
        let fd = open(temp, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
        if rename(temp, path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temp)
            throw OCIBuildError.io("rename", temp, reason)
        }
    }

    private func recordPath(_ kind: String, _ key: String) -> String {
        root + "/" + kind + "/" + key.replacingOccurrences(of: "sha256:", with: "") + ".json"
    }

    static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw OCIBuildError.io("mkdir", path, "\(error.localizedDescription)")
        }
    }

    /// `sha256:` of the lines, joined by newlines: a cache key.
    public static func key(_ parts: [String]) -> String {
        var hasher = SHA256()
        hasher.update(parts.joined(separator: "\n"))
        return "sha256:" + hasher.finalize().hex
    }
}

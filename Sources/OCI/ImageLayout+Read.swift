import Foundation
import KilnCrypto

/// One image read back from a layout: its manifest and config, with every blob's digest verified.
public struct LayoutImage: Hashable, Sendable {
    /// The manifest's descriptor in `index.json`.
    public var descriptor: Descriptor
    /// The manifest.
    public var manifest: Manifest
    /// The image config.
    public var config: ImageConfig

    /// The paths of the layer blobs, base first.
    public func layerPaths(in layout: ImageLayout) -> [String] {
        manifest.layers.map { layout.blobPath($0.digest) }
    }
}

extension ImageLayout {
    /// The tags in `index.json` (the `org.opencontainers.image.ref.name` annotations), in index order.
    public func tags() throws -> [String] {
        try readIndex().manifests.compactMap { $0.annotations?[Descriptor.refNameAnnotation] }
    }

    /// Reads and decodes `index.json`.
    public func readIndex() throws -> Index {
        try CanonicalJSON.decode(Index.self, from: readFile("index.json"), what: "'\(indexPath)'")
    }

    /// Reads the image tagged `tag` (index → manifest → config and layers), verifying the digest and
    /// size of the manifest, the config and every layer blob (layers are hashed by streaming).
    /// - Throws: `OCIError` for a missing tag or blob, a blob whose bytes do not match, or invalid JSON.
    public func read(tag: String) throws -> LayoutImage {
        guard let descriptor = try readIndex().manifests.first(where: {
            $0.annotations?[Descriptor.refNameAnnotation] == tag
        }) else {
            throw OCIError.tagNotFound(tag, layout: path)
        }
        return try read(descriptor)
    }

    /// Reads the image a manifest descriptor names, verifying every blob as `read(tag:)` does.
    public func read(_ descriptor: Descriptor) throws -> LayoutImage {
        guard MediaType.manifestTypes.contains(descriptor.mediaType) else {
            throw OCIError.invalidContent("'\(path)' names \(descriptor.digest) with media type '\(descriptor.mediaType)'; "
                + "kiln reads image manifests (nested indexes are not supported)")
        }
        let manifest = try CanonicalJSON.decode(Manifest.self, from: readBlob(descriptor),
                                                what: "manifest \(descriptor.digest)")
        guard MediaType.configTypes.contains(manifest.config.mediaType) else {
            throw OCIError.invalidContent("manifest \(descriptor.digest) has a config of media type "
                + "'\(manifest.config.mediaType)', which is not an image config")
        }
        let config = try CanonicalJSON.decode(ImageConfig.self, from: readBlob(manifest.config),
                                              what: "config \(manifest.config.digest)")
        for layer in manifest.layers {
            try verifyBlob(layer)
        }
        guard config.rootfs.diffIDs.count == manifest.layers.count else {
            throw OCIError.invalidContent("manifest \(descriptor.digest) has \(manifest.layers.count) layers but its "
                + "config lists \(config.rootfs.diffIDs.count) diff_ids")
        }
        return LayoutImage(descriptor: descriptor, manifest: manifest, config: config)
    }

    /// Reads a small blob (a manifest or config) into memory, checking its size and digest.
    public func readBlob(_ descriptor: Descriptor) throws -> [UInt8] {
        let file = blobPath(descriptor.digest)
        guard FileManager.default.fileExists(atPath: file) else { throw OCIError.missingBlob(descriptor.digest.description) }
        let bytes = try readFile(descriptor.digest.blobPath)
        let digest = Digest.sha256(of: bytes)
        guard digest == descriptor.digest, Int64(bytes.count) == descriptor.size else {
            throw OCIError.digestMismatch("blob '\(file)'", expected: "\(descriptor.digest) (\(descriptor.size) bytes)",
                                          actual: "\(digest) (\(bytes.count) bytes)")
        }
        return bytes
    }

    /// Hashes a blob in 1 MiB chunks and checks its digest and size against `descriptor`.
    public func verifyBlob(_ descriptor: Descriptor) throws {
        let file = blobPath(descriptor.digest)
        guard FileManager.default.fileExists(atPath: file) else { throw OCIError.missingBlob(descriptor.digest.description) }
        let (digest, size) = try Self.hashFile(file)
        guard digest == descriptor.digest, size == descriptor.size else {
            throw OCIError.digestMismatch("blob '\(file)'", expected: "\(descriptor.digest) (\(descriptor.size) bytes)",
                                          actual: "\(digest) (\(size) bytes)")
        }
    }

    /// The SHA-256 digest and size of a file, read in 1 MiB chunks (memory stays flat).
    static func hashFile(_ file: String) throws -> (Digest, Int64) {
        let reader = try ChunkedFileReader(path: file)
        var hasher = SHA256()
        var size: Int64 = 0
        while true {
            let chunk = try reader.next()
            if chunk.isEmpty { break }
            hasher.update(chunk)
            size += Int64(chunk.count)
        }
        return (Digest(sha256: hasher.finalize()), size)
    }

    func readFile(_ relative: String) throws -> [UInt8] {
        let file = path + "/" + relative
        guard let data = FileManager.default.contents(atPath: file) else {
            throw OCIError.io("read", file, reason: FileManager.default.fileExists(atPath: file)
                ? "cannot read the file" : "no such file")
        }
        return Array(data)
    }
}

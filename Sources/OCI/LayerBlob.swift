import KilnArchive
import KilnCrypto

/// A compressed layer file with the two digests an image needs: the blob digest (of the compressed
/// bytes, for the manifest) and the diffID (of the uncompressed tar, for the config's `rootfs.diff_ids`;
/// config.md, "Layer DiffID").
public struct LayerBlob: Hashable, Sendable {
    /// The layer file.
    public var path: String
    /// The SHA-256 of the compressed file.
    public var digest: Digest
    /// The size of the compressed file in bytes.
    public var size: Int64
    /// The SHA-256 of the uncompressed tar stream.
    public var diffID: Digest
    /// The layer's media type.
    public var mediaType: String

    /// The manifest descriptor of this layer.
    public var descriptor: Descriptor { Descriptor(mediaType: mediaType, digest: digest, size: size) }

    /// Reads a compressed tar (gzip as `TarWriter` with `.gzip` writes; any filter libarchive knows),
    /// in 1 MiB chunks: the compressed bytes for the digest and size, then the stream decompressed by
    /// libarchive for the diffID. Memory stays flat whatever the layer's size.
    /// - Throws: `OCIError` if the file cannot be read or does not decompress.
    public static func make(fromTarGz path: String) throws -> LayerBlob {
        var compressed = SHA256(), uncompressed = SHA256()
        var size: Int64 = 0
        let reader = try ChunkedFileReader(path: path)
        while true {
            let chunk = try reader.next()
            if chunk.isEmpty { break }
            compressed.update(chunk)
            size += Int64(chunk.count)
        }
        do {
            let decompressor = try Decompressor(path: path)
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = try buffer.withUnsafeMutableBytes { try decompressor.read(into: $0) }
                if n == 0 { break }
                buffer.withUnsafeBytes { uncompressed.update(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            }
        } catch let error as KilnArchiveError {
            throw OCIError.corruptGzip(path, error.description)
        }
        return LayerBlob(path: path, digest: Digest(sha256: compressed.finalize()), size: size,
                         diffID: Digest(sha256: uncompressed.finalize()), mediaType: MediaType.layerTarGzip)
    }

    /// A layer `LayerWriter` wrote: its file and the digests `finish()` returned, computed in the same
    /// pass that wrote the file, so nothing is read again. The media type follows the compression
    /// (image-spec media-types.md): `…layer.v1.tar+gzip`, `…tar+zstd` or `…tar`.
    /// - Throws: `OCIError` if a digest is not `sha256:` and 64 lowercase hex digits.
    public static func make(path: String, digests: LayerDigests) throws -> LayerBlob {
        LayerBlob(path: path, digest: try Digest(parsing: digests.digest), size: digests.size,
                  diffID: try Digest(parsing: digests.diffID), mediaType: mediaType(for: digests.compression))
    }

    /// The OCI layer media type of a tar compressed as `compression`.
    public static func mediaType(for compression: LayerWriter.Compression) -> String {
        switch compression {
        case .none: MediaType.layerTar
        case .gzip: MediaType.layerTarGzip
        case .zstd: MediaType.layerTarZstd
        }
    }
}

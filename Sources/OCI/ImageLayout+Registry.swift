import Foundation
import KilnCrypto

/// What a registry client needs from a layout: blobs downloaded into a temporary file inside the layout
/// and adopted once verified, and manifests or indexes stored byte for byte (their digests unchanged)
/// and tagged in `index.json`.
extension ImageLayout {
    /// A new temporary file name inside `blobs/sha256/` (same file system as the blobs, so adopting it
    /// is an atomic rename). The caller creates, fills and either adopts or removes it.
    public func temporaryBlobPath() -> String {
        path + "/blobs/sha256/.tmp-" + UUID().uuidString
    }

    /// Moves the file `temp` (inside this layout) into place as the blob `expected` names, after hashing
    /// it in 1 MiB chunks and checking its size and digest; a file that does not match is removed and an
    /// error thrown, so the layout never holds a blob under a wrong name (image-layout.md, "Blobs").
    public func adoptBlob(fromTemporaryFile temp: String, expected: Descriptor) throws {
        do {
            let (digest, size) = try Self.hashFile(temp)
            guard digest == expected.digest, size == expected.size else {
                throw OCIError.digestMismatch("downloaded blob", expected: "\(expected.digest) (\(expected.size) bytes)",
                                              actual: "\(digest) (\(size) bytes)")
            }
            if hasBlob(digest) {
                try? FileManager.default.removeItem(atPath: temp)
            } else {
                try renameFile(temp, to: blobPath(digest))
            }
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            throw error
        }
    }

    /// Adds `descriptor` (a manifest or index already stored as a blob, with every blob it names) to
    /// `index.json`, tagged `tag` with the `org.opencontainers.image.ref.name` annotation, replacing an
    /// entry with the same tag. Returns the descriptor as written. `index.json` is replaced atomically.
    @discardableResult
    public func tagDescriptor(_ descriptor: Descriptor, tag: String) throws -> Descriptor {
        try Self.validateTag(tag)
        guard hasBlob(descriptor.digest) else { throw OCIError.missingBlob(descriptor.digest.description) }
        var tagged = descriptor
        var annotations = tagged.annotations ?? [:]
        annotations[Descriptor.refNameAnnotation] = tag
        tagged.annotations = annotations
        var index = try readIndex()
        index.manifests.removeAll { $0.annotations?[Descriptor.refNameAnnotation] == tag }
        index.manifests.append(tagged)
        try writeAtomically(CanonicalJSON.encode(index), to: indexPath)
        return tagged
    }
}

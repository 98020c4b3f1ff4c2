import Foundation
import KilnCrypto

/// An OCI image layout directory (OCI image-spec v1.1 image-layout.md): `oci-layout`, `blobs/sha256/`
/// and `index.json`.
///
/// Writes keep the layout valid at every instant: each blob is written to a temporary file inside the
/// layout and renamed to its digest only when complete; a manifest is written only after every blob it
/// names exists; `index.json` is replaced atomically, last. Not safe for concurrent writers.
public struct ImageLayout: Sendable {
    /// The layout's root directory.
    public let path: String

    /// The contents of `oci-layout` (image-layout.md, "oci-layout file").
    public static let layoutVersion = "1.0.0"

    private init(path: String) { self.path = path }

    /// Creates a layout at `path` (creating the directory), or opens it if it already holds one.
    public static func create(at path: String) throws -> ImageLayout {
        let layout = ImageLayout(path: path)
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: layout.path + "/blobs/sha256", withIntermediateDirectories: true)
        } catch {
            throw OCIError.io("create directory", path + "/blobs/sha256", error)
        }
        if !fm.fileExists(atPath: layout.path + "/oci-layout") {
            try writeAtomically(CanonicalJSON.encode(LayoutFile(imageLayoutVersion: layoutVersion)),
                                to: layout.path + "/oci-layout")
        }
        if !fm.fileExists(atPath: layout.indexPath) {
            try layout.writeIndex(Index())
        }
        return layout
    }

    /// Opens an existing layout, checking its `oci-layout` version.
    public static func open(at path: String) throws -> ImageLayout {
        let layout = ImageLayout(path: path)
        let file = try CanonicalJSON.decode(LayoutFile.self, from: layout.readFile("oci-layout"),
                                            what: "'\(path)/oci-layout'")
        guard file.imageLayoutVersion == layoutVersion else {
            throw OCIError.invalidContent("'\(path)/oci-layout' has imageLayoutVersion \(file.imageLayoutVersion); "
                + "kiln reads \(layoutVersion)")
        }
        return layout
    }

    private struct LayoutFile: Codable { var imageLayoutVersion: String }

    var indexPath: String { path + "/index.json" }

    /// The file that holds (or would hold) the blob `digest`.
    public func blobPath(_ digest: Digest) -> String { path + "/" + digest.blobPath }

    /// True if the blob `digest` is in the layout.
    public func hasBlob(_ digest: Digest) -> Bool { FileManager.default.fileExists(atPath: blobPath(digest)) }

    // MARK: writing

    /// Writes `bytes` as a blob and returns its descriptor; a blob already present is left as is.
    @discardableResult
    public func writeBlob(_ bytes: [UInt8], mediaType: String) throws -> Descriptor {
        let digest = Digest.sha256(of: bytes)
        let descriptor = Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count))
        if !hasBlob(digest) { try writeAtomically(bytes, to: blobPath(digest)) }
        return descriptor
    }

    /// Copies the file at `source` into the layout as a blob, hashing it while copying in 1 MiB chunks
    /// (memory stays flat); the copy goes to a temporary file in the layout and is renamed to its digest.
    /// If `expected` is given, a copy with a different digest is discarded and an error thrown.
    @discardableResult
    public func writeBlob(fromFile source: String, mediaType: String, expected: Digest? = nil) throws -> Descriptor {
        let temp = path + "/blobs/sha256/.tmp-" + UUID().uuidString
        do {
            let reader = try ChunkedFileReader(path: source)
            let writer = try FileWriter(path: temp)
            var hasher = SHA256()
            var size: Int64 = 0
            while true {
                let chunk = try reader.next()
                if chunk.isEmpty { break }
                hasher.update(chunk)
                size += Int64(chunk.count)
                try writer.write(chunk)
            }
            try writer.close()
            let digest = Digest(sha256: hasher.finalize())
            if let expected, expected != digest {
                throw OCIError.digestMismatch("file '\(source)'", expected: expected.description, actual: digest.description)
            }
            if hasBlob(digest) {
                try? FileManager.default.removeItem(atPath: temp)
            } else {
                try renameFile(temp, to: blobPath(digest))
            }
            return Descriptor(mediaType: mediaType, digest: digest, size: size)
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            throw error
        }
    }

    /// Copies a layer into the layout, checking that the copy has the digest `layer` was made with.
    @discardableResult
    public func writeLayer(_ layer: LayerBlob) throws -> Descriptor {
        try writeBlob(fromFile: layer.path, mediaType: layer.mediaType, expected: layer.digest)
    }

    /// Writes an image config as a canonical JSON blob.
    @discardableResult
    public func writeConfig(_ config: ImageConfig) throws -> Descriptor {
        try writeBlob(CanonicalJSON.encode(config), mediaType: MediaType.imageConfig)
    }

    /// Writes `manifest` as a blob and adds it to `index.json`, tagged with the annotation
    /// `org.opencontainers.image.ref.name` (replacing an earlier manifest with the same tag).
    ///
    /// The config and every layer must already be in the layout with their descriptors' sizes, so no
    /// manifest ever points to a missing blob. Returns the manifest's descriptor as written to the index.
    @discardableResult
    public func addManifest(_ manifest: Manifest, tag: String? = nil, platform: Platform? = nil) throws -> Descriptor {
        if let tag { try Self.validateTag(tag) }
        for descriptor in [manifest.config] + manifest.layers {
            try checkPresent(descriptor)
        }
        var descriptor = try writeBlob(CanonicalJSON.encode(manifest), mediaType: manifest.mediaType ?? MediaType.imageManifest)
        descriptor.platform = platform
        var index = try readIndex()
        if let tag {
            descriptor.annotations = [Descriptor.refNameAnnotation: tag]
            index.manifests.removeAll { $0.annotations?[Descriptor.refNameAnnotation] == tag }
        }
        index.manifests.append(descriptor)
        try writeIndex(index)
        return descriptor
    }

    private func checkPresent(_ descriptor: Descriptor) throws {
        let file = blobPath(descriptor.digest)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
              let size = (attributes[.size] as? NSNumber)?.int64Value else {
            throw OCIError.missingBlob(descriptor.digest.description)
        }
        guard size == descriptor.size else {
            throw OCIError.digestMismatch("size of blob \(descriptor.digest)", expected: "\(descriptor.size) bytes",
                                          actual: "\(size) bytes")
        }
    }

    private func writeIndex(_ index: Index) throws {
        try writeAtomically(CanonicalJSON.encode(index), to: indexPath)
    }

    /// Checks a tag against image-layout.md's `ref.name` grammar:
    /// `component ("/" component)*`, `component ::= alphanum (separator alphanum)*`,
    /// `alphanum ::= [A-Za-z0-9]+`, `separator ::= [-._:@+] | "--"`.
    public static func validateTag(_ tag: String) throws {
        func isAlnum(_ c: UInt8) -> Bool {
            (0x30...0x39).contains(c) || (0x41...0x5a).contains(c) || (0x61...0x7a).contains(c)
        }
        let separators = Set("-._:@+".utf8)
        let valid = !tag.isEmpty && tag.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { component in
            let bytes = Array(component.utf8)
            guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
            var i = 0
            while i < bytes.count {
                if isAlnum(bytes[i]) { i += 1; continue }
                guard separators.contains(bytes[i]) else { return false }
                // One separator, or exactly "--".
                if bytes[i] == UInt8(ascii: "-"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "-") { i += 1 }
                i += 1
                guard i < bytes.count, isAlnum(bytes[i]) else { return false }
            }
            return true
        }
        guard valid else {
            throw OCIError.invalidContent("tag \(String(reflecting: tag)) is not a valid image-layout ref.name; "
                + "use letters, digits and single separators such as '.', '-', '_', e.g. 'v1.0'")
        }
    }
}

import Foundation
import OCI

/// What a push sent.
public struct PushReport: Sendable, Codable, Hashable {
    /// The digest of the pushed manifest (or index).
    public var manifestDigest: OCI.Digest
    /// Blobs sent.
    public var blobsUploaded: Int
    /// Blobs the repository already had (HEAD answered 200).
    public var blobsSkipped: Int
    /// Blobs mounted from another repository.
    public var blobsMounted: Int
    /// Bytes of blob content sent (the blobs' sizes; retries not counted).
    public var bytesUploaded: Int64
    /// The tags pushed.
    public var tags: [String]

    /// Makes a report.
    public init(manifestDigest: OCI.Digest, blobsUploaded: Int = 0, blobsSkipped: Int = 0, blobsMounted: Int = 0,
                bytesUploaded: Int64 = 0, tags: [String] = []) {
        self.manifestDigest = manifestDigest
        self.blobsUploaded = blobsUploaded
        self.blobsSkipped = blobsSkipped
        self.blobsMounted = blobsMounted
        self.bytesUploaded = bytesUploaded
        self.tags = tags
    }
}

/// Pushing an image from a layout (distribution-spec v1.1 "Push"): blobs first — each HEADed, then
/// mounted or uploaded, in parallel — then, once every blob is confirmed present, the manifest by
/// digest, and last the tags. The registry never holds a manifest whose blobs are missing.
extension RegistryClient {
    /// Pushes the image whose manifest (or index) descriptor `image` is in `layout` to `reference`, and
    /// tags it with `reference.tag` and `extraTags`. `mountFrom` names repositories of this registry
    /// that may hold some blobs already (e.g. the base image's), mounted instead of uploaded.
    public func push(layout: ImageLayout, image: Descriptor, to reference: ImageReference, extraTags: [String] = [],
                     mountFrom: [String] = []) throws -> PushReport {
        guard reference.registry == registry else {
            throw RegistryError.other("this client speaks to \(registry), not to \(reference.registry)")
        }
        let repository = reference.repository
        let rootBytes = try layout.readBlob(image)
        if let digest = reference.digest, digest != image.digest {
            throw RegistryError.other("cannot push \(image.digest) to \(reference): the reference names another digest")
        }
        for tag in extraTags where !ImageReference.isValidTag(tag) {
            throw RegistryError.invalidReference(tag, "it is not a valid tag")
        }

        // The manifests to send (children of an index first) and the blobs they name.
        var manifests: [(descriptor: Descriptor, bytes: [UInt8])] = []
        var blobs: [Descriptor] = []
        func addBlobs(of manifestBytes: [UInt8], _ descriptor: Descriptor) throws {
            let manifest = try CanonicalJSON.decode(Manifest.self, from: manifestBytes, what: "manifest \(descriptor.digest)")
            for blob in [manifest.config] + manifest.layers where !blobs.contains(where: { $0.digest == blob.digest }) {
                blobs.append(blob)
            }
        }
        if MediaType.indexTypes.contains(image.mediaType) {
            let index = try CanonicalJSON.decode(Index.self, from: rootBytes, what: "index \(image.digest)")
            for child in index.manifests {
                guard MediaType.manifestTypes.contains(child.mediaType) else {
                    throw RegistryError.other("index \(image.digest) names \(child.digest) of media type '\(child.mediaType)'; "
                        + "kiln pushes indexes of image manifests only")
                }
                let bytes = try layout.readBlob(child)
                try addBlobs(of: bytes, child)
                manifests.append((child, bytes))
            }
        } else if MediaType.manifestTypes.contains(image.mediaType) {
            try addBlobs(of: rootBytes, image)
        } else {
            throw RegistryError.other("\(image.digest) has media type '\(image.mediaType)', which is not a manifest or index")
        }
        manifests.append((image, rootBytes))

        // Every blob must be complete locally before anything is sent.
        for blob in blobs {
            let path = layout.blobPath(blob.digest)
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
            guard size == blob.size else {
                throw RegistryError.other("blob \(blob.digest) is missing from layout '\(layout.path)' or has the wrong "
                    + "size; rebuild the image")
            }
        }

        let outcomes: [TransferOutcome] = try parallelMap(blobs, width: options.parallelUploads) { [self] blob in
            let id = blob.digest.description
            let label = Self.label(blob)
            options.progress?.started(id: id, label: label, total: blob.size)
            do {
                if try blobExists(blob, in: repository) {
                    options.progress?.finished(id: id, outcome: .skipped)
                    return .skipped
                }
                let outcome = try uploadBlob(blob, file: layout.blobPath(blob.digest), to: repository, mountFrom: mountFrom)
                // Confirm before any manifest names it.
                guard try blobExists(blob, in: repository) else {
                    throw RegistryError.other("the registry accepted blob \(blob.digest) but HEAD does not find it in "
                        + "\(registry)/\(repository); retry the push")
                }
                options.progress?.finished(id: id, outcome: outcome)
                return outcome
            } catch {
                options.progress?.finished(id: id, outcome: .failed)
                throw error
            }
        }

        for (descriptor, bytes) in manifests {
            try putManifest(bytes, mediaType: descriptor.mediaType, reference: descriptor.digest.description, in: repository)
        }
        var tags: [String] = []
        for tag in [reference.tag].compactMap({ $0 }) + extraTags where !tags.contains(tag) {
            try putManifest(rootBytes, mediaType: image.mediaType, reference: tag, in: repository)
            tags.append(tag)
        }

        var report = PushReport(manifestDigest: image.digest, tags: tags)
        for (blob, outcome) in zip(blobs, outcomes) {
            switch outcome {
            case .uploaded:
                report.blobsUploaded += 1
                report.bytesUploaded += blob.size
            case .mounted: report.blobsMounted += 1
            default: report.blobsSkipped += 1
            }
        }
        return report
    }

    /// A short name for progress lines: the kind of blob and its digest's first 12 hex digits.
    static func label(_ blob: Descriptor) -> String {
        let kind = MediaType.configTypes.contains(blob.mediaType) ? "config" : "layer "
        return "\(kind) \(blob.digest.hex.prefix(12))"
    }
}

import Foundation
import OCI

/// Pulling an image into a layout (distribution-spec v1.1 "Pull"): the manifest (through an index for
/// the requested platform), then config and layers in parallel, each verified against its digest and
/// size before it is renamed into place; manifests and indexes are stored byte for byte, so their
/// digests are the registry's.
extension RegistryClient {
    /// Pulls `reference` for `platform` into `layout` and tags the image manifest `tag` in `index.json`.
    /// Blobs already in the layout are not downloaded again.
    public func pull(_ reference: ImageReference, platform: Platform, into layout: ImageLayout, tag: String) throws -> LayoutImage {
        guard reference.registry == registry else {
            throw RegistryError.other("this client speaks to \(registry), not to \(reference.registry)")
        }
        try ImageLayout.validateTag(tag)
        let repository = reference.repository
        var fetched = try fetchManifest(reference.manifestReference, from: repository)
        var selectedPlatform: Platform?
        if fetched.isIndex {
            let index = try CanonicalJSON.decode(Index.self, from: fetched.bytes, what: "index \(reference)")
            let entry: Descriptor
            do {
                entry = try index.manifest(for: platform)
            } catch {
                throw RegistryError.other("\(reference): \(error)")
            }
            try layout.writeBlob(fetched.bytes, mediaType: fetched.mediaType)
            fetched = try fetchManifest(entry.digest.description, from: repository)
            guard fetched.digest == entry.digest, Int64(fetched.bytes.count) == entry.size else {
                throw RegistryError.digestMismatch("manifest for \(platform) of \(reference)",
                                                   expected: "\(entry.digest) (\(entry.size) bytes)",
                                                   actual: "\(fetched.digest) (\(fetched.bytes.count) bytes)")
            }
            guard !fetched.isIndex else {
                throw RegistryError.other("\(reference): nested indexes are not supported")
            }
            selectedPlatform = entry.platform
        }
        let manifest = try CanonicalJSON.decode(Manifest.self, from: fetched.bytes, what: "manifest of \(reference)")
        let blobs = [manifest.config] + manifest.layers
        _ = try parallelMap(blobs, width: options.parallelUploads) { [self] blob in
            let id = blob.digest.description
            options.progress?.started(id: id, label: Self.label(blob), total: blob.size)
            if layout.hasBlob(blob.digest) {
                options.progress?.finished(id: id, outcome: .present)
                return TransferOutcome.present
            }
            do {
                try downloadBlob(blob, from: repository, into: layout)
            } catch {
                options.progress?.finished(id: id, outcome: .failed)
                throw error
            }
            options.progress?.finished(id: id, outcome: .downloaded)
            return TransferOutcome.downloaded
        }
        var descriptor = try layout.writeBlob(fetched.bytes, mediaType: fetched.mediaType)
        if selectedPlatform == nil {
            struct PlatformOf: Decodable {
                var architecture: String?
                var os: String?
                var variant: String?
            }
            if let config = try? CanonicalJSON.decode(PlatformOf.self, from: layout.readBlob(manifest.config), what: "config"),
               let architecture = config.architecture, let os = config.os {
                selectedPlatform = Platform(architecture: architecture, os: os, variant: config.variant)
            }
        }
        descriptor.platform = selectedPlatform
        let tagged = try layout.tagDescriptor(descriptor, tag: tag)
        return try layout.read(tagged)
    }
}

/// Parsing platforms (`os/arch[/variant]`) and choosing a manifest from an index by platform
/// (OCI image-spec v1.1 image-index.md, `manifests[].platform`).
extension Platform: CustomStringConvertible {
    /// Parses `os/architecture[/variant]`, e.g. `linux/amd64`, `linux/arm64/v8`.
    /// - Throws: `OCIError` naming the rejected text.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else {
            throw OCIError.invalidContent("platform \(String(reflecting: text)) is not os/architecture[/variant], "
                + "e.g. linux/amd64 or linux/arm64/v8")
        }
        self.init(architecture: parts[1], os: parts[0], variant: parts.count == 3 ? parts[2] : nil)
    }

    /// `os/architecture[/variant]`.
    public var description: String {
        "\(os)/\(architecture)" + (variant.map { "/\($0)" } ?? "")
    }

    /// The variant a missing one stands for (Go's defaults: arm64 is v8, arm is v7), so `linux/arm64`
    /// and `linux/arm64/v8` name the same platform.
    var normalizedVariant: String? {
        if let variant, !variant.isEmpty { return variant }
        switch architecture {
        case "arm64": return "v8"
        case "arm": return "v7"
        default: return nil
        }
    }

    /// True when an image for `candidate` runs on this platform: same OS and architecture, and the same
    /// variant when this platform names one (a missing variant takes the architecture's default).
    public func accepts(_ candidate: Platform) -> Bool {
        guard candidate.os == os, candidate.architecture == architecture else { return false }
        if variant == nil && candidate.variant == nil { return true }
        return variant == nil ? true : candidate.normalizedVariant == normalizedVariant
    }
}

extension Index {
    /// The descriptor of the image manifest for `platform`: the first entry whose platform `accepts`
    /// it, preferring an exact variant match; attestation manifests (os `unknown`) are never chosen, and
    /// an entry without a platform only when it is the index's one image manifest.
    /// - Throws: `OCIError` listing the platforms the index offers when none matches.
    public func manifest(for platform: Platform) throws -> Descriptor {
        let candidates = manifests.filter { entry in
            guard let entryPlatform = entry.platform else { return false }
            return MediaType.manifestTypes.contains(entry.mediaType) && platform.accepts(entryPlatform)
        }
        if let exact = candidates.first(where: { $0.platform?.normalizedVariant == platform.normalizedVariant }) {
            return exact
        }
        if let first = candidates.first { return first }
        // An index of a single image manifest that states no platform: that image is the only choice.
        let images = manifests.filter { MediaType.manifestTypes.contains($0.mediaType) }
        if images.count == 1, let only = images.first, only.platform == nil { return only }
        let offered = manifests.compactMap { $0.platform?.description }
        throw OCIError.invalidContent("the index offers no image for \(platform) (it has: "
            + (offered.isEmpty ? "no platforms" : offered.joined(separator: ", "))
            + "); choose one of those with --platform")
    }
}

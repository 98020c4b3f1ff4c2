/// A reference to content: its media type, digest and size (OCI image-spec v1.1 descriptor.md).
public struct Descriptor: Hashable, Sendable, Codable {
    /// The media type of the referenced content.
    public var mediaType: String
    /// The digest of the referenced content's bytes.
    public var digest: Digest
    /// The size of the referenced content in bytes.
    public var size: Int64
    /// URLs the content may be downloaded from.
    public var urls: [String]?
    /// Arbitrary metadata (descriptor.md, annotations.md).
    public var annotations: [String: String]?
    /// The platform of the referenced manifest (only in an index).
    public var platform: Platform?
    /// The type of an artifact when the descriptor references one.
    public var artifactType: String?

    /// Makes a descriptor.
    public init(mediaType: String, digest: Digest, size: Int64, urls: [String]? = nil,
                annotations: [String: String]? = nil, platform: Platform? = nil, artifactType: String? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.urls = urls
        self.annotations = annotations
        self.platform = platform
        self.artifactType = artifactType
    }

    /// Decodes a descriptor, rejecting a negative size.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mediaType = try c.decode(String.self, forKey: .mediaType)
        digest = try c.decode(Digest.self, forKey: .digest)
        size = try c.decode(Int64.self, forKey: .size)
        guard size >= 0 else {
            throw OCIError.invalidContent("descriptor for \(digest) has negative size \(size)")
        }
        urls = try c.decodeIfPresent([String].self, forKey: .urls)
        annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations)
        platform = try c.decodeIfPresent(Platform.self, forKey: .platform)
        artifactType = try c.decodeIfPresent(String.self, forKey: .artifactType)
    }

    /// The annotation key holding a manifest's reference name (tag) in an image layout's index.
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"
}

/// The platform an image runs on (image-index.md, `platform`; values follow Go's GOOS/GOARCH).
public struct Platform: Hashable, Sendable, Codable {
    /// The CPU architecture, e.g. `amd64`, `arm64`.
    public var architecture: String
    /// The operating system, e.g. `linux`.
    public var os: String
    /// The operating system version (JSON `os.version`).
    public var osVersion: String?
    /// Required operating system features (JSON `os.features`).
    public var osFeatures: [String]?
    /// The CPU variant, e.g. `v8` for arm64.
    public var variant: String?

    /// Makes a platform.
    public init(architecture: String, os: String, osVersion: String? = nil, osFeatures: [String]? = nil,
                variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.osVersion = osVersion
        self.osFeatures = osFeatures
        self.variant = variant
    }

    private enum CodingKeys: String, CodingKey {
        case architecture, os, variant
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }
}

/// An image manifest: one config and an ordered list of layers (OCI image-spec v1.1 manifest.md).
public struct Manifest: Hashable, Sendable, Codable {
    /// Always 2 for compatibility with Docker (manifest.md, `schemaVersion`).
    public var schemaVersion: Int
    /// `application/vnd.oci.image.manifest.v1+json` (or the Docker schema-2 type on read).
    public var mediaType: String?
    /// The artifact type, when this manifest describes an artifact rather than an image.
    public var artifactType: String?
    /// The image configuration blob.
    public var config: Descriptor
    /// The layers, base first.
    public var layers: [Descriptor]
    /// A manifest this one refers to (referrers API).
    public var subject: Descriptor?
    /// Arbitrary metadata.
    public var annotations: [String: String]?

    /// Makes an OCI image manifest (schemaVersion 2, the OCI manifest media type).
    public init(config: Descriptor, layers: [Descriptor], annotations: [String: String]? = nil,
                artifactType: String? = nil, subject: Descriptor? = nil) {
        schemaVersion = 2
        mediaType = MediaType.imageManifest
        self.artifactType = artifactType
        self.config = config
        self.layers = layers
        self.subject = subject
        self.annotations = annotations
    }

    /// Decodes a manifest, rejecting a schemaVersion other than 2 or a foreign media type.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        guard schemaVersion == 2 else {
            throw OCIError.invalidContent("manifest has schemaVersion \(schemaVersion); the image-spec requires 2")
        }
        mediaType = try c.decodeIfPresent(String.self, forKey: .mediaType)
        if let mediaType, !MediaType.manifestTypes.contains(mediaType) {
            throw OCIError.invalidContent("manifest has media type '\(mediaType)', which is not an image manifest")
        }
        artifactType = try c.decodeIfPresent(String.self, forKey: .artifactType)
        config = try c.decode(Descriptor.self, forKey: .config)
        layers = try c.decode([Descriptor].self, forKey: .layers)
        subject = try c.decodeIfPresent(Descriptor.self, forKey: .subject)
        annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations)
    }
}

/// A list of manifests, typically one per platform (OCI image-spec v1.1 image-index.md); also the
/// `index.json` of an image layout.
public struct Index: Hashable, Sendable, Codable {
    /// Always 2.
    public var schemaVersion: Int
    /// `application/vnd.oci.image.index.v1+json` (or the Docker manifest list type on read).
    public var mediaType: String?
    /// The artifact type, when this index describes an artifact.
    public var artifactType: String?
    /// The manifests (or nested indexes).
    public var manifests: [Descriptor]
    /// A manifest this one refers to (referrers API).
    public var subject: Descriptor?
    /// Arbitrary metadata.
    public var annotations: [String: String]?

    /// Makes an OCI image index (schemaVersion 2, the OCI index media type).
    public init(manifests: [Descriptor] = [], annotations: [String: String]? = nil) {
        schemaVersion = 2
        mediaType = MediaType.imageIndex
        self.manifests = manifests
        self.annotations = annotations
    }

    /// Decodes an index, rejecting a schemaVersion other than 2 or a foreign media type.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        guard schemaVersion == 2 else {
            throw OCIError.invalidContent("index has schemaVersion \(schemaVersion); the image-spec requires 2")
        }
        mediaType = try c.decodeIfPresent(String.self, forKey: .mediaType)
        if let mediaType, !MediaType.indexTypes.contains(mediaType) {
            throw OCIError.invalidContent("index has media type '\(mediaType)', which is not an image index")
        }
        artifactType = try c.decodeIfPresent(String.self, forKey: .artifactType)
        manifests = try c.decode([Descriptor].self, forKey: .manifests)
        subject = try c.decodeIfPresent(Descriptor.self, forKey: .subject)
        annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations)
    }
}

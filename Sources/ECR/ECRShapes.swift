import Foundation

/// Docker/OCI registry credentials from `GetAuthorizationToken`: the token decoded into user name and
/// password (`AWS:…`), the registry URL, and the expiry (12 hours on AWS).
///
/// `description` and `customMirror` never show the password, so the value can be printed or dumped.
public struct AuthorizationData: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// The user name (`AWS`).
    public var username: String
    /// The registry password: a secret.
    public var password: String
    /// The registry's URL (`https://123456789012.dkr.ecr.us-east-1.amazonaws.com`).
    public var proxyEndpoint: String
    /// When the password stops working.
    public var expiresAt: Date?

    /// Makes authorization data (for fakes in tests of code above this module).
    public init(username: String, password: String, proxyEndpoint: String, expiresAt: Date?) {
        self.username = username
        self.password = password
        self.proxyEndpoint = proxyEndpoint
        self.expiresAt = expiresAt
    }

    /// The value of an HTTP `Authorization` header for the registry (`Basic base64(user:password)`): a
    /// secret, like the password.
    public var basicAuthorization: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    /// The registry host (`proxyEndpoint` without its scheme), as `docker login` and image names use it.
    public var registry: String {
        proxyEndpoint.components(separatedBy: "://").last ?? proxyEndpoint
    }

    /// User name, registry and expiry; the password is shown as `<redacted>`.
    public var description: String {
        "AuthorizationData(username: \(username), password: <redacted>, proxyEndpoint: \(proxyEndpoint)"
            + "\(expiresAt.map { ", expiresAt: \($0)" } ?? ""))"
    }

    /// A mirror without the password, so `dump` cannot leak it either.
    public var customMirror: Mirror {
        Mirror(self, children: ["username": username, "password": "<redacted>", "proxyEndpoint": proxyEndpoint,
                                "expiresAt": expiresAt as Any])
    }
}

/// Whether a repository's tags can be moved to another image (`imageTagMutability`).
public struct ImageTagMutability: RawRepresentable, Hashable, Sendable, Codable {
    /// The API's spelling.
    public var rawValue: String
    /// Makes a value from the API's spelling.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Tags can be overwritten (`MUTABLE`, the default).
    public static let mutable = ImageTagMutability(rawValue: "MUTABLE")
    /// A pushed tag can never point at another image (`IMMUTABLE`).
    public static let immutable = ImageTagMutability(rawValue: "IMMUTABLE")
}

/// A repository's scan-on-push setting (`ImageScanningConfiguration`).
public struct ImageScanningConfiguration: Sendable, Hashable, Codable {
    /// Scan every image for vulnerabilities when it is pushed.
    public var scanOnPush: Bool

    /// Makes the setting.
    public init(scanOnPush: Bool) { self.scanOnPush = scanOnPush }
}

/// A resource tag (`Tag`: `Key`, `Value`).
public struct Tag: Sendable, Hashable, Codable {
    /// The key.
    public var key: String
    /// The value.
    public var value: String

    /// Makes a tag.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    enum CodingKeys: String, CodingKey {
        case key = "Key", value = "Value"
    }
}

/// An ECR repository (`Repository`).
public struct Repository: Sendable, Equatable, Decodable {
    /// Its ARN.
    public var repositoryArn: String?
    /// The account that owns it.
    public var registryId: String?
    /// Its name (`stats`, `team/stats`).
    public var repositoryName: String
    /// What `docker push` and OCI image names use (`123456789012.dkr.ecr.us-east-1.amazonaws.com/stats`).
    public var repositoryUri: String?
    /// When it was created.
    public var createdAt: Date?
    /// Whether tags can move.
    public var imageTagMutability: ImageTagMutability?
    /// Whether pushes are scanned.
    public var imageScanningConfiguration: ImageScanningConfiguration?

    enum CodingKeys: String, CodingKey {
        case repositoryArn, registryId, repositoryName, repositoryUri, createdAt, imageTagMutability
        case imageScanningConfiguration
    }

    /// Decodes the JSON 1.1 shape (timestamps are seconds since 1970).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        repositoryArn = try container.decodeIfPresent(String.self, forKey: .repositoryArn)
        registryId = try container.decodeIfPresent(String.self, forKey: .registryId)
        repositoryName = try container.decode(String.self, forKey: .repositoryName)
        repositoryUri = try container.decodeIfPresent(String.self, forKey: .repositoryUri)
        createdAt = try container.decodeTimestamp(forKey: .createdAt)
        imageTagMutability = try container.decodeIfPresent(ImageTagMutability.self, forKey: .imageTagMutability)
        imageScanningConfiguration = try container.decodeIfPresent(ImageScanningConfiguration.self,
                                                                   forKey: .imageScanningConfiguration)
    }
}

/// Names an image in a repository by digest, tag, or both (`ImageIdentifier`).
public struct ImageIdentifier: Sendable, Hashable, Codable {
    /// `sha256:…` of the manifest.
    public var imageDigest: String?
    /// A tag.
    public var imageTag: String?

    /// Makes an identifier.
    public init(imageDigest: String? = nil, imageTag: String? = nil) {
        self.imageDigest = imageDigest
        self.imageTag = imageTag
    }

    /// The image with this tag.
    public static func tag(_ tag: String) -> ImageIdentifier { ImageIdentifier(imageTag: tag) }
    /// The image with this manifest digest.
    public static func digest(_ digest: String) -> ImageIdentifier { ImageIdentifier(imageDigest: digest) }
}

/// An image in a repository (`ImageDetail`).
public struct ImageDetail: Sendable, Equatable, Decodable {
    /// The account that owns the repository.
    public var registryId: String?
    /// The repository.
    public var repositoryName: String?
    /// `sha256:…` of the manifest.
    public var imageDigest: String?
    /// The tags pointing at it.
    public var imageTags: [String]
    /// The compressed size of its layers.
    public var imageSizeInBytes: Int64?
    /// When it was pushed.
    public var imagePushedAt: Date?
    /// The manifest's media type.
    public var imageManifestMediaType: String?
    /// The artifact (config) media type.
    public var artifactMediaType: String?

    enum CodingKeys: String, CodingKey {
        case registryId, repositoryName, imageDigest, imageTags, imageSizeInBytes, imagePushedAt
        case imageManifestMediaType, artifactMediaType
    }

    /// Decodes the JSON 1.1 shape (timestamps are seconds since 1970).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        registryId = try container.decodeIfPresent(String.self, forKey: .registryId)
        repositoryName = try container.decodeIfPresent(String.self, forKey: .repositoryName)
        imageDigest = try container.decodeIfPresent(String.self, forKey: .imageDigest)
        imageTags = try container.decodeIfPresent([String].self, forKey: .imageTags) ?? []
        imageSizeInBytes = try container.decodeIfPresent(Int64.self, forKey: .imageSizeInBytes)
        imagePushedAt = try container.decodeTimestamp(forKey: .imagePushedAt)
        imageManifestMediaType = try container.decodeIfPresent(String.self, forKey: .imageManifestMediaType)
        artifactMediaType = try container.decodeIfPresent(String.self, forKey: .artifactMediaType)
    }
}

extension KeyedDecodingContainer {
    /// A JSON 1.1 timestamp: seconds since 1970 as a number (ISO 8601 text is accepted too).
    func decodeTimestamp(forKey key: Key) throws -> Date? {
        if let seconds = try? decodeIfPresent(Double.self, forKey: key) {
            return Date(timeIntervalSince1970: seconds)
        }
        guard let text = try decodeIfPresent(String.self, forKey: key) else { return nil }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}

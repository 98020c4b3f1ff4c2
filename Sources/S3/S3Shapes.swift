import Foundation

/// An object tag (`Tag`: `Key`, `Value`), sent with `PutObject` in the `x-amz-tagging` header.
public struct Tag: Sendable, Hashable {
    /// The key.
    public var key: String
    /// The value.
    public var value: String

    /// Makes a tag.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// What `HeadObject` answers: the object's metadata, without its body.
public struct HeadObjectOutput: Sendable, Equatable {
    /// The size in bytes (`Content-Length`).
    public var contentLength: Int64?
    /// The `Content-Type` it was stored with.
    public var contentType: String?
    /// The entity tag (quoted, as S3 sends it).
    public var eTag: String?
    /// When it was stored (`Last-Modified`).
    public var lastModified: Date?
    /// User metadata (`x-amz-meta-*` headers, names lower-cased and without the prefix).
    public var metadata: [String: String]

    /// Makes an output (for fakes in tests of code above this module).
    public init(contentLength: Int64? = nil, contentType: String? = nil, eTag: String? = nil,
                lastModified: Date? = nil, metadata: [String: String] = [:]) {
        self.contentLength = contentLength
        self.contentType = contentType
        self.eTag = eTag
        self.lastModified = lastModified
        self.metadata = metadata
    }
}

/// What `GetObject` answers: the metadata and, unless the body was streamed to a file, the body.
public struct GetObjectOutput: Sendable, Equatable {
    /// The object's bytes; empty when they were written to a file.
    public var body: [UInt8]
    /// The object's metadata.
    public var head: HeadObjectOutput

    /// Makes an output (for fakes in tests of code above this module).
    public init(body: [UInt8], head: HeadObjectOutput) {
        self.body = body
        self.head = head
    }
}

/// One rule of a bucket's lifecycle configuration (`LifecycleRule`), reduced to what kiln uses: expire
/// the objects under a prefix a number of days after they were written (build logs, result records).
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleRule.html
public struct LifecycleRule: Sendable, Hashable {
    /// The rule's `ID` (unique within the bucket, at most 255 characters).
    public var id: String
    /// The key prefix it applies to (`Filter/Prefix`); empty for the whole bucket.
    public var prefix: String
    /// Days after creation when objects expire (`Expiration/Days`, at least 1).
    public var expirationDays: Int
    /// Whether the rule is `Enabled` (otherwise `Disabled`).
    public var enabled: Bool

    /// Makes a rule.
    public init(id: String, prefix: String, expirationDays: Int, enabled: Bool = true) {
        self.id = id
        self.prefix = prefix
        self.expirationDays = expirationDays
        self.enabled = enabled
    }
}

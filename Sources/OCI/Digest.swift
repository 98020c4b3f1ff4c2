import KilnCrypto

/// A content identifier, `algorithm:encoded` (OCI image-spec v1.1 descriptor.md, "Digests").
///
/// Only `sha256` is supported (the spec's only required algorithm); its encoded part is exactly 64
/// lowercase hex digits, as the spec's registered-algorithm pattern `/[a-f0-9]{64}/` requires.
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The algorithm, always `sha256`.
    public let algorithm: String
    /// The lowercase hex encoding of the hash.
    public let hex: String

    /// Parses and validates `sha256:<64 lowercase hex>`.
    /// - Throws: `OCIError` naming the rejected string.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "sha256", Self.isValidSHA256Hex(parts[1]) else {
            throw OCIError.invalidDigest(text)
        }
        algorithm = "sha256"
        hex = String(parts[1])
    }

    /// The OCI digest of a SHA-256 computed by KilnCrypto.
    public init(sha256 digest: KilnCrypto.Digest) {
        algorithm = "sha256"
        hex = digest.hex
    }

    /// The SHA-256 digest of `bytes`.
    public static func sha256(of bytes: [UInt8]) -> Digest {
        Digest(sha256: SHA256.hash(bytes))
    }

    /// `sha256:<hex>`, as the spec writes it.
    public var description: String { "\(algorithm):\(hex)" }

    /// The path of this blob inside an image layout: `blobs/sha256/<hex>` (image-layout.md, "Blobs").
    public var blobPath: String { "blobs/\(algorithm)/\(hex)" }

    /// Orders digests by their string form.
    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    /// Decodes the string form, validating it.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }

    /// Encodes the string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private static func isValidSHA256Hex(_ s: Substring) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

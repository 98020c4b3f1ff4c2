/// A message digest (for SHA-256, 32 bytes).
public struct Digest: Hashable, Sendable, CustomStringConvertible {
    /// The raw digest bytes.
    public let bytes: [UInt8]

    /// Wraps digest bytes computed elsewhere (for comparison with a computed digest).
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The digest as lowercase hexadecimal, as `sha256sum` prints it.
    public var hex: String { bytes.hexString }

    /// Same as `hex`.
    public var description: String { hex }
}

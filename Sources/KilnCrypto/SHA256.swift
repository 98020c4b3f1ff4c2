#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import COpenSSL

/// Owns one EVP_MD_CTX set up for SHA-256; freed in deinit.
///
/// Mutated only through a `SHA256` value that holds the sole reference (copy on write), so sharing it
/// between copies on different threads only ever reads it.
private final class SHA256Context: @unchecked Sendable {
    let ctx: OpaquePointer

    init() {
        guard let ctx = EVP_MD_CTX_new() else {
            preconditionFailure("EVP_MD_CTX_new failed: \(openSSLErrorMessage()); libcrypto is out of memory")
        }
        self.ctx = ctx
        reset()
    }

    init(copying other: SHA256Context) {
        guard let ctx = EVP_MD_CTX_new() else {
            preconditionFailure("EVP_MD_CTX_new failed: \(openSSLErrorMessage()); libcrypto is out of memory")
        }
        self.ctx = ctx
        opensslInvariant(EVP_MD_CTX_copy_ex(ctx, other.ctx) == 1, "EVP_MD_CTX_copy_ex")
    }

    func reset() {
        opensslInvariant(EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1, "EVP_DigestInit_ex")
    }

    deinit { EVP_MD_CTX_free(ctx) }
}

/// Incremental SHA-256 (FIPS 180-4) over OpenSSL's EVP digest API.
///
/// A value type: copying a half-fed hasher forks it, so both copies can be continued independently.
public struct SHA256: Sendable {
    private var context = SHA256Context()

    /// A hasher that has seen no bytes yet.
    public init() {}

    private mutating func uniqueContext() -> SHA256Context {
        if !isKnownUniquelyReferenced(&context) {
            context = SHA256Context(copying: context)
        }
        return context
    }

    /// Feeds bytes to the hash.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let ctx = uniqueContext().ctx
        opensslInvariant(EVP_DigestUpdate(ctx, base, bytes.count) == 1, "EVP_DigestUpdate")
    }

    /// Feeds bytes to the hash.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Feeds the string's UTF-8 encoding to the hash.
    public mutating func update(_ string: String) {
        var string = string
        string.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// Returns the digest of everything fed so far and resets the hasher to its initial, empty state.
    public mutating func finalize() -> Digest {
        let context = uniqueContext()
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        opensslInvariant(EVP_DigestFinal_ex(context.ctx, &out, &length) == 1, "EVP_DigestFinal_ex")
        context.reset()
        return Digest(bytes: Array(out.prefix(Int(length))))
    }

    /// The SHA-256 digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> Digest {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The SHA-256 digest of the string's UTF-8 encoding.
    public static func hash(_ string: String) -> Digest {
        var hasher = SHA256()
        hasher.update(string)
        return hasher.finalize()
    }

    /// The size of the chunks `hash(fileAt:)` reads.
    public static let fileChunkSize = 1 << 20

    /// The SHA-256 digest of a file's contents, read in 1 MiB chunks so memory stays flat.
    /// - Throws: `KilnCryptoError` if the file cannot be opened or read.
    public static func hash(fileAt path: String) throws -> Digest {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KilnCryptoError.openFile(path, errno: errno) }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: fileChunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw KilnCryptoError.readFile(path, errno: errno)
            }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hasher.finalize()
    }
}

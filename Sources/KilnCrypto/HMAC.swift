internal import COpenSSL

/// Owns one EVP_MAC_CTX keyed for HMAC-SHA-256; freed in deinit.
///
/// Mutated only through an `HMACSHA256` value that holds the sole reference (copy on write).
private final class HMACContext: @unchecked Sendable {
    let ctx: OpaquePointer

    init(key: UnsafeRawBufferPointer) {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else {
            preconditionFailure("EVP_MAC_fetch(HMAC) failed: \(openSSLErrorMessage()); libcrypto's default provider is missing")
        }
        defer { EVP_MAC_free(mac) }
        guard let ctx = EVP_MAC_CTX_new(mac) else {
            preconditionFailure("EVP_MAC_CTX_new failed: \(openSSLErrorMessage()); libcrypto is out of memory")
        }
        self.ctx = ctx
        // An empty key is valid HMAC; give OpenSSL a non-null pointer for it.
        var empty: UInt8 = 0
        let ok = withUnsafeMutablePointer(to: &empty) { emptyPointer in
            let base = key.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(emptyPointer)
            return kiln_hmac_sha256_init(ctx, base, key.count)
        }
        opensslInvariant(ok == 1, "EVP_MAC_init")
    }

    init(copying other: HMACContext) {
        guard let ctx = EVP_MAC_CTX_dup(other.ctx) else {
            preconditionFailure("EVP_MAC_CTX_dup failed: \(openSSLErrorMessage()); libcrypto is out of memory")
        }
        self.ctx = ctx
    }

    /// Back to the keyed initial state (EVP_MAC_init with a NULL key keeps the key).
    func reset() {
        opensslInvariant(EVP_MAC_init(ctx, nil, 0, nil) == 1, "EVP_MAC_init")
    }

    deinit { EVP_MAC_CTX_free(ctx) }
}

/// Incremental HMAC-SHA-256 (RFC 2104, FIPS 198-1) over OpenSSL 3's EVP_MAC API.
///
/// A value type: copying a half-fed MAC forks it.
public struct HMACSHA256: Sendable {
    private var context: HMACContext

    /// A MAC keyed with `key`, having seen no message bytes yet.
    public init(key: [UInt8]) {
        context = key.withUnsafeBytes { HMACContext(key: $0) }
    }

    private mutating func uniqueContext() -> HMACContext {
        if !isKnownUniquelyReferenced(&context) {
            context = HMACContext(copying: context)
        }
        return context
    }

    /// Feeds message bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let ctx = uniqueContext().ctx
        opensslInvariant(EVP_MAC_update(ctx, base.assumingMemoryBound(to: UInt8.self), bytes.count) == 1, "EVP_MAC_update")
    }

    /// Feeds message bytes.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Feeds the string's UTF-8 encoding.
    public mutating func update(_ string: String) {
        var string = string
        string.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// Returns the 32-byte MAC of everything fed so far and resets to the keyed initial state.
    public mutating func finalize() -> [UInt8] {
        let context = uniqueContext()
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length = 0
        opensslInvariant(EVP_MAC_final(context.ctx, &out, &length, out.count) == 1, "EVP_MAC_final")
        context.reset()
        return Array(out.prefix(length))
    }
}

/// One-shot HMAC helpers.
public enum HMAC {
    /// HMAC-SHA-256 of `message` under `key` (32 bytes).
    public static func sha256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var mac = HMACSHA256(key: key)
        mac.update(message)
        return mac.finalize()
    }

    /// HMAC-SHA-256 of the UTF-8 encoding of `message` under `key` (32 bytes).
    public static func sha256(key: [UInt8], message: String) -> [UInt8] {
        var mac = HMACSHA256(key: key)
        mac.update(message)
        return mac.finalize()
    }
}

/// Percent-encoding exactly as SigV4 defines its `UriEncode` function: the RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - _ . ~`) stay as they are, every other byte of the UTF-8 encoding becomes `%XX` with
/// uppercase hex, and `/` is kept only when `encodeSlash` is false.
///
/// Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
/// (and the S3 variant, https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
/// Other modules build query strings and S3 object keys with it, so what they send is already in the
/// canonical form the signer computes.
public enum URIEncoding {
    /// `s` percent-encoded per RFC 3986; `/` is encoded as `%2F` only when `encodeSlash` is true
    /// (query names and values: true; S3 keys in a path: false).
    public static func encode(_ s: String, encodeSlash: Bool) -> String {
        encode(bytes: s.utf8, encodeSlash: encodeSlash)
    }

    /// Percent-encodes raw bytes (which need not be valid UTF-8, e.g. after decoding `%FF`).
    static func encode(bytes: some Sequence<UInt8>, encodeSlash: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 3)
        for byte in bytes {
            if isUnreserved(byte) || (byte == UInt8(ascii: "/") && !encodeSlash) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-decodes `s` to bytes (RFC 3986 section 2.1; `+` is a literal plus, not a space).
    /// A `%` not followed by two hex digits is kept literally, so decoding never fails.
    static func decode(_ s: Substring) -> [UInt8] {
        let utf8 = Array(s.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), index + 2 < utf8.count,
               let high = hexValue(utf8[index + 1]), let low = hexValue(utf8[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }

    /// Whether `byte` is an RFC 3986 unreserved character.
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

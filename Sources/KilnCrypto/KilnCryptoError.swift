#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import COpenSSL

/// The one error type of KilnCrypto: what failed, the library's own message, and what to do.
public struct KilnCryptoError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        case openFile(path: String, errno: Int32)
        case readFile(path: String, errno: Int32)
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    static func openFile(_ path: String, errno: Int32) -> KilnCryptoError { .init(.openFile(path: path, errno: errno)) }
    static func readFile(_ path: String, errno: Int32) -> KilnCryptoError { .init(.readFile(path: path, errno: errno)) }

    /// A sentence for people: the failing call, the system's message, and what to do.
    public var description: String {
        switch code {
        case let .openFile(path, err):
            return "open(\"\(path)\") failed: \(systemMessage(err)); check that the file exists and is readable"
        case let .readFile(path, err):
            return "read(\"\(path)\") failed: \(systemMessage(err)); check the file and the disk it lives on"
        }
    }
}

/// strerror(3) for an errno value.
func systemMessage(_ err: Int32) -> String {
    String(cString: strerror(err))
}

/// Stops the process for a failure OpenSSL reports only when it is out of memory or misconfigured
/// (EVP_*_new / init on a built-in algorithm), naming the call and carrying ERR_error_string_n's text.
/// These are not input errors, and the hashing API is deliberately non-throwing.
func opensslInvariant(_ ok: Bool, _ function: StaticString) {
    if !ok {
        preconditionFailure("\(function) failed: \(openSSLErrorMessage()); libcrypto is out of memory or misconfigured")
    }
}

/// Drains OpenSSL's thread-local error queue into one line, using ERR_error_string_n.
func openSSLErrorMessage() -> String {
    var messages: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return messages.isEmpty ? "no OpenSSL error recorded" : messages.joined(separator: "; ")
}

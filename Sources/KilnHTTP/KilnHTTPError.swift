#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import CCurl

/// The one error type of KilnHTTP: what failed (naming the request's method and host, never its query
/// string, which may carry a signature), curl's or the system's own message, and what to do.
///
/// A response with any HTTP status is not an error at this layer; only transport failures are.
public struct KilnHTTPError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        /// A libcurl call failed; `message` is curl_easy_strerror, `detail` the CURLOPT_ERRORBUFFER text.
        case curl(function: String, code: UInt32, message: String, detail: String, request: String)
        /// A system call on a body file failed.
        case file(function: String, errno: Int32, path: String, request: String)
        /// The request cannot be sent as given.
        case invalidRequest(String)
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    static func curl(_ function: String, _ result: CURLcode, detail: String, request: String) -> KilnHTTPError {
        .init(.curl(function: function, code: result.rawValue, message: String(cString: curl_easy_strerror(result)),
                    detail: detail, request: request))
    }

    static func file(_ function: String, errno: Int32, path: String, request: String) -> KilnHTTPError {
        .init(.file(function: function, errno: errno, path: path, request: request))
    }

    static func invalidRequest(_ text: String) -> KilnHTTPError { .init(.invalidRequest(text)) }

    /// True when the transfer timed out (connect timeout, total timeout, or too slow for too long).
    public var isTimeout: Bool {
        if case let .curl(_, code, _, _, _) = code { return code == CURLE_OPERATION_TIMEDOUT.rawValue }
        return false
    }

    /// True for transport failures that sending the same request again may fix: name resolution,
    /// connection refused or reset, timeouts, an empty reply, or a broken transfer.
    public var isRetryable: Bool {
        guard case let .curl(_, code, _, _, _) = code else { return false }
        let retryable: [CURLcode] = [
            CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT,
            CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
            CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_SSL_CONNECT_ERROR,
        ]
        return retryable.contains { $0.rawValue == code }
    }

    /// True when libcurl wanted to resend a request's body by itself (a reused connection had died) and
    /// the request forbade it (`HTTPRequest.allowsTransparentResend` false): nothing was answered, and the
    /// caller may start over in its own way.
    public var isResendRefused: Bool {
        if case let .curl(_, code, _, _, _) = code { return code == CURLE_SEND_FAIL_REWIND.rawValue }
        return false
    }

    /// A sentence for people: what failed, the library's own message, and what to do.
    public var description: String {
        switch code {
        case let .curl(function, code, message, detail, request):
            var text = "\(request): \(function) failed: \(message)"
            if !detail.isEmpty && detail != message { text += " (\(detail))" }
            return text + "; " + Self.hint(for: code)
        case let .file(function, err, path, request):
            return "\(request): \(function)(\"\(path)\") failed: \(String(cString: strerror(err))); "
                + "check the path, its permissions and free disk space"
        case let .invalidRequest(text):
            return "invalid HTTP request: \(text)"
        }
    }

    private static func hint(for code: UInt32) -> String {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST.rawValue, CURLE_COULDNT_RESOLVE_PROXY.rawValue:
            return "check the host name, DNS and any proxy settings (https_proxy, no_proxy)"
        case CURLE_COULDNT_CONNECT.rawValue:
            return "check that the server is up and reachable from here (firewall, proxy, port)"
        case CURLE_OPERATION_TIMEDOUT.rawValue:
            return "the server or network is too slow; retry, or raise the timeouts in HTTPClient.Options"
        case CURLE_PEER_FAILED_VERIFICATION.rawValue, CURLE_SSL_CACERT_BADFILE.rawValue,
             CURLE_SSL_CONNECT_ERROR.rawValue, CURLE_SSL_CERTPROBLEM.rawValue:
            return "TLS verification failed; if a proxy or private CA is in the way, point AWS_CA_BUNDLE or "
                + "SSL_CERT_FILE at its CA certificates (verification is never turned off)"
        case CURLE_UNSUPPORTED_PROTOCOL.rawValue, CURLE_URL_MALFORMAT.rawValue:
            return "use an http:// or https:// URL"
        default:
            return "retry; if it keeps failing, check the network and the server"
        }
    }
}

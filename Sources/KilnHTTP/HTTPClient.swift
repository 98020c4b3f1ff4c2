#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import CCurl

/// A blocking HTTP/1.1 and HTTP/2 client over one libcurl easy handle, so consecutive requests to the same
/// host reuse the connection (and TLS session).
///
/// Thread safety: the client is `Sendable`; requests from several threads or tasks are serialised by a
/// lock, one at a time. Use several clients for parallel transfers. `send` blocks the calling thread for
/// the whole transfer.
///
/// Always on: TLS peer and host verification, http/https only, no redirects followed (callers decide, e.g.
/// a registry blob redirect must not carry the Authorization header), CURLOPT_NOSIGNAL. Proxies come from
/// libcurl's own handling of `http_proxy`, `https_proxy`, `all_proxy` and `no_proxy`.
public final class HTTPClient: @unchecked Sendable {
    /// Transfer settings fixed for the life of a client.
    public struct Options: Sendable {
        /// How long connecting (including the TLS handshake) may take.
        public var connectTimeout: Duration
        /// Together with `lowSpeedTime`: abort when fewer than this many bytes per second move for that long.
        public var lowSpeedLimit: Int
        /// See `lowSpeedLimit`; whole seconds, rounded up.
        public var lowSpeedTime: Duration
        /// A limit on the whole transfer, or nil for none (large uploads rely on the low-speed limit instead).
        public var timeout: Duration?
        /// A PEM file of CA certificates to verify servers with, instead of the system's.
        public var caBundle: String?
        /// Log the transfer (curl's notes and both header blocks, never bodies) with credentials and query
        /// strings redacted.
        public var verbose: Bool
        /// Where verbose lines go, one call per line; standard error when nil.
        public var logSink: (@Sendable (String) -> Void)?
        /// The User-Agent header sent unless a request sets its own.
        public var userAgent: String
        /// Called during transfers with (sentBytes, totalSend, receivedBytes, totalReceive); totals are 0
        /// while unknown. Runs on the sending thread; keep it quick.
        public var progress: (@Sendable (Int64, Int64, Int64, Int64) -> Void)?

        /// Options with defaults suitable for AWS and registry traffic. `caBundle`, when nil, is taken
        /// from `environment["AWS_CA_BUNDLE"]`, then `environment["SSL_CERT_FILE"]`.
        public init(connectTimeout: Duration = .seconds(10),
                    lowSpeedLimit: Int = 1,
                    lowSpeedTime: Duration = .seconds(60),
                    timeout: Duration? = nil,
                    caBundle: String? = nil,
                    environment: [String: String] = [:],
                    verbose: Bool = false,
                    logSink: (@Sendable (String) -> Void)? = nil,
                    userAgent: String = "kiln",
                    progress: (@Sendable (Int64, Int64, Int64, Int64) -> Void)? = nil) {
            self.connectTimeout = connectTimeout
            self.lowSpeedLimit = lowSpeedLimit
            self.lowSpeedTime = lowSpeedTime
            self.timeout = timeout
            self.caBundle = caBundle
                ?? [environment["AWS_CA_BUNDLE"], environment["SSL_CERT_FILE"]].compactMap { $0 }.first { !$0.isEmpty }
            self.verbose = verbose
            self.logSink = logSink
            self.userAgent = userAgent
            self.progress = progress
        }
    }

    /// The options this client was made with.
    public let options: Options

    private let easy: CurlEasy
    private let lock = Lock()

    /// Makes a client; throws if libcurl cannot be initialised.
    public init(options: Options = Options()) throws {
        self.options = options
        easy = try CurlEasy()
    }

    /// Sends `request` and returns the response with its body in memory.
    /// - Throws: `KilnHTTPError` for transport failures; any HTTP status is a response, not an error.
    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        try lock.withLock { try perform(request, bodyPath: nil) }
    }

    /// Sends `request` and streams a 2xx response's body to the file at `path` (created or truncated),
    /// returning the response with an empty `body`. For any other status, or when the transfer fails, the
    /// file is removed and the (error) body is returned in memory, capped at 1 MiB.
    public func send(_ request: HTTPRequest, bodyTo path: String) throws -> HTTPResponse {
        try lock.withLock { try perform(request, bodyPath: path) }
    }

    private func perform(_ request: HTTPRequest, bodyPath: String?) throws -> HTTPResponse {
        let target = request.redactedDescription
        let parts = URLParts(request.url)
        guard parts.scheme == "http" || parts.scheme == "https", !parts.hostAndPort.isEmpty else {
            throw KilnHTTPError.invalidRequest("\(target): the URL must be absolute http:// or https://")
        }
        try validate(request, target: target)

        let transfer = Transfer(target: target, progress: options.progress, logSink: options.logSink, query: parts.query)
        transfer.refusesRewind = !request.allowsTransparentResend
        var keepDownload = false
        defer {
            if !keepDownload { transfer.discardDownload() }
            transfer.closeFiles()
        }
        var uploadSize: Int64 = 0
        switch request.body {
        case .none:
            break
        case let .bytes(bytes):
            transfer.uploadBytes = bytes
            uploadSize = Int64(bytes.count)
        case let .file(path):
            uploadSize = try transfer.openUpload(path, range: request.bodyFileRange)
        }
        if let bodyPath { try transfer.openDownload(bodyPath) }

        var lines: [String] = []
        let names = Set(request.headers.map { $0.0.lowercased() })
        for (name, value) in request.headers {
            // curl sends "Name;" as a header with an empty value; "Name:" would remove the header.
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        if !names.contains("expect") { lines.append("Expect:") }  // no 100-continue round trip
        let headerList = try CurlHeaderList(lines)

        let h = easy.handle
        curl_easy_reset(h)  // keeps the connection cache, TLS sessions and DNS cache
        easy.clearError()
        let client = Unmanaged.passUnretained(transfer).toOpaque()
        var setup: [(String, CURLcode)] = [
            ("CURLOPT_URL", kiln_curl_setopt_string(h, CURLOPT_URL, request.url)),
            ("CURLOPT_ERRORBUFFER", kiln_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, easy.errorBuffer)),
            ("CURLOPT_NOSIGNAL", kiln_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)),
            ("CURLOPT_PROTOCOLS_STR", kiln_curl_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https")),
            ("CURLOPT_FOLLOWLOCATION", kiln_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)),
            ("CURLOPT_SSL_VERIFYPEER", kiln_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)),
            ("CURLOPT_SSL_VERIFYHOST", kiln_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)),
            ("CURLOPT_TCP_KEEPALIVE", kiln_curl_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)),
            ("CURLOPT_CONNECTTIMEOUT_MS", kiln_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(options.connectTimeout))),
            ("CURLOPT_LOW_SPEED_LIMIT", kiln_curl_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, options.lowSpeedLimit)),
            ("CURLOPT_LOW_SPEED_TIME", kiln_curl_setopt_long(h, CURLOPT_LOW_SPEED_TIME, wholeSeconds(options.lowSpeedTime))),
            ("CURLOPT_TIMEOUT_MS", kiln_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, options.timeout.map(milliseconds) ?? 0)),
            ("CURLOPT_USERAGENT", kiln_curl_setopt_string(h, CURLOPT_USERAGENT, options.userAgent)),
            ("CURLOPT_HTTPHEADER", kiln_curl_setopt_slist(h, CURLOPT_HTTPHEADER, headerList.list)),
            ("CURLOPT_HEADERFUNCTION", kiln_curl_setopt_write_callback(h, CURLOPT_HEADERFUNCTION, headerCallback)),
            ("CURLOPT_HEADERDATA", kiln_curl_setopt_pointer(h, CURLOPT_HEADERDATA, client)),
            ("CURLOPT_WRITEFUNCTION", kiln_curl_setopt_write_callback(h, CURLOPT_WRITEFUNCTION, writeCallback)),
            ("CURLOPT_WRITEDATA", kiln_curl_setopt_pointer(h, CURLOPT_WRITEDATA, client)),
        ]
        if let caBundle = options.caBundle {
            setup.append(("CURLOPT_CAINFO", kiln_curl_setopt_string(h, CURLOPT_CAINFO, caBundle)))
        }
        if options.progress != nil {
            setup.append(("CURLOPT_XFERINFOFUNCTION", kiln_curl_setopt_xferinfo_callback(h, CURLOPT_XFERINFOFUNCTION, progressCallback)))
            setup.append(("CURLOPT_XFERINFODATA", kiln_curl_setopt_pointer(h, CURLOPT_XFERINFODATA, client)))
            setup.append(("CURLOPT_NOPROGRESS", kiln_curl_setopt_long(h, CURLOPT_NOPROGRESS, 0)))
        }
        if options.verbose {
            setup.append(("CURLOPT_DEBUGFUNCTION", kiln_curl_setopt_debug_callback(h, CURLOPT_DEBUGFUNCTION, debugCallback)))
            setup.append(("CURLOPT_DEBUGDATA", kiln_curl_setopt_pointer(h, CURLOPT_DEBUGDATA, client)))
            setup.append(("CURLOPT_VERBOSE", kiln_curl_setopt_long(h, CURLOPT_VERBOSE, 1)))
        }

        let method = request.method
        let hasBody: Bool = if case .none = request.body { false } else { true }
        if method == "HEAD" {
            setup.append(("CURLOPT_NOBODY", kiln_curl_setopt_long(h, CURLOPT_NOBODY, 1)))
        } else if hasBody || ["POST", "PUT", "PATCH"].contains(method) {
            // An upload with a known size: Content-Length, streamed through the read callback.
            setup.append(("CURLOPT_UPLOAD", kiln_curl_setopt_long(h, CURLOPT_UPLOAD, 1)))
            setup.append(("CURLOPT_INFILESIZE_LARGE", kiln_curl_setopt_off_t(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(uploadSize))))
            setup.append(("CURLOPT_READFUNCTION", kiln_curl_setopt_read_callback(h, CURLOPT_READFUNCTION, readCallback)))
            setup.append(("CURLOPT_READDATA", kiln_curl_setopt_pointer(h, CURLOPT_READDATA, client)))
            setup.append(("CURLOPT_SEEKFUNCTION", kiln_curl_setopt_seek_callback(h, CURLOPT_SEEKFUNCTION, seekCallback)))
            setup.append(("CURLOPT_SEEKDATA", kiln_curl_setopt_pointer(h, CURLOPT_SEEKDATA, client)))
            if method != "PUT" {
                setup.append(("CURLOPT_CUSTOMREQUEST", kiln_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)))
            }
        } else if method == "GET" {
            setup.append(("CURLOPT_HTTPGET", kiln_curl_setopt_long(h, CURLOPT_HTTPGET, 1)))
        } else {
            setup.append(("CURLOPT_CUSTOMREQUEST", kiln_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)))
        }
        if let failed = setup.first(where: { $0.1 != CURLE_OK }) {
            throw KilnHTTPError.curl("curl_easy_setopt(\(failed.0))", failed.1, detail: easy.errorText, request: target)
        }

        let result = withExtendedLifetime((transfer, headerList)) { curl_easy_perform(h) }

        if let callbackError = transfer.callbackError {
            throw callbackError
        }
        guard result == CURLE_OK else {
            throw KilnHTTPError.curl("curl_easy_perform", result, detail: transfer.redact(easy.errorText), request: target)
        }
        var status = 0
        let info = kiln_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        guard info == CURLE_OK else {
            throw KilnHTTPError.curl("curl_easy_getinfo(CURLINFO_RESPONSE_CODE)", info, detail: "", request: target)
        }
        keepDownload = (200..<300).contains(status)  // other statuses: error body in memory, no file
        return HTTPResponse(status: status, headers: transfer.headers, body: transfer.body)
    }

    private func validate(_ request: HTTPRequest, target: String) throws {
        func isToken(_ s: String) -> Bool {
            !s.isEmpty && s.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
                    || "!#$%&'*+-.^_`|~".utf8.contains(c)
            }
        }
        guard isToken(request.method) else {
            throw KilnHTTPError.invalidRequest("\(target): method \(String(reflecting: request.method)) is not an HTTP token")
        }
        if request.method == "HEAD" && request.body != .none {
            throw KilnHTTPError.invalidRequest("\(target): a HEAD request cannot have a body")
        }
        for (name, value) in request.headers {
            guard isToken(name) else {
                throw KilnHTTPError.invalidRequest("\(target): header name \(String(reflecting: name)) is not an HTTP token")
            }
            guard !value.utf8.contains(where: { $0 == 0x0d || $0 == 0x0a || $0 == 0 }) else {
                throw KilnHTTPError.invalidRequest("\(target): the value of header '\(name)' contains CR, LF or NUL")
            }
        }
    }
}

private func milliseconds(_ duration: Duration) -> Int {
    let (seconds, attoseconds) = duration.components
    return max(0, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
}

private func wholeSeconds(_ duration: Duration) -> Int {
    let (seconds, attoseconds) = duration.components
    return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
}

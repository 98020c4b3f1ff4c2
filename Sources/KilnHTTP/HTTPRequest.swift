/// The body of an HTTP request.
public enum HTTPBody: Sendable, Hashable {
    /// No body.
    case none
    /// A body held in memory.
    case bytes([UInt8])
    /// A body streamed from a file with a read callback, never loaded into memory. The file's size at
    /// send time becomes the Content-Length, so it must not change during the transfer.
    case file(path: String)
}

/// An HTTP request: method, absolute http(s) URL, header fields in order, body.
public struct HTTPRequest: Sendable {
    /// The method, e.g. "GET", "PUT", "HEAD".
    public var method: String
    /// The absolute URL, http:// or https://, with any query string already encoded.
    public var url: String
    /// Header fields sent in this order. An empty value sends the header with no value.
    /// Host, Content-Length and User-Agent are set by the client unless given here.
    public var headers: [(String, String)]
    /// The body.
    public var body: HTTPBody
    /// For a `.file` body: send only these bytes of the file (offsets from its start), e.g. one chunk of a
    /// registry blob upload, still streamed from the file. Nil sends the whole file. Ignored for other bodies.
    public var bodyFileRange: Range<Int64>?
    /// Whether libcurl may send the body again by itself. It does so when a reused connection turns out
    /// to have died before any answer arrived — harmless for idempotent requests, but a chunk of a
    /// registry upload session must never be replayed into the session. When false, such a transfer
    /// fails instead with an error whose `isResendRefused` is true, and the caller decides (e.g. a new
    /// upload session).
    public var allowsTransparentResend = true

    /// Makes a request.
    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: HTTPBody = .none,
                bodyFileRange: Range<Int64>? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.bodyFileRange = bodyFileRange
    }

    /// "METHOD scheme://host[:port]/path" without user info, query string or fragment: safe for messages,
    /// because presigned URLs carry their signature in the query.
    public var redactedDescription: String {
        "\(method) \(URLParts(url).redacted)"
    }
}

/// An HTTP response.
public struct HTTPResponse: Sendable {
    /// The status code of the final response (after any 1xx interim responses).
    public var status: Int
    /// The header fields of the final response, names as the server sent them, in order.
    public var headers: [(String, String)]
    /// The body, when it was received into memory; empty when it was streamed to a file.
    public var body: [UInt8]

    /// Makes a response (useful for fakes in tests of code above this module).
    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of the first header field named `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.0.lowercased() == lowered }?.1
    }

    /// True for 2xx statuses.
    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// The pieces of an absolute URL that messages may show, parsed without allocating C resources.
struct URLParts {
    var scheme = ""
    var hostAndPort = ""
    var path = ""
    var query = ""

    init(_ url: String) {
        var rest = Substring(url)
        if let range = rest.firstRange(of: "://") {
            scheme = rest[..<range.lowerBound].lowercased()
            rest = rest[range.upperBound...]
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        if let question = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: question)...])
            rest = rest[..<question]
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        hostAndPort = String(authority)
        path = String(rest[authorityEnd...])
    }

    /// scheme://host[:port]/path
    var redacted: String { "\(scheme)://\(hostAndPort)\(path)" }
}

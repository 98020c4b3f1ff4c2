/// An absolute URL split into the parts SigV4 needs, the way Python's `urllib.parse.urlsplit` splits it
/// (which is what botocore signs): `scheme://netloc/path?query#fragment`. Never fails: whatever does not
/// parse ends up in `path`.
///
/// Spec for the parts: RFC 3986 section 3, https://www.rfc-editor.org/rfc/rfc3986#section-3
struct SplitURL {
    /// The scheme as written (empty when there is none).
    var scheme: Substring = ""
    /// The authority (`user@host:port`), nil when the URL has no `//`.
    var netloc: Substring?
    /// The path as sent, still percent-encoded; may be empty.
    var path: Substring = ""
    /// The query without its `?`, nil when there is no `?`.
    var query: Substring?
    /// The fragment without its `#`, nil when there is no `#`.
    var fragment: Substring?

    init(_ url: String) {
        var rest = Substring(url)
        if let colon = rest.firstIndex(of: ":"), colon != rest.startIndex,
           let first = rest.first, first.isASCII, first.isLetter,
           rest[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) {
            scheme = rest[..<colon]
            rest = rest[rest.index(after: colon)...]
        }
        if rest.hasPrefix("//") {
            let afterSlashes = rest.index(rest.startIndex, offsetBy: 2)
            let end = rest[afterSlashes...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            netloc = rest[afterSlashes..<end]
            rest = rest[end...]
        }
        if let hash = rest.firstIndex(of: "#") {
            fragment = rest[rest.index(after: hash)...]
            rest = rest[..<hash]
        }
        if let question = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        path = rest
    }

    /// The value of the `Host` header an HTTP client sends for this URL, as botocore derives it:
    /// lowercase host without user info, IPv6 literals in brackets, and `:port` unless the port is the
    /// scheme's default (80 for http, 443 for https).
    var hostHeader: String {
        guard let netloc else { return "" }
        let hostinfo = netloc.lastIndex(of: "@").map { netloc[netloc.index(after: $0)...] } ?? netloc
        var host: Substring
        var port: Substring
        if let open = hostinfo.firstIndex(of: "[") {
            let bracketed = hostinfo[hostinfo.index(after: open)...]
            let close = bracketed.firstIndex(of: "]") ?? bracketed.endIndex
            host = "[" + bracketed[..<close] + "]"
            let afterHost = close == bracketed.endIndex ? bracketed[close...] : bracketed[bracketed.index(after: close)...]
            port = afterHost.firstIndex(of: ":").map { afterHost[afterHost.index(after: $0)...] } ?? ""
        } else if let colon = hostinfo.firstIndex(of: ":") {
            host = hostinfo[..<colon]
            port = hostinfo[hostinfo.index(after: colon)...]
        } else {
            host = hostinfo
            port = ""
        }
        let lowerHost = host.lowercased()
        guard !port.isEmpty else { return lowerHost }
        if port.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(port) {
            let defaultPort: Int? = switch scheme.lowercased() {
            case "http": 80
            case "https": 443
            default: nil
            }
            return number == defaultPort ? lowerHost : "\(lowerHost):\(number)"
        }
        return "\(lowerHost):\(port)"
    }
}

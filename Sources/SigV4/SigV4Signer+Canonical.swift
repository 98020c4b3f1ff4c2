/// The parts of the canonical request (stage 1), each as the spec defines it:
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html#create-canonical-request
/// and, for S3, https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
extension SigV4Signer {
    /// CanonicalURI for the path as sent (still percent-encoded).
    ///
    /// - Not S3: remove dot segments and collapse repeated slashes (botocore's `normalize_url_path`),
    ///   then URI-encode the result once more; since what is sent is already encoded, that is the
    ///   double encoding the spec asks of every service but S3 (`%20` on the wire becomes `%2520`; a raw
    ///   space, as in the AWS test suite, becomes `%20`).
    /// - S3: no normalization, and each segment is encoded exactly once: percent-decoded, then
    ///   URI-encoded (`%2F` inside a segment stays `%2F`). For a path built with `URIEncoding` this is
    ///   the path verbatim, as botocore signs it.
    /// - An empty path is `/`.
    func canonicalURI(path: Substring) -> String {
        if isS3 {
            if path.isEmpty { return "/" }
            return path.split(separator: "/", omittingEmptySubsequences: false)
                .map { URIEncoding.encode(bytes: URIEncoding.decode($0), encodeSlash: true) }
                .joined(separator: "/")
        }
        return URIEncoding.encode(Self.removeDotSegments(String(path)), encodeSlash: false)
    }

    /// RFC 3986 section 5.2.4 dot-segment removal as botocore implements it (`remove_dot_segments`):
    /// empty segments are dropped too, so `//a//` becomes `/a/`; a leading and a trailing `/` are kept.
    static func removeDotSegments(_ path: String) -> String {
        if path.isEmpty { return "/" }
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) where segment != "." {
            if segment == ".." {
                _ = output.popLast()
            } else {
                output.append(segment)
            }
        }
        let first = path.hasPrefix("/") ? "/" : ""
        let last = path.hasSuffix("/") && !output.isEmpty ? "/" : ""
        return first + output.joined(separator: "/") + last
    }

    /// CanonicalQueryString: each `name=value` pair percent-decoded and re-encoded per RFC 3986
    /// (`URIEncoding`, `/` encoded too), sorted by encoded name then encoded value; repeated and empty
    /// parameters are kept, and a parameter without `=` gets an empty value (`acl` → `acl=`).
    static func canonicalQueryString(_ query: Substring?) -> String {
        guard let query, !query.isEmpty else { return "" }
        let pairs = queryParameters(query, omittingEmpty: false).map {
            (URIEncoding.encode(bytes: $0.name, encodeSlash: true), URIEncoding.encode(bytes: $0.value, encodeSlash: true))
        }
        return pairs.sorted { a, b in
            a.0 == b.0 ? a.1.utf8.lexicographicallyPrecedes(b.1.utf8) : a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
        }
        .map { "\($0.0)=\($0.1)" }
        .joined(separator: "&")
    }

    /// The `&`-separated parameters of a query, percent-decoded; a parameter without `=` has an empty
    /// value. Empty pieces (`a=1&&b=2`) are kept as an empty name and value for the canonical query
    /// string, as botocore signs them, and dropped when a presigned URL is rebuilt, as Python's
    /// `parse_qs` drops them.
    static func queryParameters(_ query: Substring, omittingEmpty: Bool) -> [(name: [UInt8], value: [UInt8])] {
        query.split(separator: "&", omittingEmptySubsequences: omittingEmpty).map { piece in
            guard let equals = piece.firstIndex(of: "=") else { return (URIEncoding.decode(piece), []) }
            return (URIEncoding.decode(piece[..<equals]), URIEncoding.decode(piece[piece.index(after: equals)...]))
        }
    }

    /// CanonicalHeaders without the final newline: one `name:value` line per name in `names` (already
    /// lowercased and sorted), the values of repeated headers trimmed (`trimAll`) and joined with `,` in
    /// the order sent. `host` comes from the URL when no `Host` header is given.
    static func canonicalHeaders(_ headers: [(name: String, value: String)], url: SplitURL, names: [String]) -> String {
        var values: [String: [String]] = [:]
        for header in headers {
            values[header.name.lowercased(), default: []].append(trimAll(header.value))
        }
        return names.map { name in
            if let given = values[name] {
                return "\(name):\(given.joined(separator: ","))"
            }
            return name == "host" ? "host:\(url.hostHeader)" : "\(name):"
        }
        .joined(separator: "\n")
    }

    /// The spec's `Trimall`: leading and trailing whitespace removed and inner runs of whitespace
    /// replaced by one space. Whitespace is what Python's `str.split()` splits on (botocore's
    /// `' '.join(value.split())`): ASCII tab, newline, VT, FF, CR, 0x1C–0x1F, space, and the Unicode
    /// spaces and separators.
    static func trimAll(_ value: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in value.unicodeScalars {
            if isPythonWhitespace(scalar) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace {
                    out.append(" ")
                    pendingSpace = false
                }
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Whether Python's `str.isspace()` is true for `scalar`.
    private static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }
}

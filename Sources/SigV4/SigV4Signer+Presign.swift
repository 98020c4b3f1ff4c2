import Foundation

/// Query-string authentication: a URL that carries its own signature.
///
/// Spec: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html and
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html#add-signature-to-request
extension SigV4Signer {
    /// The longest validity AWS accepts for a presigned URL: 7 days.
    public static let maximumPresignExpiry = 604_800

    /// A presigned URL (query-string auth) valid for `expires` seconds (1...604800), e.g. for S3 GET/PUT.
    ///
    /// The URL's own parameters come first, re-encoded with `URIEncoding` in their order, then
    /// `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
    /// `X-Amz-Security-Token` (with a session token) and last `X-Amz-Signature`, as botocore's
    /// `SigV4QueryAuth` writes them; auth parameters already in the URL are replaced. `headers` are the
    /// headers the request will carry; all but botocore's blacklist are signed, with `host`, so the
    /// client must send them unchanged. The payload is `UNSIGNED-PAYLOAD` for S3 and the hash of an
    /// empty body otherwise, unless `headers` has `X-Amz-Content-Sha256`. `expires` outside 1...604800
    /// is clamped into that range (AWS rejects anything else).
    public func presignedURL(method: String, url: String, headers: [(name: String, value: String)] = [],
                             expires: Int, date: Date) -> String {
        let parts = SplitURL(url)
        let headers = headers.filter { $0.name.lowercased() != "authorization" }
        let token = credentials.sessionToken

        var replaced: Set<String> = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                                     "X-Amz-SignedHeaders", "X-Amz-Signature"]
        if token != nil { replaced.insert("X-Amz-Security-Token") }
        var query: [String] = []
        for parameter in Self.queryParameters(parts.query ?? "", omittingEmpty: true)
        where !replaced.contains(String(decoding: parameter.name, as: UTF8.self)) {
            query.append(URIEncoding.encode(bytes: parameter.name, encodeSlash: true) + "="
                         + URIEncoding.encode(bytes: parameter.value, encodeSlash: true))
        }

        let probe = SigningRequest(method: method, url: url, headers: headers, payloadHash: "")
        let names = headersToSign(probe)
        query.append("X-Amz-Algorithm=\(Self.algorithm)")
        query.append("X-Amz-Credential=" + URIEncoding.encode("\(credentials.accessKeyID)/\(credentialScope(date: date))",
                                                             encodeSlash: true))
        query.append("X-Amz-Date=\(SigningDate.timestamp(date))")
        query.append("X-Amz-Expires=\(min(max(expires, 1), Self.maximumPresignExpiry))")
        query.append("X-Amz-SignedHeaders=" + URIEncoding.encode(names.joined(separator: ";"), encodeSlash: true))
        if let token {
            query.append("X-Amz-Security-Token=" + URIEncoding.encode(token, encodeSlash: true))
        }

        // Reassemble as Python's urlunsplit does (scheme lowercased, the rest as given).
        var unsigned = ""
        if !parts.scheme.isEmpty { unsigned += parts.scheme.lowercased() + ":" }
        if let netloc = parts.netloc { unsigned += "//" + netloc }
        unsigned += parts.path + "?" + query.joined(separator: "&")

        let payloadHash = headers.first { $0.name.lowercased() == "x-amz-content-sha256" }?.value
            ?? (isS3 ? SigningRequest.unsignedPayload : SigningRequest.emptyPayloadHash)
        let request = SigningRequest(method: method, url: unsigned, headers: headers, payloadHash: payloadHash)
        let canonical = canonicalRequest(request, signedHeaders: names)
        let sts = stringToSign(canonicalRequest: canonical, date: date)
        let fragment = parts.fragment.map { $0.isEmpty ? "" : "#" + $0 } ?? ""
        return unsigned + "&X-Amz-Signature=" + signature(stringToSign: sts, date: date) + fragment
    }
}

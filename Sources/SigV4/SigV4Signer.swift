import Foundation
import KilnCrypto

/// Signs AWS requests with Signature Version 4, one function per stage of the spec:
/// 1. `canonicalRequest(_:signedHeaders:)`, 2. `stringToSign(canonicalRequest:date:)`,
/// 3. `signingKey(date:)`, 4. `signature(stringToSign:date:)`; then `signedHeaders(for:date:)` puts them
/// together into the headers to send and `presignedURL(…)` into a URL.
///
/// Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html,
/// for S3 https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html and
/// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html.
/// Where the spec leaves room, the output is byte for byte what botocore's `SigV4Auth`/`S3SigV4Auth`
/// produce. The clock is a parameter of every call, so tests are exact.
///
/// Every function is total: there is no input it rejects, so the module has no error type.
public struct SigV4Signer: Sendable {
    /// The credentials that sign; never printed (see `description`).
    let credentials: Credentials
    /// The region of the credential scope, e.g. `us-east-1`.
    public let region: String
    /// The signing name of the service in the credential scope, e.g. `ec2`, `ssm`, `s3`.
    public let service: String

    /// A signer for one service in one region.
    public init(credentials: Credentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// S3 rules: no double URI-encoding and no path normalization, and x-amz-content-sha256 is sent.
    public var isS3: Bool { service == "s3" }

    /// The algorithm name that starts the string to sign and the `Authorization` header.
    static let algorithm = "AWS4-HMAC-SHA256"

    // MARK: Stage 1 — canonical request
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html#create-canonical-request

    /// Stage 1: the canonical request for `request`, signing the headers named in `signedHeaders`
    /// (case-insensitive; `host` is derived from the URL when the request has no `Host` header).
    ///
    /// `Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n HashedPayload`.
    public func canonicalRequest(_ request: SigningRequest, signedHeaders: [String]) -> String {
        let url = SplitURL(request.url)
        let names = Self.sortedUnique(signedHeaders.map { $0.lowercased() })
        return [
            request.method.uppercased(),
            canonicalURI(path: url.path),
            Self.canonicalQueryString(url.query),
            Self.canonicalHeaders(request.headers, url: url, names: names) + "\n",
            names.joined(separator: ";"),
            request.payloadHash,
        ].joined(separator: "\n")
    }

    // MARK: Stage 2 — string to sign
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html#create-string-to-sign

    /// Stage 2: `AWS4-HMAC-SHA256 \n <X-Amz-Date> \n <credential scope> \n hex(SHA256(canonicalRequest))`.
    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        [
            Self.algorithm,
            SigningDate.timestamp(date),
            credentialScope(date: date),
            SHA256.hash(canonicalRequest).hex,
        ].joined(separator: "\n")
    }

    /// The credential scope, `YYYYMMDD/region/service/aws4_request`.
    public func credentialScope(date: Date) -> String {
        "\(SigningDate.day(date))/\(region)/\(service)/aws4_request"
    }

    // MARK: Stage 3 — signing key
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html#derive-signing-key

    /// Stage 3: the signing key, HMAC chained over date, region, service and `aws4_request`,
    /// starting from `"AWS4" + secret`. It is as sensitive as the secret itself.
    public func signingKey(date: Date) -> [UInt8] {
        let kDate = HMAC.sha256(key: Array("AWS4\(credentials.secretAccessKey)".utf8), message: SigningDate.day(date))
        let kRegion = HMAC.sha256(key: kDate, message: region)
        let kService = HMAC.sha256(key: kRegion, message: service)
        return HMAC.sha256(key: kService, message: "aws4_request")
    }

    // MARK: Stage 4 — signature
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html#calculate-signature

    /// Stage 4: lowercase hex HMAC-SHA256 of the string to sign under the signing key.
    public func signature(stringToSign: String, date: Date) -> String {
        HMAC.sha256(key: signingKey(date: date), message: stringToSign).hexString
    }

    // MARK: Putting it together — the Authorization header
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html#add-signature-to-request

    /// The headers to add to the request: X-Amz-Date, Authorization, X-Amz-Security-Token when there is a token, and X-Amz-Content-Sha256 for S3.
    ///
    /// Each replaces any header of the same name the request already has (those are ignored while
    /// signing, as botocore deletes them). X-Amz-Content-Sha256 (= `payloadHash`) is also added for a
    /// non-S3 request whose `payloadHash` is `UNSIGNED-PAYLOAD`, as botocore does. Signed are all headers
    /// of the request except botocore's blacklist (`headersToSign`), plus the ones added here.
    public func signedHeaders(for request: SigningRequest, date: Date) -> [(name: String, value: String)] {
        var added: [(name: String, value: String)] = [("X-Amz-Date", SigningDate.timestamp(date))]
        if let token = credentials.sessionToken {
            added.append(("X-Amz-Security-Token", token))
        }
        if isS3 || request.payloadHash == SigningRequest.unsignedPayload {
            added.append(("X-Amz-Content-Sha256", request.payloadHash))
        }
        let replaced = Set(added.map { $0.name.lowercased() } + ["authorization"])
        var toSign = request
        toSign.headers = request.headers.filter { !replaced.contains($0.name.lowercased()) } + added

        let names = headersToSign(toSign)
        let canonical = canonicalRequest(toSign, signedHeaders: names)
        let sts = stringToSign(canonicalRequest: canonical, date: date)
        let authorization = "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(credentialScope(date: date)), "
            + "SignedHeaders=\(names.joined(separator: ";")), Signature=\(signature(stringToSign: sts, date: date))"
        return added + [("Authorization", authorization)]
    }

    /// The lowercased, sorted names of the headers of `request` that get signed, by botocore's rule:
    /// every header except hop-by-hop and proxy-rewritten ones (`signedHeadersExcluded`), plus `host`.
    public func headersToSign(_ request: SigningRequest) -> [String] {
        let names = request.headers.map { $0.name.lowercased() }.filter { !Self.signedHeadersExcluded.contains($0) }
        return Self.sortedUnique(names + ["host"])
    }

    /// Headers never signed: botocore's `SIGNED_HEADERS_BLACKLIST` (auth.py) — hop-by-hop headers,
    /// `user-agent`, `expect`, `x-amzn-trace-id`, which proxies and clients may change — and
    /// `authorization`, which the signature itself replaces.
    static let signedHeadersExcluded: Set<String> = [
        "authorization",
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    /// `strings` without duplicates, sorted by code point (UTF-8 byte order), as Python's `sorted(set(…))`.
    static func sortedUnique(_ strings: [String]) -> [String] {
        Set(strings).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}

extension SigV4Signer: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Region, service and key ID only; never the secret or the token.
    public var description: String {
        "SigV4Signer(\(credentials.accessKeyID), region: \(region), service: \(service))"
    }

    /// Same as `description`, so `debugPrint` and string interpolation in logs cannot leak the secret.
    public var debugDescription: String { description }

    /// A mirror without the credentials, so `dump` and debuggers cannot print the secret either.
    public var customMirror: Mirror {
        Mirror(self, children: ["accessKeyID": credentials.accessKeyID, "region": region, "service": service],
               displayStyle: .struct)
    }
}

import Foundation
@testable import SigV4
import Testing

/// The building blocks of the canonical request, one table each.
/// Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
@Suite("Canonical forms")
struct CanonicalFormTests {
    static let credentials = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret")
    static let s3 = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
    static let ec2 = SigV4Signer(credentials: credentials, region: "us-east-1", service: "ec2")

    @Test("URIEncoding.encode", arguments: [
        ("", true, ""),
        ("AZaz09-_.~", true, "AZaz09-_.~"),
        ("a b", true, "a%20b"),
        ("a/b", true, "a%2Fb"),
        ("a/b", false, "a/b"),
        ("+*!'()=&%", true, "%2B%2A%21%27%28%29%3D%26%25"),
        ("ሴ", true, "%E1%88%B4"),
        ("😀", false, "%F0%9F%98%80"),
    ])
    func encode(_ input: String, _ encodeSlash: Bool, _ expected: String) {
        #expect(URIEncoding.encode(input, encodeSlash: encodeSlash) == expected)
    }

    @Test("X-Amz-Date and the scope date, in UTC", arguments: [
        (0.0, "19700101T000000Z", "19700101"),
        (1_440_938_160, "20150830T123600Z", "20150830"),
        (1_440_938_160.999, "20150830T123600Z", "20150830"),
        (951_782_400, "20000229T000000Z", "20000229"),
        (-1, "19691231T235959Z", "19691231"),
        (4_102_444_799, "20991231T235959Z", "20991231"),
    ])
    func dates(_ seconds: Double, _ timestamp: String, _ day: String) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(SigningDate.timestamp(date) == timestamp)
        #expect(SigningDate.day(date) == day)
    }

    @Test("Host derived from the URL", arguments: [
        ("https://ec2.us-east-1.amazonaws.com/", "ec2.us-east-1.amazonaws.com"),
        ("https://EC2.US-EAST-1.amazonaws.com", "ec2.us-east-1.amazonaws.com"),
        ("https://host:443/x", "host"),
        ("http://host:80", "host"),
        ("https://host:80/", "host:80"),
        ("http://localhost:5000/?a=b", "localhost:5000"),
        ("http://[::1]:4566/bucket", "[::1]:4566"),
        ("https://user:pw@host:8443#frag", "host:8443"),
    ])
    func host(_ url: String, _ expected: String) {
        #expect(SplitURL(url).hostHeader == expected)
    }

    @Test("canonical URI", arguments: [
        // (service, path as sent, canonical URI)
        ("ec2", "", "/"),
        ("ec2", "/", "/"),
        ("ec2", "//a//b/./c/../d/", "/a/b/d/"),
        ("ec2", "/a%20b", "/a%2520b"),            // what is sent is encoded once more
        ("ec2", "/a b", "/a%20b"),
        ("ec2", "/a$b", "/a%24b"),
        ("s3", "", "/"),
        ("s3", "/bucket/a%20b", "/bucket/a%20b"),  // encoded once, as sent
        ("s3", "/bucket/a b/ሴ", "/bucket/a%20b/%E1%88%B4"),
        ("s3", "/b//./../k", "/b//./../k"),        // no normalization
        ("s3", "/b/a%2Fb", "/b/a%2Fb"),            // an encoded slash stays inside its segment
        ("s3", "/b/test$file.text", "/b/test%24file.text"),
        ("s3", "/b/%7e%zz", "/b/~%25zz"),
    ])
    func canonicalURI(_ service: String, _ path: String, _ expected: String) {
        let signer = service == "s3" ? Self.s3 : Self.ec2
        #expect(signer.canonicalURI(path: Substring(path)) == expected)
    }

    @Test("canonical query string", arguments: [
        (nil, ""),
        ("", ""),
        ("acl", "acl="),
        ("b=2&a=1&a=0&c=", "a=0&a=1&b=2&c="),
        ("Param2=value2&Param1=value1", "Param1=value1&Param2=value2"),
        ("a=x%2fy&a=x/y", "a=x%2Fy&a=x%2Fy"),
        ("ሴ=bar&%E1%88%B4=baz", "%E1%88%B4=bar&%E1%88%B4=baz"),
        ("a=b+c&sp=%20", "a=b%2Bc&sp=%20"),
        ("Z=1&a=1&_=1&~=1", "Z=1&_=1&a=1&~=1"),
        ("a=1&&b=2", "=&a=1&b=2"),
    ] as [(String?, String)])
    func canonicalQuery(_ query: String?, _ expected: String) {
        #expect(SigV4Signer.canonicalQueryString(query.map { Substring($0) }) == expected)
    }

    @Test("Trimall", arguments: [
        ("value", "value"),
        ("  a   b \t c  ", "a b c"),
        ("value1\n  value2\n     value3", "value1 value2 value3"),
        ("\"a   b   c\"", "\"a b c\""),
        ("   ", ""),
        ("caf\u{E9}\u{2003}\u{A0}x", "caf\u{E9} x"),
    ])
    func trimAll(_ value: String, _ expected: String) {
        #expect(SigV4Signer.trimAll(value) == expected)
    }

    @Test("signed headers: all but the blacklist, plus host")
    func headerSelection() {
        let request = SigningRequest(method: "GET", url: "https://h/", headers: [
            ("User-Agent", "x"), ("Expect", "100-continue"), ("X-Amzn-Trace-Id", "t"), ("Authorization", "old"),
            ("Connection", "close"), ("Content-Type", "a"), ("X-Amz-Meta-A", "b"), ("content-type", "c"),
        ], payloadHash: SigningRequest.emptyPayloadHash)
        #expect(Self.ec2.headersToSign(request) == ["content-type", "host", "x-amz-meta-a"])
    }

    @Test("signedHeaders replaces stale auth headers and signs the new ones")
    func replacesStale() {
        let signer = SigV4Signer(credentials: Credentials(accessKeyID: "AKID", secretAccessKey: "s", sessionToken: "tok"),
                                 region: "eu-west-1", service: "s3")
        let request = SigningRequest(method: "put", url: "https://b.s3.eu-west-1.amazonaws.com/k",
                                     headers: [("x-amz-date", "old"), ("X-Amz-Security-Token", "old"),
                                               ("x-amz-content-sha256", "old"), ("authorization", "old")],
                                     payloadHash: SigningRequest.unsignedPayload)
        let added = signer.signedHeaders(for: request, date: Date(timeIntervalSince1970: 0))
        #expect(added.map(\.name) == ["X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256", "Authorization"])
        #expect(added[1].value == "tok")
        #expect(added[2].value == "UNSIGNED-PAYLOAD")
        let authorization = added[3].value
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKID/19700101/eu-west-1/s3/aws4_request, "
                                        + "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature="))
        #expect(!authorization.contains("old"))
    }

    @Test("a non-S3 request with UNSIGNED-PAYLOAD also sends X-Amz-Content-Sha256 (as botocore)")
    func unsignedNonS3() {
        let request = SigningRequest(method: "POST", url: "https://ssm.us-east-1.amazonaws.com/",
                                     payloadHash: SigningRequest.unsignedPayload)
        let added = Self.ec2.signedHeaders(for: request, date: Date(timeIntervalSince1970: 0))
        #expect(added.map(\.name) == ["X-Amz-Date", "X-Amz-Content-Sha256", "Authorization"])
    }
}

/// Presigned URLs (query-string auth): https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
@Suite("Presigned URLs")
struct PresignTests {
    static let date = Date(timeIntervalSince1970: 1_700_000_000)  // 2023-11-14T22:13:20Z
    static let signer = SigV4Signer(
        credentials: Credentials(accessKeyID: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "tok/en+=="),
        region: "eu-central-1", service: "s3")

    static func parameters(_ url: String) -> [(String, String)] {
        let query = url.split(separator: "?", maxSplits: 1).last ?? ""
        return query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
    }

    @Test("S3 GET and PUT: expiry, host-only signed headers, token, UNSIGNED-PAYLOAD", arguments: ["GET", "PUT"])
    func s3(_ method: String) {
        let base = "https://kiln.s3.eu-central-1.amazonaws.com/images/a%20b.tar"
        let url = Self.signer.presignedURL(method: method, url: base, expires: 900, date: Self.date)
        let parameters = Self.parameters(url)
        #expect(parameters.map(\.0) == ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                                        "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature"])
        let values = Dictionary(parameters, uniquingKeysWith: { a, _ in a })
        #expect(values["X-Amz-Credential"] == "ASIAEXAMPLE%2F20231114%2Feu-central-1%2Fs3%2Faws4_request")
        #expect(values["X-Amz-Date"] == "20231114T221320Z")
        #expect(values["X-Amz-Expires"] == "900")
        #expect(values["X-Amz-SignedHeaders"] == "host")
        #expect(values["X-Amz-Security-Token"] == "tok%2Fen%2B%3D%3D")
        #expect(url.hasPrefix(base + "?"))

        // The signature is over the URL without it, with UNSIGNED-PAYLOAD and only host signed.
        let unsigned = url.components(separatedBy: "&X-Amz-Signature=")[0]
        let canonical = Self.signer.canonicalRequest(
            SigningRequest(method: method, url: unsigned, payloadHash: "UNSIGNED-PAYLOAD"), signedHeaders: ["host"])
        #expect(canonical.hasSuffix("\nhost:kiln.s3.eu-central-1.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD"))
        let sts = Self.signer.stringToSign(canonicalRequest: canonical, date: Self.date)
        #expect(values["X-Amz-Signature"] == Self.signer.signature(stringToSign: sts, date: Self.date))
        // GET and PUT of the same object differ only in their signature.
        let other = Self.signer.presignedURL(method: method == "GET" ? "PUT" : "GET", url: base, expires: 900, date: Self.date)
        #expect(other != url && other.components(separatedBy: "&X-Amz-Signature=")[0] == unsigned)
    }

    @Test("expiry is clamped to 1...604800", arguments: [(0, "1"), (-5, "1"), (604_800, "604800"), (700_000, "604800")])
    func clamp(_ expires: Int, _ expected: String) {
        let url = Self.signer.presignedURL(method: "GET", url: "https://b.s3.amazonaws.com/k", expires: expires, date: Self.date)
        #expect(url.contains("&X-Amz-Expires=\(expected)&"))
    }

    @Test("the URL's own parameters come first, re-encoded; repeats kept; stale auth parameters replaced")
    func ownParameters() {
        let url = Self.signer.presignedURL(
            method: "PUT", url: "https://b.s3.amazonaws.com/k?uploadId=a%2fb&partNumber=1&tag=x&tag=y&X-Amz-Signature=old&acl",
            expires: 60, date: Self.date)
        #expect(url.hasPrefix("https://b.s3.amazonaws.com/k?uploadId=a%2Fb&partNumber=1&tag=x&tag=y&acl=&X-Amz-Algorithm="))
        #expect(!url.contains("old"))
    }
}

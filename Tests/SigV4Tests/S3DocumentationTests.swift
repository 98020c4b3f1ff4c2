import Foundation
import KilnCrypto
import SigV4
import Testing

/// The worked examples of the S3 documentation, transcribed from
/// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html ("Examples: Signature
/// Calculations": GET Object, PUT Object, GET Bucket Lifecycle, Get Bucket (List Objects)) and
/// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html ("An Example": a GET
/// of test.txt valid for 86400 seconds). They use the documentation's example key pair, bucket
/// `examplebucket` in us-east-1, and the time 2013-05-24T00:00:00Z.
@Suite("S3 documentation examples")
struct S3DocumentationTests {
    static let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
    static let signer = SigV4Signer(
        credentials: Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                 secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "s3")
    static let empty = SigningRequest.emptyPayloadHash

    struct Example: Sendable, CustomTestStringConvertible {
        let name: String
        let method: String
        let url: String
        let headers: [(String, String)]
        let body: String
        let signedHeaders: String
        let signature: String
        var testDescription: String { name }
    }

    static let examples: [Example] = [
        Example(name: "GET Object", method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt",
                headers: [("Range", "bytes=0-9")], body: "",
                signedHeaders: "host;range;x-amz-content-sha256;x-amz-date",
                signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
        // The key is `test$file.text`; the canonical URI encodes `$` once, whether the URL has it raw or encoded.
        Example(name: "PUT Object (raw key)", method: "PUT", url: "https://examplebucket.s3.amazonaws.com/test$file.text",
                headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                body: "Welcome to Amazon S3.",
                signedHeaders: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
        Example(name: "PUT Object (encoded key)", method: "PUT", url: "https://examplebucket.s3.amazonaws.com/test%24file.text",
                headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                body: "Welcome to Amazon S3.",
                signedHeaders: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
        Example(name: "GET Bucket Lifecycle", method: "GET", url: "https://examplebucket.s3.amazonaws.com/?lifecycle",
                headers: [], body: "", signedHeaders: "host;x-amz-content-sha256;x-amz-date",
                signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        Example(name: "Get Bucket (List Objects)", method: "GET",
                url: "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
                headers: [], body: "", signedHeaders: "host;x-amz-content-sha256;x-amz-date",
                signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ]

    @Test("header auth", arguments: examples)
    func headerAuth(_ example: Example) {
        let payload = SHA256.hash(example.body).hex
        let request = SigningRequest(method: example.method, url: example.url,
                                     headers: example.headers.map { (name: $0.0, value: $0.1) }, payloadHash: payload)
        let added = Self.signer.signedHeaders(for: request, date: Self.date)
        #expect(added.map(\.name) == ["X-Amz-Date", "X-Amz-Content-Sha256", "Authorization"])
        #expect(added[1].value == payload)
        #expect(added.last?.value == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=\(example.signedHeaders), Signature=\(example.signature)")
    }

    @Test("GET Object: canonical request and string to sign, stage by stage")
    func getObjectStages() {
        let request = SigningRequest(
            method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt",
            headers: [("Range", "bytes=0-9"), ("x-amz-content-sha256", Self.empty), ("x-amz-date", "20130524T000000Z")],
            payloadHash: Self.empty)
        let canonical = Self.signer.canonicalRequest(request, signedHeaders: ["host", "range", "x-amz-content-sha256", "x-amz-date"])
        #expect(canonical == """
            GET
            /test.txt

            host:examplebucket.s3.amazonaws.com
            range:bytes=0-9
            x-amz-content-sha256:\(Self.empty)
            x-amz-date:20130524T000000Z

            host;range;x-amz-content-sha256;x-amz-date
            \(Self.empty)
            """)
        let sts = Self.signer.stringToSign(canonicalRequest: canonical, date: Self.date)
        #expect(sts == """
            AWS4-HMAC-SHA256
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
            """)
        #expect(Self.signer.signature(stringToSign: sts, date: Self.date)
                == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test("presigned GET of test.txt for 86400 seconds is the documented URL")
    func presignedGet() {
        let url = Self.signer.presignedURL(method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt",
                                           expires: 86400, date: Self.date)
        #expect(url == "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
        // The documented canonical request behind it ends in UNSIGNED-PAYLOAD.
        let canonical = Self.signer.canonicalRequest(
            SigningRequest(method: "GET",
                           url: url.components(separatedBy: "&X-Amz-Signature=")[0],
                           payloadHash: SigningRequest.unsignedPayload),
            signedHeaders: ["host"])
        #expect(SHA256.hash(canonical).hex == "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04")
    }
}

/// An HTTP request as it will be sent, reduced to what SigV4 signs.
///
/// Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
public struct SigningRequest: Sendable {
    /// The HTTP method (`GET`, `PUT`, …); uppercased in the canonical request.
    public var method: String
    /// The absolute URL, query included, exactly as it will be sent (path and query already
    /// percent-encoded, e.g. with `URIEncoding`).
    public var url: String
    /// The headers as they will be sent, in order; a name may repeat. `Host` may be absent: the signer
    /// derives it from the URL (lowercased, with the port when it is not the scheme's default).
    public var headers: [(name: String, value: String)]
    /// Lowercase hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    public var payloadHash: String

    /// Creates a request to sign.
    public init(method: String, url: String, headers: [(name: String, value: String)] = [], payloadHash: String) {
        self.method = method
        self.url = url
        self.headers = headers
        self.payloadHash = payloadHash
    }

    /// The `payloadHash` that tells AWS the body is not signed (S3 over HTTPS, presigned URLs).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// The SHA-256 of an empty body, the `payloadHash` of a request without one.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}

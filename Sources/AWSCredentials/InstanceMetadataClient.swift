import Foundation
import KilnHTTP
import SigV4

/// The EC2 instance metadata service (IMDSv2 only): the instance profile's credentials and the region.
///
/// Spec: AWS SDKs and Tools Reference Guide, "IMDS credential provider"
/// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-imds-credentials.html) and the EC2 User Guide,
/// "Use IMDSv2". Every request first gets a session token with `PUT /latest/api/token` and
/// `X-aws-ec2-metadata-token-ttl-seconds`, then sends it as `X-aws-ec2-metadata-token`. The endpoint is
/// AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254 (or http://[fd00:ec2::254] when
/// AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE is IPv6); AWS_EC2_METADATA_DISABLED=true turns it off. There is
/// no IMDSv1 fallback: an instance that refuses the token PUT gets no credentials from kiln.
public struct InstanceMetadataClient: Sendable {
    /// The token lifetime asked for, in seconds (the maximum, 6 hours).
    static let tokenTTLSeconds = 21600

    /// The endpoint, without a trailing slash.
    public let endpoint: String
    /// True when AWS_EC2_METADATA_DISABLED is `true`.
    public let isDisabled: Bool
    /// The transfer settings: short timeouts, so a machine off EC2 fails fast.
    public let httpOptions: HTTPClient.Options

    /// Configures the client from `environment`; nil `httpOptions` means
    /// `CredentialChain.metadataHTTPOptions(environment:)`.
    public init(environment: [String: String], httpOptions: HTTPClient.Options? = nil) {
        let ipv6 = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"]?.lowercased() == "ipv6"
        var endpoint = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].nonEmpty
            ?? (ipv6 ? "http://[fd00:ec2::254]" : "http://169.254.169.254")
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        isDisabled = environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true"
        self.httpOptions = httpOptions ?? CredentialChain.metadataHTTPOptions(environment: environment)
    }

    /// The credentials of the instance's IAM role (instance profile).
    public func credentials() throws -> Credentials {
        let client = try session()
        let roles = try client.get("/latest/meta-data/iam/security-credentials/", missing: "no IAM role is attached "
                                    + "to this instance; attach an instance profile, or use another credential source")
        guard let role = String(decoding: roles, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map({ $0.trimmed }).first(where: { !$0.isEmpty }) else {
            throw CredentialsError.endpoint("instance metadata", target: endpoint, "the instance lists no IAM role")
        }
        let body = try client.get("/latest/meta-data/iam/security-credentials/\(role)",
                                  missing: "the IAM role '\(role)' has no credentials yet; retry in a few seconds")
        let fail = { (message: String) in CredentialsError.endpoint("instance metadata", target: endpoint, message) }
        let object = try CredentialsJSON.object(body, fail: fail)
        if let code = object["Code"] as? String, code != "Success" {
            throw fail("the role's credentials report Code \(code.prefix(100))")
        }
        return try CredentialsJSON.credentials(object, tokenField: "Token", source: "instance metadata (role \(role))",
                                               fail: fail)
    }

    /// The instance's region, from `/latest/meta-data/placement/region`.
    public func region() throws -> String {
        let body = try session().get("/latest/meta-data/placement/region", missing: "the instance reports no region")
        let region = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !region.isEmpty else {
            throw CredentialsError.endpoint("instance metadata", target: endpoint, "the instance reports an empty region")
        }
        return region
    }

    /// A token and a client to send GETs with it.
    private func session() throws -> Session {
        guard !isDisabled else {
            throw CredentialsError.endpoint("instance metadata", target: endpoint, "disabled by AWS_EC2_METADATA_DISABLED")
        }
        let client: HTTPClient
        do { client = try HTTPClient(options: httpOptions) } catch {
            throw CredentialsError.endpoint("instance metadata", target: endpoint, "\(error)")
        }
        let response: HTTPResponse
        do {
            response = try client.send(HTTPRequest(method: "PUT", url: endpoint + "/latest/api/token",
                                                   headers: [("X-aws-ec2-metadata-token-ttl-seconds", "\(Self.tokenTTLSeconds)")]))
        } catch {
            throw CredentialsError.endpoint("instance metadata", target: endpoint, Self.transportMessage(error))
        }
        guard response.status == 200 else {
            throw CredentialsError.endpoint("instance metadata", target: endpoint,
                                            "the IMDSv2 token request got HTTP status \(response.status)"
                                                + (response.status == 403 ? " (IMDS is disabled on this instance)" : ""))
        }
        let token = String(decoding: response.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, !token.contains(where: { $0 == "\r" || $0 == "\n" }) else {
            throw CredentialsError.endpoint("instance metadata", target: endpoint, "the IMDSv2 token is empty or malformed")
        }
        return Session(client: client, endpoint: endpoint, token: token)
    }

    private struct Session {
        let client: HTTPClient
        let endpoint: String
        let token: String

        func get(_ path: String, missing: String) throws -> [UInt8] {
            let response: HTTPResponse
            do {
                response = try client.send(HTTPRequest(method: "GET", url: endpoint + path,
                                                       headers: [("X-aws-ec2-metadata-token", token)]))
            } catch {
                throw CredentialsError.endpoint("instance metadata", target: endpoint, InstanceMetadataClient.transportMessage(error))
            }
            if response.status == 404 {
                throw CredentialsError.endpoint("instance metadata", target: endpoint, missing)
            }
            guard response.status == 200 else {
                throw CredentialsError.endpoint("instance metadata", target: endpoint,
                                                "GET \(path) got HTTP status \(response.status)")
            }
            return response.body
        }
    }

    /// A short message for a transport failure: off EC2 this is the usual outcome, not a surprise.
    static func transportMessage(_ error: any Error) -> String {
        if let error = error as? KilnHTTPError {
            return error.isTimeout ? "no answer (timed out; not on EC2?)" : "not reachable (\(error))"
        }
        return "\(error)"
    }
}

import AWSCore
import AWSCredentials
import Foundation
import SigV4

/// The STS client (AWS Query protocol, version 2011-06-15, regional endpoint
/// `sts.REGION.amazonaws.com`): who am I, and temporary credentials for a role.
/// https://docs.aws.amazon.com/STS/latest/APIReference/welcome.html
public struct STSClient: Sendable {
    /// The transport (endpoint, signing as `sts`, retries).
    public let client: AWSClient
    private let query = QueryProtocol(version: STSClient.version)

    /// The API version.
    public static let version = "2011-06-15"

    /// Creates a client for the configuration's region and endpoint.
    public init(config: AWSConfig) throws {
        client = try AWSClient(service: "sts", config: config)
    }

    /// GetCallerIdentity: the account, ARN and user ID of the configuration's credentials.
    public func getCallerIdentity() throws -> GetCallerIdentityResult {
        let action = "GetCallerIdentity"
        let result = try STSClient.result(of: query.call(client, action), action: action, service: client.service)
        return GetCallerIdentityResult(account: result.string("Account") ?? "", arn: result.string("Arn") ?? "",
                                       userId: result.string("UserId") ?? "")
    }

    /// AssumeRole, signed with the configuration's credentials: temporary credentials for `roleARN`.
    /// `durationSeconds` is 900 s up to the role's maximum (default 1 h); `externalID` is what a
    /// third-party role's trust policy demands; `policy` (JSON) narrows the session's permissions.
    public func assumeRole(roleARN: String, sessionName: String, externalID: String? = nil, durationSeconds: Int? = nil,
                           policy: String? = nil) throws -> AssumeRoleResult {
        let action = "AssumeRole"
        var parameters = [("RoleArn", roleARN), ("RoleSessionName", sessionName)]
        if let externalID { parameters.append(("ExternalId", externalID)) }
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        if let policy { parameters.append(("Policy", policy)) }
        let result = try STSClient.result(of: query.call(client, action, parameters), action: action, service: client.service)
        return AssumeRoleResult(credentials: try credentials(in: result, action: action, source: "sts assume-role \(roleARN)"),
                                assumedRoleUser: STSClient.assumedRoleUser(in: result),
                                packedPolicySize: result.string("PackedPolicySize").flatMap { Int($0) })
    }

    /// AssumeRoleWithWebIdentity: temporary credentials for `roleARN` in exchange for an OIDC token
    /// (GitHub Actions, EKS). The request is sent unsigned, as the API intends: it needs no AWS
    /// credentials, so the configuration's provider is never asked (a chain that is itself resolving web
    /// identity can use this client). The token is a secret; it goes only into the request body.
    public func assumeRoleWithWebIdentity(roleARN: String, sessionName: String, webIdentityToken: String,
                                          durationSeconds: Int? = nil, providerId: String? = nil,
                                          policy: String? = nil) throws -> AssumeRoleWithWebIdentityResult {
        let action = "AssumeRoleWithWebIdentity"
        var parameters = [("RoleArn", roleARN), ("RoleSessionName", sessionName), ("WebIdentityToken", webIdentityToken)]
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        if let providerId { parameters.append(("ProviderId", providerId)) }
        if let policy { parameters.append(("Policy", policy)) }
        let result = try STSClient.result(of: query.call(client, action, parameters, unsigned: true), action: action, service: client.service)
        return AssumeRoleWithWebIdentityResult(
            credentials: try credentials(in: result, action: action, source: "sts web identity \(roleARN)"),
            assumedRoleUser: STSClient.assumedRoleUser(in: result),
            subjectFromWebIdentityToken: result.string("SubjectFromWebIdentityToken"),
            provider: result.string("Provider"), audience: result.string("Audience"))
    }

    // MARK: Internals

    /// `<ActionResponse><ActionResult>…`: the result element.
    private static func result(of xml: XMLNode, action: String, service: String) throws -> XMLNode {
        if let result = xml.name == "\(action)Result" ? xml : xml.find("\(action)Result") { return result }
        throw AWSError(service: service, operation: action, code: "InvalidResponse",
                       message: "the answer has no \(action)Result element", status: 200)
    }

    private static func assumedRoleUser(in result: XMLNode) -> AssumedRoleUser? {
        guard let user = result.child("AssumedRoleUser") else { return nil }
        return AssumedRoleUser(arn: user.string("Arn") ?? "", assumedRoleId: user.string("AssumedRoleId") ?? "")
    }

    /// The `Credentials` element as SigV4 credentials. Errors name the missing field, never a value.
    private func credentials(in result: XMLNode, action: String, source: String) throws -> Credentials {
        guard let element = result.child("Credentials"), let keyID = element.string("AccessKeyId"), !keyID.isEmpty,
              let secret = element.string("SecretAccessKey"), !secret.isEmpty else {
            throw AWSError(service: client.service, operation: action, code: "InvalidResponse",
                           message: "the answer has no Credentials with AccessKeyId and SecretAccessKey", status: 200)
        }
        let token = element.string("SessionToken").flatMap { $0.isEmpty ? nil : $0 }
        return Credentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token,
                           expiration: element.string("Expiration").flatMap(STSClient.parseTimestamp), source: source)
    }

    /// An ISO 8601 timestamp (`2026-01-01T12:00:00Z`, with or without fractional seconds).
    static func parseTimestamp(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}

import Foundation
import KilnHTTP
import SigV4

/// Container credentials (ECS task roles, EKS Pod Identity): a GET to a local endpoint.
///
/// Spec: AWS SDKs and Tools Reference Guide, "Container credential provider"
/// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html).
/// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is appended to http://169.254.170.2 (`host`, overridable for
/// tests); otherwise AWS_CONTAINER_CREDENTIALS_FULL_URI is used as is, if it is https or its host is a
/// loopback address, the ECS address 169.254.170.2 or the EKS addresses 169.254.170.23 / fd00:ec2::23.
/// The Authorization header comes from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read on every fetch,
/// since EKS rotates it), else AWS_CONTAINER_AUTHORIZATION_TOKEN.
struct ContainerCredentials {
    /// The default host for relative URIs.
    static let defaultHost = "http://169.254.170.2"

    var url: String
    var tokenFile: String?
    var token: String?

    /// The provider `environment` configures, nil when neither URI variable is set.
    static func configured(environment: [String: String], host: String) throws -> ContainerCredentials? {
        let tokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].nonEmpty
        let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"].nonEmpty
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"].nonEmpty {
            let base = host.hasSuffix("/") ? String(host.dropLast()) : host
            return ContainerCredentials(url: base + (relative.hasPrefix("/") ? "" : "/") + relative,
                                        tokenFile: tokenFile, token: token)
        }
        guard let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"].nonEmpty else { return nil }
        guard isAllowed(full) else {
            throw CredentialsError.invalidSetting(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "the container credentials URL \(redactedURL(full)) must use https, "
                    + "or http to a loopback address, 169.254.170.2, 169.254.170.23 or [fd00:ec2::23]")
        }
        return ContainerCredentials(url: full, tokenFile: tokenFile, token: token)
    }

    /// Whether a FULL_URI may be used: https anywhere; http only to the addresses the spec allows.
    static func isAllowed(_ url: String) -> Bool {
        let lower = url.lowercased()
        if lower.hasPrefix("https://") { return true }
        guard lower.hasPrefix("http://") else { return false }
        var authority = lower.dropFirst("http://".count)
        if let end = authority.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
            authority = authority[..<end]
        }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host: Substring
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = authority[authority.startIndex...close]
        } else {
            host = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }
        if ["localhost", "[::1]", "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]"].contains(String(host)) {
            return true
        }
        // 127.0.0.0/8
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    func fetch(httpOptions: HTTPClient.Options) throws -> Credentials {
        let target = redactedURL(url)
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let authorization = try authorization() {
            headers.append(("Authorization", authorization))
        }
        let response: HTTPResponse
        do {
            response = try HTTPClient(options: httpOptions).send(HTTPRequest(method: "GET", url: url, headers: headers))
        } catch {
            throw CredentialsError.endpoint("container", target: target, "\(error)")
        }
        guard response.isSuccess else {
            throw CredentialsError.endpoint("container", target: target,
                                            "HTTP status \(response.status)\(Self.errorDetail(response.body)); "
                                                + "check the task or pod role and the authorization token")
        }
        let fail = { (message: String) in CredentialsError.endpoint("container", target: target, message) }
        let object = try CredentialsJSON.object(response.body, fail: fail)
        return try CredentialsJSON.credentials(object, tokenField: "Token", source: "container", fail: fail)
    }

    /// The Authorization header value: the token file's content (trimmed), else the token variable.
    private func authorization() throws -> String? {
        var value = token
        if let tokenFile {
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw CredentialsError.unreadable(tokenFile, purpose: "container authorization token file "
                                                    + "(AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)", reason: "missing or unreadable")
            }
            value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let value, !value.isEmpty else { return nil }
        guard !value.contains(where: { $0 == "\r" || $0 == "\n" }) else {
            throw CredentialsError.invalidSetting(tokenFile ?? "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                                                  "the container authorization token contains a line break")
        }
        return value
    }

    /// " (code: message)" from an error body of the form {"code": …, "message": …}, if it has one.
    static func errorDetail(_ body: [UInt8]) -> String {
        guard let object = try? CredentialsJSON.object(body, fail: { CredentialsError.endpoint("container", target: "", $0) }) else {
            return ""
        }
        let code = (object["code"] ?? object["Code"]) as? String
        let message = (object["message"] ?? object["Message"]) as? String
        let parts = [code, message].compactMap { $0 }.map { String($0.prefix(200)) }
        return parts.isEmpty ? "" : " (\(parts.joined(separator: ": ")))"
    }
}

/// scheme://host[:port]/path of `url`, without user info or query string (which may hold secrets).
func redactedURL(_ url: String) -> String {
    String(HTTPRequest(url: url).redactedDescription.drop { $0 != " " }.dropFirst())
}

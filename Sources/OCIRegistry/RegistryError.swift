import KilnHTTP

/// The one error type of OCIRegistry: what failed (the operation, registry and repository; never a
/// password or token), the registry's own error codes, and what to do.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        /// A reference that cannot be parsed.
        case invalidReference(text: String, reason: String)
        /// The registry answered with an unexpected status (distribution-spec "Error Codes" body summarised).
        case status(operation: String, status: Int, detail: String)
        /// The registry refused the credentials, or demanded some when there were none.
        case unauthorized(operation: String, registry: String, hadCredentials: Bool, detail: String)
        /// The reference or blob does not exist.
        case notFound(operation: String, detail: String)
        /// The transport failed (KilnHTTP's message, which carries curl's).
        case transport(operation: String, error: KilnHTTPError)
        /// Content whose digest or size differs from what names it.
        case digestMismatch(what: String, expected: String, actual: String)
        /// A response or document that does not follow the specs.
        case invalidResponse(String)
        /// A Docker credential helper failed.
        case credentialHelper(helper: String, detail: String)
        /// Docker's config.json cannot be read.
        case dockerConfig(path: String, detail: String)
        /// An internal signal: the credentials were refreshed after a 401 inside an upload, whose session
        /// must now be abandoned and the blob sent again in a new one.
        case reauthenticated(operation: String)
        /// Anything else, already phrased for people.
        case other(String)
    }

    private let code: Code
    private init(_ code: Code) { self.code = code }

    static func invalidReference(_ text: String, _ reason: String) -> RegistryError {
        .init(.invalidReference(text: text, reason: reason))
    }
    static func status(_ operation: String, _ status: Int, detail: String) -> RegistryError {
        .init(.status(operation: operation, status: status, detail: detail))
    }
    static func unauthorized(_ operation: String, registry: String, hadCredentials: Bool, detail: String) -> RegistryError {
        .init(.unauthorized(operation: operation, registry: registry, hadCredentials: hadCredentials, detail: detail))
    }
    static func notFound(_ operation: String, detail: String) -> RegistryError { .init(.notFound(operation: operation, detail: detail)) }
    static func transport(_ operation: String, _ error: KilnHTTPError) -> RegistryError {
        .init(.transport(operation: operation, error: error))
    }
    static func digestMismatch(_ what: String, expected: String, actual: String) -> RegistryError {
        .init(.digestMismatch(what: what, expected: expected, actual: actual))
    }
    static func invalidResponse(_ text: String) -> RegistryError { .init(.invalidResponse(text)) }
    static func credentialHelper(_ helper: String, _ detail: String) -> RegistryError {
        .init(.credentialHelper(helper: helper, detail: detail))
    }
    static func dockerConfig(_ path: String, _ detail: String) -> RegistryError { .init(.dockerConfig(path: path, detail: detail)) }
    static func reauthenticated(_ operation: String) -> RegistryError { .init(.reauthenticated(operation: operation)) }
    static func other(_ text: String) -> RegistryError { .init(.other(text)) }

    /// True when sending the same operation again may succeed: a 5xx or 429 answer, a transport failure
    /// that curl considers transient, or fresh credentials after a 401 during an upload.
    public var isRetryable: Bool {
        switch code {
        case let .status(_, status, _): return status >= 500 || status == 429 || status == 408
        case let .transport(_, error): return error.isRetryable || error.isResendRefused
        case .reauthenticated: return true
        default: return false
        }
    }

    /// True for a 404 (unknown repository, manifest or blob).
    public var isNotFound: Bool {
        if case .notFound = code { return true }
        return false
    }

    /// True for a refused login.
    public var isUnauthorized: Bool {
        if case .unauthorized = code { return true }
        return false
    }

    /// A sentence for people: what failed and what to do.
    public var description: String {
        switch code {
        case let .invalidReference(text, reason):
            return "invalid image reference \(String(reflecting: text)): \(reason); "
                + "write [registry/]repository[:tag][@sha256:digest], e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/jupyter:2026.11"
        case let .status(operation, status, detail):
            let hint = status >= 500 || status == 429
                ? "the registry is failing or throttling; retry later"
                : "check the reference and that the registry supports the OCI distribution-spec"
            return "\(operation) failed with HTTP \(status)\(detail.isEmpty ? "" : ": \(detail)"); \(hint)"
        case let .unauthorized(operation, registry, hadCredentials, detail):
            let hint = hadCredentials
                ? "the registry refused the credentials kiln found; log in again (docker login \(registry)), or for ECR "
                    + "check the AWS credentials' ecr:GetAuthorizationToken and repository permissions"
                : "no credentials for \(registry) were found; run `docker login \(registry)` (kiln reads "
                    + "~/.docker/config.json, its credHelpers and credsStore) or, for ECR, configure AWS credentials"
            return "\(operation) was refused (HTTP 401/403)\(detail.isEmpty ? "" : ": \(detail)"); \(hint)"
        case let .notFound(operation, detail):
            return "\(operation): not found\(detail.isEmpty ? "" : " (\(detail))"); check the repository, tag or digest"
        case let .transport(operation, error):
            return "\(operation): \(error)"
        case let .digestMismatch(what, expected, actual):
            return "\(what) does not match its digest: expected \(expected), got \(actual); the registry or a proxy "
                + "altered the content — retry, and report it if it persists"
        case let .invalidResponse(text):
            return text
        case let .credentialHelper(helper, detail):
            return "credential helper docker-credential-\(helper) failed: \(detail); check that it is installed and "
                + "logged in, or remove it from ~/.docker/config.json"
        case let .dockerConfig(path, detail):
            return "cannot read Docker config '\(path)': \(detail); fix the JSON or point DOCKER_CONFIG elsewhere"
        case let .reauthenticated(operation):
            return "\(operation): the registry asked for a new login during the upload; kiln logged in again"
        case let .other(text):
            return text
        }
    }
}

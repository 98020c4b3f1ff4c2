import Foundation

/// The one public error type of AWSCore: an error answered by an AWS service, or a failure to reach
/// it. Its description says what failed and, for the common cases, what to do.
public struct AWSError: Error, Sendable, CustomStringConvertible {
    /// The service's short name (`ec2`, `ssm`, `s3`, `ecr`, `sts`).
    public var service: String
    /// The API operation (`RunInstances`).
    public var operation: String
    /// The service's error code (`UnauthorizedOperation`, `ThrottlingException`, …); for failures
    /// to reach the service: `ConnectionError` or `Timeout`.
    public var code: String
    /// The service's message.
    public var message: String
    /// The request ID, for AWS support.
    public var requestID: String?
    /// The HTTP status (0 when no response arrived).
    public var status: Int

    /// Creates an error.
    public init(service: String, operation: String, code: String, message: String, requestID: String? = nil, status: Int) {
        self.service = service
        self.operation = operation
        self.code = code
        self.message = message
        self.requestID = requestID
        self.status = status
    }

    /// Throttling codes the SDKs retry in "standard" mode.
    /// https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
    public static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    ]

    /// Transient codes the SDKs retry.
    public static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure", "ServiceUnavailable",
        "ConnectionError", "Timeout", "IDPCommunicationError",
    ]

    /// Codes that mean the request's clock is off.
    public static let clockSkewCodes: Set<String> = [
        "RequestTimeTooSkewed", "RequestExpired", "InvalidSignatureException", "SignatureDoesNotMatch",
        "AuthFailure", "RequestInTheFuture",
    ]

    /// Whether the standard retry mode retries this error.
    public var isRetryable: Bool {
        AWSError.throttlingCodes.contains(code) || AWSError.transientCodes.contains(code)
            || [500, 502, 503, 504].contains(status)
    }

    /// Whether this error is throttling (it costs the retry quota the same, but is worth telling apart).
    public var isThrottling: Bool { AWSError.throttlingCodes.contains(code) || status == 429 }

    /// What failed, the service's words, and what to do.
    public var description: String {
        var text = "\(service) \(operation) failed: \(code)"
        if !message.isEmpty { text += ": \(message)" }
        if status > 0 { text += " (HTTP \(status)\(requestID.map { ", request \($0)" } ?? ""))" }
        if let advice { text += "\n  → \(advice)" }
        return text
    }

    /// Advice for the errors people meet most.
    public var advice: String? {
        switch code {
        case "ExpiredToken", "ExpiredTokenException":
            return "the session token has expired: refresh your credentials (e.g. `aws sso login`, or re-run the step that assumed the role)"
        case "RequestExpired" where message.lowercased().contains("token"):
            return "the session token has expired: refresh your credentials (e.g. `aws sso login`, or re-run the step that assumed the role)"
        case "UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "UnauthorizedAccess":
            let action = AWSError.missingAction(in: message) ?? "\(service):\(operation)"
            return "your identity is not allowed to call \(action): add it to the IAM policy (`kiln iam-policy` prints the full policy kiln needs)"
        case "InvalidClientTokenId", "UnrecognizedClientException":
            return "the access key ID is not known to AWS: check AWS_ACCESS_KEY_ID / the profile's aws_access_key_id (or the region's partition)"
        case "SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature":
            return "the request signature was rejected: check the secret access key for this access key ID, and the system clock"
        case "AuthFailure":
            return "AWS could not validate the credentials: check the keys, and that the system clock is correct"
        case "RequestTimeTooSkewed":
            return "the system clock is off by more than 15 minutes: sync it (e.g. `timedatectl set-ntp true`)"
        case "OptInRequired":
            return "the account is not subscribed to this service or region: enable the region in the AWS console"
        case "ConnectionError":
            return "check the network, the region name, and any --endpoint-url / AWS_ENDPOINT_URL setting"
        case "UnknownRegion", "InvalidRegion":
            return "check the region name (e.g. us-east-1), set with --region or AWS_REGION"
        default:
            if AWSError.throttlingCodes.contains(code) {
                return "AWS is throttling this account's requests; kiln already retried, so wait a minute and try again"
            }
            return nil
        }
    }

    /// The IAM action named in an authorization message (`… to perform: ec2:RunInstances …`).
    static func missingAction(in message: String) -> String? {
        guard let range = message.range(of: "perform: ") else { return nil }
        var action = String(message[range.upperBound...].prefix { !$0.isWhitespace && $0 != "," })
        while action.hasSuffix(".") { action.removeLast() }
        return action.isEmpty ? nil : action
    }
}

import Foundation
import KilnCrypto
import KilnHTTP
import SigV4
import AWSCredentials

/// How kiln reaches AWS: the region, where credentials come from, endpoint overrides, retries, and
/// the injected clock, sleep and randomness (so tests are exact and fast).
public struct AWSConfig: Sendable {
    /// The region requests go to.
    public var region: String
    /// Where credentials come from (usually a `CredentialChain`).
    public var credentials: any CredentialProvider
    /// The environment (endpoint overrides, `AWS_MAX_ATTEMPTS`).
    public var environment: [String: String]
    /// An endpoint for every service (`--endpoint-url`).
    public var endpointURL: String?
    /// Attempts per request in the standard retry mode (default 3, or `AWS_MAX_ATTEMPTS`).
    public var maxAttempts: Int
    /// The first retry's maximum delay; each further retry doubles it (capped at 20 s).
    public var baseDelay: TimeInterval
    /// libcurl settings.
    public var httpOptions: HTTPClient.Options
    /// The clock used for signing.
    public var clock: @Sendable () -> Date
    /// How retries wait.
    public var sleep: @Sendable (TimeInterval) -> Void
    /// A uniform random number in [0, 1), for jitter.
    public var random: @Sendable () -> Double

    /// Creates a configuration.
    public init(region: String, credentials: any CredentialProvider, environment: [String: String] = [:],
                endpointURL: String? = nil, maxAttempts: Int? = nil, baseDelay: TimeInterval = 1,
                httpOptions: HTTPClient.Options = HTTPClient.Options(),
                clock: @escaping @Sendable () -> Date = Date.init,
                sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) },
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.region = region
        self.credentials = credentials
        self.environment = environment
        self.endpointURL = endpointURL
        self.maxAttempts = max(1, maxAttempts ?? environment["AWS_MAX_ATTEMPTS"].flatMap(Int.init) ?? 3)
        self.baseDelay = baseDelay
        self.httpOptions = httpOptions
        self.clock = clock
        self.sleep = sleep
        self.random = random
    }
}

/// One request to an AWS service, before signing.
public struct AWSRequest: Sendable {
    /// The API operation, for errors and logs.
    public var operation: String
    /// The HTTP method.
    public var method: String
    /// The path (already URI-encoded), starting with `/`.
    public var path: String
    /// Query parameters (not yet encoded).
    public var query: [(String, String)]
    /// Headers.
    public var headers: [(String, String)]
    /// The body.
    public var body: HTTPBody
    /// Sign the payload as `UNSIGNED-PAYLOAD` (large S3 uploads over TLS) instead of hashing it.
    public var unsignedPayload: Bool
    /// Send without any signature or credentials (STS AssumeRoleWithWebIdentity takes none).
    public var unsigned: Bool

    /// Creates a request.
    public init(operation: String, method: String = "POST", path: String = "/", query: [(String, String)] = [],
                headers: [(String, String)] = [], body: HTTPBody = .none, unsignedPayload: Bool = false,
                unsigned: Bool = false) {
        self.operation = operation
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.unsignedPayload = unsignedPayload
        self.unsigned = unsigned
    }
}

/// Turns an error response into an `AWSError`; each protocol has its own error shape.
public typealias ErrorParser = @Sendable (_ response: HTTPResponse, _ service: String, _ operation: String) -> AWSError

/// The transport shared by every service client: endpoint, SigV4 signing, the standard retry mode
/// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html) with a retry quota,
/// and clock-skew correction.
public final class AWSClient: @unchecked Sendable {
    /// The signing name of the service (`ec2`, `ssm`, `s3`, `ecr`, `sts`).
    public let service: String
    /// The configuration.
    public let config: AWSConfig
    /// Where requests go.
    public let endpoint: Endpoint
    private let http: HTTPClient
    private let lock = NSLock()
    private var clockOffset: TimeInterval = 0
    private var quota = RetryQuota()

    /// Creates a client for one service.
    public init(service: String, config: AWSConfig, endpointService: String? = nil) throws {
        self.service = service
        self.config = config
        self.endpoint = Endpoint.resolve(service: endpointService ?? service, region: config.region,
                                         explicit: config.endpointURL, environment: config.environment)
        do {
            self.http = try HTTPClient(options: config.httpOptions)
        } catch {
            throw AWSError(service: service, operation: "-", code: "ConnectionError", message: "\(error)", status: 0)
        }
    }

    /// The signing time: the clock corrected by the skew learned from the service.
    public var now: Date {
        lock.withLock { config.clock().addingTimeInterval(clockOffset) }
    }

    /// The full URL of a path and query on this client's endpoint.
    public func url(path: String, query: [(String, String)], host: String? = nil) -> String {
        var base = endpoint.url
        if let host, let schemeEnd = base.range(of: "://") {
            base = String(base[..<schemeEnd.upperBound]) + host
        }
        let encoded = query.map { "\(URIEncoding.encode($0.0, encodeSlash: true))=\(URIEncoding.encode($0.1, encodeSlash: true))" }
        return base + path + (encoded.isEmpty ? "" : "?" + encoded.joined(separator: "&"))
    }

    /// Signs and sends a request, retrying what the standard mode retries; a non-2xx answer becomes
    /// the `AWSError` that `parseError` makes of it. `bodyTo` streams a 2xx body to a file.
    public func send(_ request: AWSRequest, host: String? = nil, bodyTo: String? = nil,
                     parseError: ErrorParser) throws -> HTTPResponse {
        let url = url(path: request.path, query: request.query, host: host)
        let payloadHash = try hashPayload(request)
        var skewCorrected = false
        var attempt = 0
        while true {
            attempt += 1
            var headers = request.headers.map { (name: $0.0, value: $0.1) }
            if !request.unsigned {
                let credentials: Credentials
                do {
                    credentials = try config.credentials.credentials()
                } catch {
                    throw AWSError(service: service, operation: request.operation, code: "NoCredentials",
                                   message: "\(error)", status: 0)
                }
                let signer = SigV4Signer(credentials: credentials, region: config.region, service: service)
                let signing = SigningRequest(method: request.method, url: url, headers: headers, payloadHash: payloadHash)
                headers += signer.signedHeaders(for: signing, date: now)
            }
            let httpRequest = HTTPRequest(method: request.method, url: url, headers: headers.map { ($0.name, $0.value) },
                                          body: request.body)
            let response: HTTPResponse
            do {
                response = try bodyTo.map { try http.send(httpRequest, bodyTo: $0) } ?? http.send(httpRequest)
            } catch let error as KilnHTTPError {
                let failure = AWSError(service: service, operation: request.operation,
                                       code: error.isTimeout ? "Timeout" : "ConnectionError",
                                       message: error.description, status: 0)
                if error.isRetryable, attempt < config.maxAttempts, acquireRetry(timeout: error.isTimeout) {
                    config.sleep(backoff(attempt))
                    continue
                }
                throw failure
            }
            if response.isSuccess {
                lock.withLock { quota.success() }
                return response
            }
            let error = parseError(response, service, request.operation)
            if !skewCorrected, AWSError.clockSkewCodes.contains(error.code), let skew = skew(of: response), abs(skew) > 60,
               attempt < config.maxAttempts {
                // The service's clock differs from ours: sign again with its time (as the SDKs do).
                lock.withLock { clockOffset += skew }
                skewCorrected = true
                continue
            }
            if error.isRetryable, attempt < config.maxAttempts, acquireRetry(timeout: false) {
                config.sleep(backoff(attempt))
                continue
            }
            throw error
        }
    }

    /// The delay before retry number `attempt`: full jitter over an exponentially growing window.
    func backoff(_ attempt: Int) -> TimeInterval {
        let window = min(20, config.baseDelay * pow(2, Double(attempt - 1)))
        return config.random() * window
    }

    private func acquireRetry(timeout: Bool) -> Bool {
        lock.withLock { quota.acquire(cost: timeout ? 10 : 5) }
    }

    /// How far the service's clock (its `Date` header) is ahead of our signing clock.
    private func skew(of response: HTTPResponse) -> TimeInterval? {
        guard let date = response.header("Date").flatMap(AWSClient.parseHTTPDate) else { return nil }
        return date.timeIntervalSince(now)
    }

    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    private func hashPayload(_ request: AWSRequest) throws -> String {
        if request.unsignedPayload { return "UNSIGNED-PAYLOAD" }
        switch request.body {
        case .none: return SHA256.hash([UInt8]()).hex
        case .bytes(let bytes): return SHA256.hash(bytes).hex
        case .file(let path):
            do { return try SHA256.hash(fileAt: path).hex } catch {
                throw AWSError(service: service, operation: request.operation, code: "ReadError",
                               message: "cannot read \(path): \(error)", status: 0)
            }
        }
    }
}

/// The standard mode's retry quota: retries spend tokens, successes give one back, so a failing
/// service is not hammered. https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
struct RetryQuota {
    private(set) var tokens = 500

    mutating func acquire(cost: Int) -> Bool {
        guard tokens >= cost else { return false }
        tokens -= cost
        return true
    }

    mutating func success() { tokens = min(500, tokens + 1) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import KilnHTTP

/// How a `RegistryClient` talks to its registry.
public struct RegistryOptions: Sendable {
    /// Plain HTTP instead of HTTPS; nil means HTTP for loopback hosts (127.0.0.1, localhost, ::1), HTTPS otherwise.
    public var plainHTTP: Bool?
    /// A PEM bundle of CA certificates to verify the registry with (e.g. a private registry's CA).
    public var caBundle: String?
    /// How many blobs are uploaded or downloaded at once.
    public var parallelUploads: Int
    /// The size of each PATCH of a chunked upload; at least 5 MiB (unless the registry's
    /// `OCI-Chunk-Min-Length` asks for more, which wins).
    public var chunkSize: Int
    /// Blobs up to this size are sent in one PUT; larger ones in chunks.
    public var monolithicLimit: Int64
    /// Docker's config.json; nil means `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
    public var dockerConfigPath: String?
    /// The environment (HOME, DOCKER_CONFIG, PATH for credential helpers, SSL_CERT_FILE).
    public var environment: [String: String]
    /// Where transfer progress goes; nil is silent.
    public var progress: (any TransferProgress)?
    /// How many times an operation is tried before its error is reported (5xx, 429, transport errors).
    public var maxAttempts: Int
    /// The first retry's delay; each later one doubles it, with jitter, up to 20 s.
    public var retryBaseDelay: Duration
    /// Sleeps between retries (injected so tests do not wait).
    public var sleep: @Sendable (Duration) -> Void
    /// The HTTP transport; nil means libcurl through KilnHTTP (injected by unit tests).
    public var transport: (any RegistryTransport)?
    /// Logs what the client does (one line per call); nil is silent. Never receives secrets.
    public var log: (@Sendable (String) -> Void)?

    /// The smallest chunk kiln sends, 5 MiB (the smallest part S3-backed registries such as ECR accept).
    public static let minimumChunkSize = 5 << 20

    /// Options with kiln's defaults.
    public init(plainHTTP: Bool? = nil, caBundle: String? = nil, parallelUploads: Int = 3, chunkSize: Int = 16 << 20,
                monolithicLimit: Int64 = 4 << 20, dockerConfigPath: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                progress: (any TransferProgress)? = nil, maxAttempts: Int = 5, retryBaseDelay: Duration = .milliseconds(500),
                sleep: @escaping @Sendable (Duration) -> Void = { duration in
                    let (seconds, attoseconds) = duration.components
                    usleep(UInt32(max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)))
                },
                transport: (any RegistryTransport)? = nil, log: (@Sendable (String) -> Void)? = nil) {
        self.plainHTTP = plainHTTP
        self.caBundle = caBundle
        self.parallelUploads = parallelUploads
        self.chunkSize = chunkSize
        self.monolithicLimit = monolithicLimit
        self.dockerConfigPath = dockerConfigPath
        self.environment = environment
        self.progress = progress
        self.maxAttempts = maxAttempts
        self.retryBaseDelay = retryBaseDelay
        self.sleep = sleep
        self.transport = transport
        self.log = log
    }
}

/// Sends registry requests. The default is libcurl through KilnHTTP; unit tests inject fakes.
public protocol RegistryTransport: Sendable {
    /// Sends `request`. With `bodyTo`, a 2xx body is streamed to that file (any other body is returned in
    /// memory); `progress` is called with the bytes sent or received so far.
    func send(_ request: HTTPRequest, bodyTo: String?, progress: (@Sendable (Int64) -> Void)?) throws -> HTTPResponse
}

/// The libcurl transport: a pool of `HTTPClient`s, one per concurrent request, so parallel uploads each
/// have their own connection and consecutive requests reuse one.
final class CurlTransport: RegistryTransport, @unchecked Sendable {
    /// One pooled client and the progress callback of the transfer it is running.
    private final class Pooled: @unchecked Sendable {
        let lock = NSLock()
        var progress: (@Sendable (Int64) -> Void)?
        var client: HTTPClient?
    }

    private let lock = NSLock()
    private var idle: [Pooled] = []
    private let caBundle: String?
    private let environment: [String: String]

    init(caBundle: String?, environment: [String: String]) {
        self.caBundle = caBundle
        self.environment = environment
    }

    func send(_ request: HTTPRequest, bodyTo: String?, progress: (@Sendable (Int64) -> Void)?) throws -> HTTPResponse {
        let pooled = try checkOut()
        defer { checkIn(pooled) }
        pooled.lock.withLock { pooled.progress = progress }
        defer { pooled.lock.withLock { pooled.progress = nil } }
        guard let client = pooled.client else { throw RegistryError.other("HTTP client missing from the pool") }
        if let bodyTo { return try client.send(request, bodyTo: bodyTo) }
        return try client.send(request)
    }

    private func checkOut() throws -> Pooled {
        if let pooled = lock.withLock({ idle.popLast() }) { return pooled }
        let pooled = Pooled()
        let options = HTTPClient.Options(lowSpeedLimit: 1, lowSpeedTime: .seconds(120), caBundle: caBundle,
                                         environment: environment, userAgent: "kiln",
                                         progress: { [weak pooled] sent, _, received, _ in
                                             guard let pooled else { return }
                                             let callback = pooled.lock.withLock { pooled.progress }
                                             callback?(max(sent, received))
                                         })
        pooled.client = try HTTPClient(options: options)
        return pooled
    }

    private func checkIn(_ pooled: Pooled) {
        lock.withLock { idle.append(pooled) }
    }
}

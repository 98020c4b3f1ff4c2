import Foundation
import KilnHTTP
import OCI

/// A client of one registry speaking the OCI distribution-spec v1.1
/// (https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md): manifests and blobs,
/// pushed and pulled, with Basic and Bearer authentication, retries and bounded parallel transfers.
///
/// Blocking: every call runs on the calling thread (parallel transfers on worker threads of their own).
/// Thread-safe; one client may serve several pushes to the same registry.
public final class RegistryClient: @unchecked Sendable {
    /// The registry host[:port] (`docker.io` for Docker Hub).
    public let registry: String
    /// The options it was made with.
    public let options: RegistryOptions
    /// `http[s]://host[:port]`, where `/v2/` lives.
    public let baseURL: String

    let transport: any RegistryTransport
    let auth: AuthState

    /// Makes a client for `registry` (as in `ImageReference.registry`) that takes credentials from
    /// `credentials`, in order.
    public init(registry: String, options: RegistryOptions, credentials: [any RegistryCredentialSource]) throws {
        guard ImageReference.isValidHost(registry) else {
            throw RegistryError.invalidReference(registry, "it is not a registry host[:port]")
        }
        self.registry = registry
        self.options = options
        let plain = options.plainHTTP ?? ImageReference.isLoopback(registry)
        baseURL = (plain ? "http://" : "https://") + ImageReference.apiHost(for: registry)
        transport = options.transport ?? CurlTransport(caBundle: options.caBundle, environment: options.environment)
        auth = AuthState(registry: registry, sources: credentials, transport: transport)
    }

    // MARK: requests

    /// `/v2/<repository>/<rest>` on this registry.
    func url(_ repository: String, _ rest: String) -> String {
        "\(baseURL)/v2/\(repository)/\(rest)"
    }

    /// The pull (and push) scope of a repository for a Bearer token (distribution "Token Scope Documentation").
    static func scope(_ repository: String, push: Bool) -> String {
        "repository:\(repository):" + (push ? "pull,push" : "pull")
    }

    /// An absolute URL from a `Location` header, which may be relative to the registry (spec: "the
    /// Location header ... may be relative").
    func resolve(location: String) -> String {
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        if location.hasPrefix("/") { return baseURL + location }
        return baseURL + "/" + location
    }

    /// Sends a request with the registry's authentication. Requests start anonymous; a 401 teaches the
    /// scheme (`WWW-Authenticate`), and a 401 to credentials renews them once (the sources forget theirs,
    /// a new token is fetched). The request is then sent again — or, when `retryAfterLogin` is false,
    /// `RegistryError.reauthenticated` is thrown so the caller starts over (an upload session must not be
    /// replayed into).
    func send(_ request: HTTPRequest, operation: String, scopes: [String], bodyTo: String? = nil,
              progress: (@Sendable (Int64) -> Void)? = nil, retryAfterLogin: Bool = true) throws -> HTTPResponse {
        // One retry after an anonymous 401 (learning the scheme), one after a refused login (renewing it).
        var learnt = false, renewed = false
        while true {
            var authorized = request
            let header = try auth.authorization(for: scopes, operation: operation)
            if let header { authorized.headers.append(("Authorization", header)) }
            let response: HTTPResponse
            do {
                response = try transport.send(authorized, bodyTo: bodyTo, progress: progress)
            } catch let error as KilnHTTPError {
                throw RegistryError.transport(operation, error)
            }
            options.log?("\(request.method) \(URLPath(request.url)) → \(response.status)")
            guard response.status == 401 else { return response }
            if header == nil ? learnt : renewed {
                throw RegistryError.unauthorized(operation, registry: registry, hadCredentials: auth.hasCredentials,
                                                 detail: Self.errorDetail(response))
            }
            if header == nil { learnt = true } else { renewed = true }
            try auth.challenged(response.header("WWW-Authenticate") ?? "", scopes: scopes, sent: header,
                                operation: operation)
            if !retryAfterLogin { throw RegistryError.reauthenticated(operation) }
        }
    }

    /// The error for an unexpected response.
    func failure(_ operation: String, _ response: HTTPResponse) -> RegistryError {
        let detail = Self.errorDetail(response)
        switch response.status {
        case 404: return .notFound(operation, detail: detail)
        case 401, 403: return .unauthorized(operation, registry: registry, hadCredentials: auth.hasCredentials, detail: detail)
        default: return .status(operation, response.status, detail: detail)
        }
    }

    /// The distribution-spec error body (`{"errors":[{"code","message"}]}`) as `CODE: message; …`, at most
    /// 300 characters.
    static func errorDetail(_ response: HTTPResponse) -> String {
        struct Body: Decodable {
            struct Item: Decodable {
                var code: String?
                var message: String?
            }
            var errors: [Item]?
        }
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(response.body)), let errors = body.errors else {
            return ""
        }
        let text = errors.map { [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") }.joined(separator: "; ")
        return String(text.prefix(300))
    }

    /// Runs `body` until it succeeds, or fails with an error that is not retryable, or `maxAttempts`
    /// are used; between attempts sleeps with exponential backoff and jitter.
    func withRetries<T>(_ operation: String, _ body: (_ attempt: Int) throws -> T) throws -> T {
        var attempt = 1
        while true {
            do {
                return try body(attempt)
            } catch let error as RegistryError where error.isRetryable && attempt < max(1, options.maxAttempts) {
                let base = options.retryBaseDelay * (1 << min(attempt - 1, 10))
                let capped = min(base, .seconds(20))
                let delay = capped * Double.random(in: 0.5...1.0)
                options.log?("\(operation): attempt \(attempt) failed (\(error)); retrying")
                options.sleep(delay)
                attempt += 1
            }
        }
    }

    /// Runs `work` for every item on at most `width` threads; returns the results in order. After the
    /// first failure no new item starts; that failure is thrown once the running ones end.
    func parallelMap<T: Sendable, R: Sendable>(_ items: [T], width: Int, _ work: @escaping @Sendable (T) throws -> R) throws -> [R] {
        let state = ParallelState<R>(count: items.count)
        let group = DispatchGroup()
        for _ in 0..<max(1, min(width, items.count)) {
            DispatchQueue.global().async(group: group) {
                while true {
                    let index: Int? = state.lock.withLock {
                        guard state.failure == nil, state.next < items.count else { return nil }
                        defer { state.next += 1 }
                        return state.next
                    }
                    guard let index else { return }
                    do {
                        let result = try work(items[index])
                        state.lock.withLock { state.results[index] = result }
                    } catch {
                        state.lock.withLock { if state.failure == nil { state.failure = error } }
                    }
                }
            }
        }
        group.wait()
        if let failure = state.failure { throw failure }
        return state.results.compactMap { $0 }
    }
}

/// The shared state of `parallelMap`'s workers.
private final class ParallelState<R>: @unchecked Sendable {
    let lock = NSLock()
    var next = 0
    var results: [R?]
    var failure: (any Error)?
    init(count: Int) { results = Array(repeating: nil, count: count) }
}

/// The path of a URL, for logs (no query: upload URLs carry session state, presigned ones signatures).
func URLPath(_ url: String) -> String {
    var rest = Substring(url)
    if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
    if let question = rest.firstIndex(of: "?") { rest = rest[..<question] }
    return String(rest)
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
func queryEncode(_ value: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
}

/// `url` with `name=value` appended to its query.
func appendingQuery(_ url: String, _ name: String, _ value: String) -> String {
    url + (url.contains("?") ? "&" : "?") + name + "=" + queryEncode(value)
}

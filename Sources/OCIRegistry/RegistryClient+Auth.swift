import Foundation
import KilnHTTP

/// A parsed `WWW-Authenticate` challenge (RFC 7235 §4.1): a scheme and its auth-params.
struct AuthChallenge: Equatable {
    /// `basic` or `bearer`, lowercased.
    var scheme: String
    /// The parameters, names lowercased (`realm`, `service`, `scope`, `error`).
    var parameters: [String: String]

    /// Parses `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull,push"`;
    /// quoted values may hold commas and backslash escapes.
    init?(parsing header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        let schemeEnd = trimmed.firstIndex(of: " ") ?? trimmed.endIndex
        scheme = trimmed[..<schemeEnd].lowercased()
        parameters = [:]
        var rest = trimmed[schemeEnd...]
        while true {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let eq = rest.firstIndex(of: "=") else { break }
            let name = rest[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: eq)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                var end = rest.endIndex
                for index in rest.indices {
                    let c = rest[index]
                    if escaped { value.append(c); escaped = false; continue }
                    if c == "\\" { escaped = true; continue }
                    if c == "\"" { end = index; break }
                    value.append(c)
                }
                rest = end < rest.endIndex ? rest[rest.index(after: end)...] : rest[rest.endIndex...]
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            parameters[name] = value
        }
    }
}

/// The authentication state of one registry: the scheme learnt from its first challenge, the
/// credentials from the sources, and Bearer tokens cached per scope set (distribution "Token
/// Authentication Specification", https://distribution.github.io/distribution/spec/auth/token/).
final class AuthState: @unchecked Sendable {
    private enum Scheme {
        case unknown
        case basic
        case bearer(realm: String, service: String?)
    }

    private let registry: String
    private let sources: [any RegistryCredentialSource]
    private let transport: any RegistryTransport
    private let lock = NSLock()
    private var scheme = Scheme.unknown
    private var loaded = false
    private var credentials: (username: String, password: String)?
    private var tokens: [String: String] = [:]

    init(registry: String, sources: [any RegistryCredentialSource], transport: any RegistryTransport) {
        self.registry = registry
        self.sources = sources
        self.transport = transport
    }

    /// True when a source had credentials for the registry (for error messages).
    var hasCredentials: Bool { lock.withLock { credentials != nil } }

    /// The Authorization header value for a request needing `scopes`, or nil before the first challenge
    /// (requests start anonymous and learn the scheme from the 401).
    func authorization(for scopes: [String], operation: String) throws -> String? {
        try lock.withLock {
            switch scheme {
            case .unknown:
                return nil
            case .basic:
                return try loadCredentials().map(Self.basic)
            case let .bearer(realm, service):
                let key = scopes.sorted().joined(separator: " ")
                if let token = tokens[key] { return "Bearer " + token }
                let token = try fetchToken(realm: realm, service: service, scopes: scopes, operation: operation)
                tokens[key] = token
                return "Bearer " + token
            }
        }
    }

    /// Learns from a 401's challenge. When the request carried credentials (`sent`: they expired, or a
    /// token lacked a scope), cached credentials and tokens are dropped and the sources asked to forget
    /// theirs — unless a concurrent request renewed them already.
    func challenged(_ header: String, scopes: [String], sent: String?, operation: String) throws {
        try lock.withLock {
            if let sent {
                // Another request already renewed what this one sent: just use the new credentials.
                if let current = currentAuthorization(for: scopes), current != sent { return }
                for source in sources { source.invalidate(registry: registry) }
                loaded = false
                credentials = nil
                tokens.removeAll()
            }
            guard let challenge = AuthChallenge(parsing: header) else {
                throw RegistryError.unauthorized(operation, registry: registry, hadCredentials: credentials != nil,
                                                 detail: "the registry sent no WWW-Authenticate challenge")
            }
            switch challenge.scheme {
            case "basic":
                scheme = .basic
                guard try loadCredentials() != nil else {
                    throw RegistryError.unauthorized(operation, registry: registry, hadCredentials: false, detail: "")
                }
            case "bearer":
                guard let realm = challenge.parameters["realm"], realm.hasPrefix("http://") || realm.hasPrefix("https://") else {
                    throw RegistryError.invalidResponse("\(operation): the registry's Bearer challenge has no http(s) realm")
                }
                scheme = .bearer(realm: realm, service: challenge.parameters["service"])
            default:
                throw RegistryError.unauthorized(operation, registry: registry, hadCredentials: credentials != nil,
                                                 detail: "unsupported authentication scheme '\(challenge.scheme)'")
            }
        }
    }

    /// The header that would be sent now, without fetching anything. Call with the lock held.
    private func currentAuthorization(for scopes: [String]) -> String? {
        switch scheme {
        case .unknown: return nil
        case .basic: return loaded ? credentials.map(Self.basic) : nil
        case .bearer: return tokens[scopes.sorted().joined(separator: " ")].map { "Bearer " + $0 }
        }
    }

    /// The sources' first answer, asked once (again after a refusal). Call with the lock held.
    private func loadCredentials() throws -> (username: String, password: String)? {
        if !loaded {
            credentials = nil
            for source in sources {
                if let found = try source.credentials(for: registry) {
                    credentials = found
                    break
                }
            }
            loaded = true
        }
        return credentials
    }

    private static func basic(_ credentials: (username: String, password: String)) -> String {
        "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
    }

    /// GETs a token from the realm (`?service=…&scope=…`), with Basic credentials when there are any,
    /// anonymously otherwise; the answer is JSON with `token` or `access_token`. Call with the lock held.
    private func fetchToken(realm: String, service: String?, scopes: [String], operation: String) throws -> String {
        var url = realm
        if let service { url = appendingQuery(url, "service", service) }
        for scope in scopes { url = appendingQuery(url, "scope", scope) }
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let credentials = try loadCredentials() { headers.append(("Authorization", Self.basic(credentials))) }
        let response: HTTPResponse
        do {
            response = try transport.send(HTTPRequest(method: "GET", url: url, headers: headers), bodyTo: nil, progress: nil)
        } catch let error as KilnHTTPError {
            throw RegistryError.transport("\(operation): token request to \(URLPath(realm))", error)
        }
        if response.status == 401 || response.status == 403 {
            throw RegistryError.unauthorized("\(operation): token request to \(URLPath(realm))", registry: registry,
                                             hadCredentials: credentials != nil, detail: "")
        }
        guard response.isSuccess else {
            throw RegistryError.status("\(operation): token request to \(URLPath(realm))", response.status, detail: "")
        }
        struct Answer: Decodable {
            var token: String?
            var access_token: String?
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(response.body)),
              let token = [answer.token, answer.access_token].compactMap({ $0 }).first(where: { !$0.isEmpty }) else {
            throw RegistryError.invalidResponse("\(operation): the token service \(URLPath(realm)) answered without a token")
        }
        return token
    }
}

import Foundation

/// Where a `RegistryClient` gets a user name and password for a registry (used for Basic auth, or to
/// ask a Bearer token service for a token). Sources are asked in order; the first answer wins.
public protocol RegistryCredentialSource: Sendable {
    /// The credentials for `registry` (host[:port], `docker.io` for Docker Hub), or nil when this
    /// source has none for it.
    func credentials(for registry: String) throws -> (username: String, password: String)?
    /// Forgets any cached credentials for `registry`, after the registry refused them (a 401 in the
    /// middle of a long push when an ECR token expires).
    func invalidate(registry: String)
}

extension RegistryCredentialSource {
    /// Nothing is cached by default.
    public func invalidate(registry: String) {}
}

/// Fixed credentials for one registry (tests, or `--creds`-style input).
public struct StaticCredentials: RegistryCredentialSource {
    private let registry: String?
    private let username: String
    private let password: String

    /// Credentials for `registry`, or for every registry when it is nil.
    public init(registry: String? = nil, username: String, password: String) {
        self.registry = registry
        self.username = username
        self.password = password
    }

    /// The credentials when the registry matches.
    public func credentials(for registry: String) throws -> (username: String, password: String)? {
        guard self.registry == nil || self.registry == registry else { return nil }
        return (username, password)
    }
}

/// Credentials from Docker's `config.json`: `credHelpers` (per registry), `auths` (base64 `auth` or
/// `username`/`password`), and `credsStore`, the way the docker CLI resolves them. A helper is run as
/// `docker-credential-<name> get` with the server URL on stdin and answers JSON
/// `{"ServerURL":…,"Username":…,"Secret":…}`
/// (https://github.com/docker/docker-credential-helpers, "Usage").
public struct DockerConfigCredentials: RegistryCredentialSource {
    /// Runs a credential helper: (helper name, server URL) → its standard output, or nil when it has no
    /// credentials for the server (exit status non-zero with "credentials not found").
    public typealias HelperRunner = @Sendable (_ helper: String, _ serverURL: String) throws -> String?

    /// The config file path.
    public let path: String
    private let environment: [String: String]
    private let runHelper: HelperRunner

    /// The config at `path`, or `$DOCKER_CONFIG/config.json`, or `~/.docker/config.json`. Helpers are
    /// found on the environment's PATH unless `runHelper` is injected.
    public init(path: String? = nil, environment: [String: String], runHelper: HelperRunner? = nil) {
        if let path {
            self.path = path
        } else if let directory = environment["DOCKER_CONFIG"], !directory.isEmpty {
            self.path = directory + "/config.json"
        } else {
            self.path = (environment["HOME"] ?? NSHomeDirectory()) + "/.docker/config.json"
        }
        self.environment = environment
        let env = environment
        self.runHelper = runHelper ?? { helper, server in try Self.runHelperProcess(helper, server, environment: env) }
    }

    private struct ConfigFile: Decodable {
        struct Auth: Decodable {
            var auth: String?
            var username: String?
            var password: String?
            var identitytoken: String?
        }
        var auths: [String: Auth]?
        var credHelpers: [String: String]?
        var credsStore: String?
    }

    /// The keys a registry may be stored under: the bare host, with a scheme, and Docker Hub's legacy URL.
    static func keys(for registry: String) -> [String] {
        var keys = [registry, "https://\(registry)", "http://\(registry)", "https://\(registry)/v2/", "https://\(registry)/v1/"]
        if registry == "docker.io" {
            keys = ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io",
                    "https://registry-1.docker.io"] + keys
        }
        return keys
    }

    /// The credentials Docker would use for `registry`, or nil when the config has none (or does not exist).
    /// - Throws: `RegistryError` when the file is not valid JSON, an `auth` entry is malformed, or a helper fails.
    public func credentials(for registry: String) throws -> (username: String, password: String)? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let config: ConfigFile
        do {
            config = try JSONDecoder().decode(ConfigFile.self, from: data)
        } catch {
            throw RegistryError.dockerConfig(path, "not valid JSON (\(error))")
        }
        let keys = Self.keys(for: registry)
        let serverURL = registry == "docker.io" ? "https://index.docker.io/v1/" : registry
        if let helpers = config.credHelpers, let helper = keys.lazy.compactMap({ helpers[$0] }).first {
            return try fromHelper(helper, serverURL: serverURL)
        }
        if let auths = config.auths, let entry = keys.lazy.compactMap({ auths[$0] }).first {
            if let auth = entry.auth, !auth.isEmpty {
                guard let decoded = Data(base64Encoded: auth).map({ String(decoding: $0, as: UTF8.self) }),
                      let colon = decoded.firstIndex(of: ":") else {
                    // The value is a secret: never quote it.
                    throw RegistryError.dockerConfig(path, "the 'auth' entry for \(registry) is not base64 of user:password")
                }
                return (String(decoded[..<colon]), String(decoded[decoded.index(after: colon)...]))
            }
            if let username = entry.username, let password = entry.password {
                return (username, password)
            }
        }
        if let store = config.credsStore, !store.isEmpty {
            return try fromHelper(store, serverURL: serverURL)
        }
        return nil
    }

    private func fromHelper(_ helper: String, serverURL: String) throws -> (username: String, password: String)? {
        guard let output = try runHelper(helper, serverURL) else { return nil }
        struct Answer: Decodable {
            var Username: String?
            var Secret: String?
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(output.utf8)), let secret = answer.Secret else {
            throw RegistryError.credentialHelper(helper, "its answer for \(serverURL) is not JSON with Username and Secret")
        }
        return (answer.Username ?? "", secret)
    }

    /// Runs `docker-credential-<helper> get` from PATH with `serverURL` on stdin.
    static func runHelperProcess(_ helper: String, _ serverURL: String, environment: [String: String]) throws -> String? {
        let name = "docker-credential-\(helper)"
        let searchPath = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        guard let executable = searchPath.split(separator: ":").map({ "\($0)/\(name)" })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw RegistryError.credentialHelper(helper, "\(name) is not on PATH")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["get"]
        process.environment = environment
        let output = Pipe(), errors = Pipe(), input = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input
        do {
            try process.run()
        } catch {
            throw RegistryError.credentialHelper(helper, "cannot start \(executable): \(error)")
        }
        input.fileHandleForWriting.write(Data(serverURL.utf8))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            if (text + errorText).lowercased().contains("credentials not found") { return nil }
            // Only the first line of its complaint: helpers do not print secrets on failure.
            let reason = (text + errorText).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            throw RegistryError.credentialHelper(helper, "exit status \(process.terminationStatus) \(reason)")
        }
        return text
    }
}

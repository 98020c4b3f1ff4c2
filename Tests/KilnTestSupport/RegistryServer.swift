import Foundation
import Testing

/// Debian's `docker-registry` (the distribution project's registry, apt package `docker-registry`) on a
/// free loopback port, for end-to-end tests of pushes and pulls.
///
/// Storage is a filesystem directory in a temporary directory; authentication is htpasswd (bcrypt, made
/// with `htpasswd -Bbn` from apt package `apache2-utils`) with user `AWS` as ECR authenticates, unless
/// `password` is nil (then the registry is open). With `bearerTokens`, the registry instead demands
/// Bearer tokens (distribution's token authentication) from a small token service started beside it,
/// which signs RS256 JWTs with `openssl dgst` and grants every requested scope to user `AWS` with
/// `password` (to anyone when `password` is nil); `tokenRequests` lists what it was asked. With `tls`,
/// a self-signed certificate for 127.0.0.1 is made with `openssl req` and served; `caBundle` is its path.
/// The server is started in `init` (which returns once `/v2/` answers) and stopped with SIGKILL by
/// `stop()` or when the value goes away.
///
/// ```swift
/// let registry = try RegistryServer(password: "secret")
/// // push to "\(registry.host)/team/app:1" as user AWS with password "secret", over plain HTTP
/// ```
public final class RegistryServer: @unchecked Sendable {
    /// The user name the registry accepts (as ECR's tokens use).
    public static let username = "AWS"

    /// The registry process.
    public let server: ServerProcess
    /// `127.0.0.1:PORT`, the host part of references.
    public let host: String
    /// The port.
    public let port: Int
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    public let url: String
    /// The password of user `AWS`, or nil for an open registry.
    public let password: String?
    /// The PEM certificate to trust when serving TLS.
    public let caBundle: String?
    /// The directory holding the config, htpasswd file, certificate and storage.
    public let directory: TempDirectory
    /// Where the registry keeps blobs and repositories (`docker/registry/v2/...`).
    public var storagePath: String { directory.path + "/storage" }

    /// The token service when the registry uses Bearer tokens.
    private let tokenServer: PortPrintingServer?
    private let tokenLogPath: String

    /// One request to the token service.
    public struct TokenRequest: Decodable, Sendable {
        /// The `scope` parameters, in order.
        public var scopes: [String]
        /// The `service` parameter.
        public var service: String?
        /// Whether the request carried the right Basic credentials.
        public var authenticated: Bool
        /// Whether a token was issued.
        public var granted: Bool
    }

    /// Starts a registry. `password` sets user `AWS`'s password (nil: no authentication, or anonymous
    /// tokens); `bearerTokens` makes it demand Bearer tokens from its own token service; `tls` serves
    /// HTTPS with a fresh self-signed certificate.
    public init(password: String? = "kiln-test-password", tls: Bool = false, bearerTokens: Bool = false) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-registry") else {
            throw TestSupportError("/usr/bin/docker-registry is not installed: apt-get install docker-registry")
        }
        directory = try TempDirectory()
        port = try freeLoopbackPort()
        host = "127.0.0.1:\(port)"
        self.password = password
        var config = """
        version: 0.1
        log:
          level: warn
          accesslog:
            disabled: true
        storage:
          filesystem:
            rootdirectory: \(directory.path)/storage
          delete:
            enabled: true
          maintenance:
            uploadpurging:
              enabled: false
        http:
          addr: 127.0.0.1:\(port)
          secret: kiln-test-secret-\(UUID().uuidString)

        """
        if tls {
            let cert = directory.path + "/cert.pem", key = directory.path + "/key.pem"
            let result = try runProgram("/usr/bin/openssl", [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ])
            guard result.status == 0 else { throw TestSupportError("openssl req failed: \(result.output)") }
            config += "  tls:\n    certificate: \(cert)\n    key: \(key)\n"
            caBundle = cert
        } else {
            caBundle = nil
        }
        tokenLogPath = directory.path + "/tokens.jsonl"
        if bearerTokens {
            let cert = directory.path + "/token-cert.pem", key = directory.path + "/token-key.pem"
            let made = try runProgram("/usr/bin/openssl", [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                "-subj", "/CN=kiln-test-token-issuer",
            ])
            guard made.status == 0 else { throw TestSupportError("openssl req failed: \(made.output)") }
            let script = try directory.write("token_server.py", Self.tokenServerSource)
            let server = try PortPrintingServer(python: script, [key, cert, Self.username, password ?? "", tokenLogPath])
            tokenServer = server
            config += """
            auth:
              token:
                realm: \(server.url)/token
                service: kiln-test-registry
                issuer: kiln-test-token-issuer
                rootcertbundle: \(cert)

            """
        } else {
            tokenServer = nil
        }
        if let password, !bearerTokens {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/htpasswd") else {
                throw TestSupportError("/usr/bin/htpasswd is not installed: apt-get install apache2-utils")
            }
            let result = try runProgram("/usr/bin/htpasswd", ["-Bbn", Self.username, password])
            guard result.status == 0 else { throw TestSupportError("htpasswd failed: \(result.output)") }
            try directory.write("htpasswd", result.output.trimmingCharacters(in: .whitespacesAndNewlines) + "\n")
            config += "auth:\n  htpasswd:\n    realm: kiln-test\n    path: \(directory.path)/htpasswd\n"
        }
        let configPath = try directory.write("config.yml", config)
        url = (tls ? "https://" : "http://") + host
        server = try ServerProcess("/usr/bin/docker-registry", ["serve", configPath], port: port)
        // Listening is not yet serving: wait until /v2/ answers (200, or 401 when authentication is on).
        let deadline = Date().addingTimeInterval(30)
        while true {
            var arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code}", url + "/v2/"]
            if let caBundle { arguments = ["--cacert", caBundle] + arguments }
            let answer = try runProgram("/usr/bin/curl", arguments)
            if answer.output == "200" || answer.output == "401" { break }
            guard Date() < deadline else {
                server.stop()
                throw TestSupportError("docker-registry on \(host) did not answer /v2/ (last: \(answer.output))")
            }
            usleep(50_000)
        }
    }

    /// The requests the token service received so far (empty without `bearerTokens`).
    public var tokenRequests: [TokenRequest] {
        guard let text = try? String(contentsOfFile: tokenLogPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(TokenRequest.self, from: Data($0.utf8)) }
    }

    /// `--creds AWS:password` for skopeo (empty when the registry is open).
    public var skopeoCredentials: [String] {
        password.map { ["--creds", "\(Self.username):\($0)"] } ?? []
    }

    /// True when the registry's storage holds a manifest revision link for `repository` (any digest).
    public func hasManifests(in repository: String) -> Bool {
        let revisions = storagePath + "/docker/registry/v2/repositories/\(repository)/_manifests/revisions/sha256"
        return !((try? FileManager.default.contentsOfDirectory(atPath: revisions)) ?? []).isEmpty
    }

    /// Stops the registry now (its token service goes when the value does).
    public func stop() { server.stop() }

    /// The token service (distribution "Token Authentication Specification" and "Token Authentication
    /// Implementation"): GET /token?service=…&scope=… → {"token", "access_token", "expires_in"}, the JWT's
    /// header carrying the signing certificate in `x5c` so the registry verifies it against its
    /// rootcertbundle. argv: KEY CERT USER PASSWORD LOG.
    static let tokenServerSource = #"""
import base64, http.server, json, socketserver, subprocess, sys, threading, time, urllib.parse, uuid

key, cert, user, password, log_path = sys.argv[1:6]
der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], capture_output=True, check=True).stdout
x5c = base64.b64encode(der).decode()
lock = threading.Lock()

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def sign(claims):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(),
                               capture_output=True, check=True).stdout
    return signing_input + "." + b64url(signature)

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        scopes = query.get("scope", [])
        service = (query.get("service") or [None])[0]
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        authenticated = self.headers.get("Authorization") == expected
        granted = authenticated or password == ""
        with lock:
            with open(log_path, "a") as f:
                f.write(json.dumps({"scopes": scopes, "service": service, "authenticated": authenticated,
                                    "granted": granted}) + "\n")
        if not granted:
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}'
            self.send_response(401)
        else:
            access = []
            for scope in scopes:
                kind, rest = scope.split(":", 1)
                name, actions = rest.rsplit(":", 1)
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
            now = int(time.time())
            token = sign({"iss": "kiln-test-token-issuer", "sub": user if authenticated else "", "aud": service,
                          "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()), "access": access})
            body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""#

    deinit { server.stop() }
}

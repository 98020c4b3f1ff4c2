import Foundation
import KilnHTTP
import KilnTestSupport
import OCI
@testable import OCIRegistry
import Testing

/// A credential source that counts its calls and answers from a list (the last answer repeats).
final class CountingCredentials: RegistryCredentialSource, @unchecked Sendable {
    private let lock = NSLock()
    private let answers: [(String, String)]
    private(set) var calls = 0
    private(set) var invalidations = 0

    init(_ answers: [(String, String)]) { self.answers = answers }

    func credentials(for registry: String) throws -> (username: String, password: String)? {
        lock.withLock {
            defer { calls += 1 }
            let answer = answers[min(calls, answers.count - 1)]
            return (answer.0, answer.1)
        }
    }

    func invalidate(registry: String) { lock.withLock { invalidations += 1 } }
}

@Suite("registry authentication")
struct AuthTests {
    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    @Test("WWW-Authenticate challenges are parsed, quoted commas included", arguments: [
        (#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
         "bearer", ["realm": "https://auth.example/token", "service": "registry.example", "scope": "repository:a/b:pull,push"]),
        (#"Basic realm="kiln-test""#, "basic", ["realm": "kiln-test"]),
        (#"bearer realm=https://t.example/x, error="invalid_token", error_description="a \"quoted\" word""#, "bearer",
         ["realm": "https://t.example/x", "error": "invalid_token", "error_description": #"a "quoted" word"#]),
    ])
    func challenge(header: String, scheme: String, parameters: [String: String]) throws {
        let parsed = try #require(AuthChallenge(parsing: header))
        #expect(parsed.scheme == scheme)
        #expect(parsed.parameters == parameters)
    }

    @Test("Bearer: challenge, token with Basic credentials, cached per scope, renewed once after a later 401")
    func bearerFlow() throws {
        let tokensIssued = Counter()
        let expireFirstToken = Counter()
        let transport = FakeTransport { request, _ in
            if request.url.hasPrefix("https://auth.example/token") {
                let n = tokensIssued.next()
                return HTTPResponse(status: 200, body: Array(#"{"token":"tok-\#(n)","expires_in":300}"#.utf8))
            }
            let challenge = [("WWW-Authenticate", #"Bearer realm="https://auth.example/token",service="reg.example""#)]
            guard let auth = request.authorization, auth.hasPrefix("Bearer tok-") else {
                return HTTPResponse(status: 401, headers: challenge)
            }
            // The first token is revoked after its third use (a token that expired during a long push).
            if auth == "Bearer tok-1", expireFirstToken.next() >= 3 { return HTTPResponse(status: 401, headers: challenge) }
            return HTTPResponse(status: 200, headers: [("Docker-Content-Digest", "sha256:" + String(repeating: "0", count: 64))])
        }
        let credentials = CountingCredentials([("user", "s3cret")])
        let client = try RegistryClient(registry: "reg.example", options: testOptions(transport: transport),
                                        credentials: [credentials])
        for _ in 0..<4 {
            _ = try client.manifestDigest("v1", in: "team/app")
        }
        let requests = transport.recorded
        // anonymous 401 → token → retried; then the cached token; then 401 → new token → retried; cached.
        let manifest = "reg.example/v2/team/app/manifests/v1", token = "auth.example/token"
        #expect(requests.map { URLPath($0.url) } == [manifest, token, manifest, manifest, manifest, token, manifest, manifest])
        #expect(requests[1].url == "https://auth.example/token?service=reg.example&scope=repository%3Ateam%2Fapp%3Apull")
        #expect(requests[1].authorization == Self.basic("user", "s3cret"))
        #expect(requests[2].authorization == "Bearer tok-1")
        #expect(requests[4].authorization == "Bearer tok-1")
        #expect(requests[6].authorization == "Bearer tok-2")
        #expect(requests[7].authorization == "Bearer tok-2")
        #expect(credentials.invalidations == 1)
    }

    @Test("Bearer with access_token and without credentials asks anonymously")
    func anonymousBearer() throws {
        let transport = FakeTransport { request, _ in
            if request.url.hasPrefix("https://auth.example/") {
                return HTTPResponse(status: 200, body: Array(#"{"access_token":"anon"}"#.utf8))
            }
            if request.authorization == "Bearer anon" {
                return HTTPResponse(status: 200, headers: [("Docker-Content-Digest", "sha256:" + String(repeating: "1", count: 64))])
            }
            return HTTPResponse(status: 401, headers: [("WWW-Authenticate", #"Bearer realm="https://auth.example/t""#)])
        }
        let client = try RegistryClient(registry: "reg.example", options: testOptions(transport: transport), credentials: [])
        #expect(try client.manifestDigest("v1", in: "library/debian") != nil)
        #expect(transport.recorded[1].authorization == nil)
    }

    @Test("Basic: a refused password is asked for again once; a second refusal is an error without the secret")
    func basicFlow() throws {
        let transport = FakeTransport { request, _ in
            if request.authorization == Self.basic("AWS", "good-token") { return HTTPResponse(status: 404) }
            return HTTPResponse(status: 401, headers: [("WWW-Authenticate", #"Basic realm="r""#)],
                                body: Array(#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#.utf8))
        }
        // First answer is stale, the second (after invalidation) good.
        let renewing = CountingCredentials([("AWS", "stale-token"), ("AWS", "good-token")])
        let client = try RegistryClient(registry: "reg.example", options: testOptions(transport: transport), credentials: [renewing])
        let first = try OCI.Digest(parsing: "sha256:" + String(repeating: "2", count: 64))
        #expect(try client.blobExists(Descriptor(mediaType: MediaType.layerTarGzip, digest: first, size: 1), in: "a") == false)
        // The anonymous probe, the stale password, then the good one after a single re-authentication.
        #expect(transport.recorded.map(\.authorization) == [nil, Self.basic("AWS", "stale-token"), Self.basic("AWS", "good-token")])
        #expect(renewing.invalidations == 1)

        let wrong = CountingCredentials([("AWS", "wrong-secret-value")])
        let refused = try RegistryClient(registry: "reg.example", options: testOptions(transport: transport), credentials: [wrong])
        #expect {
            _ = try refused.blobExists(Descriptor(mediaType: MediaType.layerTarGzip, digest: first, size: 1), in: "a")
        } throws: { error in
            let text = "\(error)"
            return (error as? RegistryError)?.isUnauthorized == true && text.contains("UNAUTHORIZED")
                && !text.contains("wrong-secret-value") && text.contains("docker login")
        }

        let none = try RegistryClient(registry: "reg.example", options: testOptions(transport: transport), credentials: [])
        #expect {
            _ = try none.blobExists(Descriptor(mediaType: MediaType.layerTarGzip, digest: first, size: 1), in: "a")
        } throws: { "\($0)".contains("no credentials for reg.example") }
    }

    @Test("a 401 inside an upload session starts a new session after logging in again; no byte is replayed")
    func reauthenticateDuringUpload() throws {
        let directory = try TempDirectory()
        let blob = [UInt8](repeating: 7, count: 12 << 20)
        let file = directory.path + "/blob"
        _ = FileManager.default.createFile(atPath: file, contents: Data(blob))
        let digest = OCI.Digest.sha256(of: blob)
        let sessions = Counter()
        let patches = Counter()
        let transport = FakeTransport { request, _ in
            guard request.authorization != nil else {
                return HTTPResponse(status: 401, headers: [("WWW-Authenticate", #"Basic realm="r""#)])
            }
            let challenge = HTTPResponse(status: 401, headers: [("WWW-Authenticate", #"Basic realm="r""#)])
            switch request.method {
            case "POST":
                return HTTPResponse(status: 202, headers: [("Location", "/v2/a/blobs/uploads/s\(sessions.next())")])
            case "PATCH":
                // The ECR token expires during the second PATCH of the first session.
                if patches.next() == 2 { return challenge }
                return HTTPResponse(status: 202, headers: [("Location", URLPath(request.url).replacingOccurrences(of: "127.0.0.1:1", with: ""))])
            case "PUT":
                return HTTPResponse(status: 201, headers: [("Docker-Content-Digest", digest.description)])
            default:
                return HTTPResponse(status: 404)
            }
        }
        let credentials = CountingCredentials([("AWS", "t1"), ("AWS", "t2")])
        var options = testOptions(transport: transport)
        options.monolithicLimit = 1 << 20
        options.chunkSize = 5 << 20
        let client = try RegistryClient(registry: "127.0.0.1:1", options: options, credentials: [credentials])
        let outcome = try client.uploadBlob(Descriptor(mediaType: MediaType.layerTarGzip, digest: digest, size: Int64(blob.count)),
                                            file: file, to: "a")
        #expect(outcome == .uploaded)
        let patchRequests = transport.recorded.filter { $0.method == "PATCH" }
        let bySession = Dictionary(grouping: patchRequests, by: { URLPath($0.url) })
        for (session, requests) in bySession {
            let ranges = requests.compactMap { $0.headers.first { $0.0 == "Content-Range" }?.1 }
            #expect(Set(ranges).count == ranges.count, "session \(session) received a range twice: \(ranges)")
        }
        // Session s1 saw 0-5242879 then the refused 5242880-…; s2 got all three chunks.
        #expect(bySession["127.0.0.1:1/v2/a/blobs/uploads/s1"]?.count == 2)
        #expect(bySession["127.0.0.1:1/v2/a/blobs/uploads/s2"]?.compactMap { $0.headers.first { $0.0 == "Content-Range" }?.1 }
                == ["0-5242879", "5242880-10485759", "10485760-12582911"])
        #expect(credentials.invalidations == 1)
        #expect(transport.recorded.last?.authorization == Self.basic("AWS", "t2"))
    }

    @Test("chunks honour the registry's OCI-Chunk-Min-Length and never go below 5 MiB", arguments: [
        (0, 1 << 20, [5 << 20, 5 << 20, 2 << 20]),
        (8 << 20, 5 << 20, [8 << 20, 4 << 20]),
        (0, 7 << 20, [7 << 20, 5 << 20]),
    ] as [(Int, Int, [Int])])
    func chunkSizes(minimum: Int, configured: Int, expected: [Int]) throws {
        let directory = try TempDirectory()
        let blob = [UInt8](repeating: 1, count: 12 << 20)
        let file = directory.path + "/blob"
        _ = FileManager.default.createFile(atPath: file, contents: Data(blob))
        let digest = OCI.Digest.sha256(of: blob)
        let transport = FakeTransport { request, _ in
            switch request.method {
            case "POST":
                return HTTPResponse(status: 202, headers: [("Location", "/v2/a/blobs/uploads/u?_state=x")]
                                    + (minimum > 0 ? [("OCI-Chunk-Min-Length", String(minimum))] : []))
            case "PATCH": return HTTPResponse(status: 202, headers: [("Location", "/v2/a/blobs/uploads/u?_state=y")])
            default: return HTTPResponse(status: 201)
            }
        }
        var options = testOptions(transport: transport)
        options.chunkSize = configured
        options.monolithicLimit = 1 << 20
        let client = try RegistryClient(registry: "127.0.0.1:1", options: options, credentials: [])
        _ = try client.uploadBlob(Descriptor(mediaType: MediaType.layerTarGzip, digest: digest, size: Int64(blob.count)),
                                  file: file, to: "a")
        let patches = transport.recorded.filter { $0.method == "PATCH" }
        #expect(patches.compactMap { $0.bodyFileRange.map { Int($0.count) } } == expected)
        #expect(patches.allSatisfy { $0.headers.contains { $0 == ("Content-Type", "application/octet-stream") } })
        let close = try #require(transport.recorded.last)
        #expect(close.method == "PUT")
        #expect(close.url == "http://127.0.0.1:1/v2/a/blobs/uploads/u?_state=y&digest=sha256%3A\(digest.hex)")
    }

    @Test("a blob GET redirected to object storage is followed without the registry's Authorization")
    func redirect() throws {
        let directory = try TempDirectory()
        let layout = try ImageLayout.create(at: directory.path + "/layout")
        let content = Array("layer bytes".utf8)
        let digest = OCI.Digest.sha256(of: content)
        let transport = FakeTransport { request, _ in
            if request.url.hasPrefix("https://bucket.example/") {
                return request.authorization == nil ? HTTPResponse(status: 200, body: content) : HTTPResponse(status: 400)
            }
            if request.authorization == nil {
                return HTTPResponse(status: 401, headers: [("WWW-Authenticate", #"Basic realm="r""#)])
            }
            return HTTPResponse(status: 307, headers: [("Location", "https://bucket.example/blob?X-Amz-Signature=abc")])
        }
        let client = try RegistryClient(registry: "reg.example", options: testOptions(transport: transport),
                                        credentials: [StaticCredentials(username: "u", password: "p")])
        try client.downloadBlob(Descriptor(mediaType: MediaType.layerTarGzip, digest: digest, size: Int64(content.count)),
                                from: "a", into: layout)
        #expect(FileManager.default.contents(atPath: layout.blobPath(digest)).map(Array.init) == content)
        #expect(transport.recorded.last?.url.hasPrefix("https://bucket.example/") == true)
    }

    @Test("a download whose bytes do not match the digest is retried, then refused, and leaves nothing behind")
    func corruptDownload() throws {
        let directory = try TempDirectory()
        let layout = try ImageLayout.create(at: directory.path + "/layout")
        let digest = OCI.Digest.sha256(of: Array("expected".utf8))
        let transport = FakeTransport { _, _ in HTTPResponse(status: 200, body: Array("tampered".utf8)) }
        let client = try RegistryClient(registry: "reg.example", options: testOptions(transport: transport, maxAttempts: 2),
                                        credentials: [])
        #expect(throws: RegistryError.self) {
            try client.downloadBlob(Descriptor(mediaType: MediaType.layerTarGzip, digest: digest, size: 8), from: "a", into: layout)
        }
        #expect(transport.recorded.count == 2)
        #expect(!layout.hasBlob(digest))
        #expect(try FileManager.default.contentsOfDirectory(atPath: layout.path + "/blobs/sha256").isEmpty)
    }

    @Test("5xx and 429 are retried with backoff; 4xx are not")
    func retries() throws {
        let transport = FakeTransport { _, n in
            n <= 2 ? HTTPResponse(status: n == 1 ? 503 : 429) : HTTPResponse(status: 404)
        }
        let slept = Counter()
        var options = testOptions(transport: transport, maxAttempts: 5)
        options.sleep = { _ in _ = slept.next() }
        let client = try RegistryClient(registry: "reg.example", options: options, credentials: [])
        #expect(try client.manifestDigest("v1", in: "a") == nil)
        #expect(transport.recorded.count == 3)
        #expect(slept.value == 2)
    }
}

/// A thread-safe counter; `next()` returns 1, 2, 3, …
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func next() -> Int { lock.withLock { count += 1; return count } }
    var value: Int { lock.withLock { count } }
}

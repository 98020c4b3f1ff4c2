import Foundation
import Testing
import KilnHTTP

private func decodeEcho(_ response: HTTPResponse) throws -> Echo {
    try JSONDecoder().decode(Echo.self, from: Data(response.body))
}

@Test func getReturnsStatusHeadersAndBody() throws {
    try withServer { server in
        let client = try HTTPClient()
        let response = try client.send(HTTPRequest(url: server.url("/bytes/100000")))
        #expect(response.status == 200)
        #expect(response.isSuccess)
        #expect(response.header("content-length") == "100000")
        #expect(response.body == generatedBytes(100_000))
    }
}

@Test func customHeadersAreSentAndResponseHeaderNamesKeptAsReceived() throws {
    try withServer { server in
        let client = try HTTPClient()
        let response = try client.send(HTTPRequest(
            url: server.url("/echo?x=1"),
            headers: [("X-Kiln-Test", "a b c"), ("X-Empty", ""), ("User-Agent", "kiln-test/1")]))
        let echo = try decodeEcho(response)
        #expect(echo.method == "GET")
        #expect(echo.path == "/echo?x=1")
        #expect(echo.header("X-Kiln-Test") == "a b c")
        #expect(echo.header("X-Empty") == "")
        #expect(echo.header("User-Agent") == "kiln-test/1")
        #expect(echo.header("Expect") == nil)
        #expect(response.headers.contains { $0.0 == "X-Kiln-Echo" && $0.1 == "yes" })
    }
}

/// Methods and bodies: (method, body, expected length seen by the server).
private let methodCases: [(String, HTTPBody, Int)] = [
    ("POST", .bytes(Array("{\"a\":1}".utf8)), 7),
    ("POST", .none, 0),
    ("PUT", .bytes([0, 1, 2, 255]), 4),
    ("PUT", .bytes([]), 0),
    ("PATCH", .bytes(Array("patch".utf8)), 5),
    ("DELETE", .none, 0),
]

@Test(arguments: methodCases.indices)
func methodsAndInMemoryBodies(index: Int) throws {
    let (method, body, length) = methodCases[index]
    try withServer { server in
        let client = try HTTPClient()
        let echo = try decodeEcho(try client.send(HTTPRequest(method: method, url: server.url("/echo"), body: body)))
        #expect(echo.method == method)
        #expect(echo.length == length)
        if case let .bytes(bytes) = body { #expect(echo.body == bytes.map { String(format: "%02x", $0) }.joined()) }
        if method == "POST" || method == "PUT" { #expect(echo.header("Content-Length") == String(length)) }
    }
}

@Test func headHasNoBody() throws {
    try withServer { server in
        let response = try HTTPClient().send(HTTPRequest(method: "HEAD", url: server.url("/bytes/5000")))
        #expect(response.status == 200)
        #expect(response.header("Content-Length") == "5000")
        #expect(response.body.isEmpty)
    }
}

@Test func putStreamsA50MBFileWithProgress() throws {
    try withTemporaryDirectory { dir in
        let path = dir + "/upload.bin"
        var block = [UInt8](repeating: 0, count: 1 << 20)
        for i in block.indices { block[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 11) }
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        for i in 0..<50 { block[0] = UInt8(i); try handle.write(contentsOf: block) }
        try handle.close()
        let size = 50 << 20

        let sent = Recorder<(Int64, Int64)>((0, 0))
        let options = HTTPClient.Options(progress: { sentBytes, totalSend, _, _ in
            sent.update { $0 = (max($0.0, sentBytes), max($0.1, totalSend)) }
        })
        try withServer { server in
            let client = try HTTPClient(options: options)
            let response = try client.send(HTTPRequest(method: "PUT", url: server.url("/echo"), body: .file(path: path)))
            let echo = try decodeEcho(response)
            #expect(echo.length == size)
            #expect(echo.sha256 == (try sha256sum(path)))
            #expect(echo.header("Content-Length") == String(size))
        }
        #expect(sent.value.0 == Int64(size))
        #expect(sent.value.1 == Int64(size))
    }
}

@Test func responseStreamedToFileMatches() throws {
    try withTemporaryDirectory { dir in
        try withServer { server in
            let client = try HTTPClient()
            let path = dir + "/download.bin"
            let size = 8_000_000
            let response = try client.send(HTTPRequest(url: server.url("/bytes/\(size)")), bodyTo: path)
            #expect(response.status == 200)
            #expect(response.body.isEmpty)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(generatedBytes(size)))

            // A non-2xx body comes back in memory and leaves no file behind.
            let missing = dir + "/missing.bin"
            let notFound = try client.send(HTTPRequest(url: server.url("/status/404")), bodyTo: missing)
            #expect(notFound.status == 404)
            #expect(String(decoding: notFound.body, as: UTF8.self) == "status 404")
            #expect(!FileManager.default.fileExists(atPath: missing))
        }
    }
}

@Test func connectionIsReused() throws {
    try withServer { server in
        let client = try HTTPClient()
        let first = try decodeEcho(try client.send(HTTPRequest(url: server.url("/echo"))))
        let second = try decodeEcho(try client.send(HTTPRequest(method: "PUT", url: server.url("/echo"), body: .bytes([1]))))
        #expect(first.peer == second.peer, "the second request should reuse the first connection")
    }
}

@Test(arguments: [200, 204, 301, 403, 404, 500, 503])
func statusesAreResponsesNotErrors(status: Int) throws {
    try withServer { server in
        let response = try HTTPClient().send(HTTPRequest(url: server.url("/status/\(status)")))
        #expect(response.status == status)
    }
}

@Test func connectionRefusedCarriesCurlMessageAndHidesTheQuery() throws {
    let client = try HTTPClient()
    let url = "http://127.0.0.1:1/bucket/key?X-Amz-Signature=topsecret&X-Amz-Credential=AKIDEXAMPLE"
    #expect {
        _ = try client.send(HTTPRequest(url: url))
    } throws: { error in
        let text = String(describing: error)
        guard let error = error as? KilnHTTPError else { return false }
        return text.contains("Couldn't connect to server") && text.contains("curl_easy_perform")
            && text.contains("GET http://127.0.0.1:1/bucket/key") && !text.contains("topsecret")
            && !text.contains("AKIDEXAMPLE") && error.isRetryable && !error.isTimeout
    }
}

@Test func lowSpeedLimitAbortsAStalledTransfer() throws {
    try withServer { server in
        let client = try HTTPClient(options: .init(lowSpeedLimit: 1000, lowSpeedTime: .seconds(1)))
        let start = ContinuousClock.now
        #expect {
            _ = try client.send(HTTPRequest(url: server.url("/stall")))
        } throws: { error in
            (error as? KilnHTTPError)?.isTimeout == true && String(describing: error).contains("Timeout was reached")
        }
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}

@Test func totalTimeoutAbortsASlowServer() throws {
    try withServer { server in
        let client = try HTTPClient(options: .init(timeout: .milliseconds(500)))
        let start = ContinuousClock.now
        #expect {
            _ = try client.send(HTTPRequest(url: server.url("/sleep")))
        } throws: { error in
            (error as? KilnHTTPError)?.isTimeout == true && (error as? KilnHTTPError)?.isRetryable == true
        }
        #expect(ContinuousClock.now - start < .seconds(5))
        // The client is still usable afterwards.
        #expect(try client.send(HTTPRequest(url: server.url("/status/200"))).status == 200)
    }
}

/// Requests the client must refuse before touching the network.
private let invalidRequests: [(String, HTTPRequest)] = [
    ("header injection", HTTPRequest(url: "http://127.0.0.1:1/", headers: [("X-A", "b\r\nX-Evil: 1")])),
    ("bad header name", HTTPRequest(url: "http://127.0.0.1:1/", headers: [("Bad Name", "x")])),
    ("bad method", HTTPRequest(method: "GE T", url: "http://127.0.0.1:1/")),
    ("HEAD with body", HTTPRequest(method: "HEAD", url: "http://127.0.0.1:1/", body: .bytes([1]))),
    ("file URL", HTTPRequest(url: "file:///etc/passwd")),
    ("relative URL", HTTPRequest(url: "/just/a/path")),
    ("missing body file", HTTPRequest(method: "PUT", url: "http://127.0.0.1:1/", body: .file(path: "/nonexistent/kiln"))),
]

@Test(arguments: invalidRequests.map(\.0))
func invalidRequestsAreRefused(name: String) throws {
    let request = try #require(invalidRequests.first { $0.0 == name }).1
    #expect(throws: KilnHTTPError.self, "\(name)") { try HTTPClient().send(request) }
}

@Test func downloadToUnwritablePathNamesThePath() throws {
    try withServer { server in
        #expect {
            _ = try HTTPClient().send(HTTPRequest(url: server.url("/bytes/10")), bodyTo: "/nonexistent/dir/out.bin")
        } throws: { error in
            String(describing: error).contains("/nonexistent/dir/out.bin")
                && String(describing: error).contains("No such file or directory")
        }
    }
}

/// CA bundle precedence: explicit, then AWS_CA_BUNDLE, then SSL_CERT_FILE.
private let caCases: [(String?, [String: String], String?)] = [
    (nil, [:], nil),
    (nil, ["SSL_CERT_FILE": "/ssl.pem"], "/ssl.pem"),
    (nil, ["SSL_CERT_FILE": "/ssl.pem", "AWS_CA_BUNDLE": "/aws.pem"], "/aws.pem"),
    (nil, ["AWS_CA_BUNDLE": "", "SSL_CERT_FILE": "/ssl.pem"], "/ssl.pem"),
    ("/explicit.pem", ["AWS_CA_BUNDLE": "/aws.pem"], "/explicit.pem"),
]

@Test(arguments: caCases.indices)
func caBundleComesFromTheInjectedEnvironment(index: Int) {
    let (explicit, environment, expected) = caCases[index]
    #expect(HTTPClient.Options(caBundle: explicit, environment: environment).caBundle == expected)
}

@Test func missingCABundleFailsTLSWithAHint() throws {
    // No network is needed: curl fails loading the CA file before or while connecting.
    let client = try HTTPClient(options: .init(connectTimeout: .seconds(2), caBundle: "/nonexistent/ca.pem"))
    try withServer { server in
        #expect {
            _ = try client.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/"))
        } throws: { error in
            String(describing: error).contains("curl_easy_perform")
        }
    }
}

@Test func redactedDescriptionDropsQueryAndUserInfo() {
    let request = HTTPRequest(method: "PUT", url: "https://user:pw@bucket.s3.amazonaws.com/a/b?X-Amz-Signature=s#frag")
    #expect(request.redactedDescription == "PUT https://bucket.s3.amazonaws.com/a/b")
}

@Test func verboseLogRedactsCredentialsAndQuery() throws {
    let lines = Recorder<[String]>([])
    let options = HTTPClient.Options(verbose: true, logSink: { line in lines.update { $0.append(line) } })
    try withServer { server in
        let client = try HTTPClient(options: options)
        let response = try client.send(HTTPRequest(
            method: "PUT", url: server.url("/echo?X-Amz-Signature=topsecret"),
            headers: [("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"), ("X-Amz-Security-Token", "tok3n")],
            body: .bytes(Array("body-bytes".utf8))))
        #expect(response.status == 200)
    }
    let log = lines.value.joined(separator: "\n")
    #expect(log.contains("> PUT /echo?<query redacted> HTTP/1.1"), "\(log)")
    #expect(log.contains("> Authorization: <redacted>"))
    #expect(log.contains("> X-Amz-Security-Token: <redacted>"))
    #expect(log.contains("< HTTP/1.0 200") || log.contains("< HTTP/1.1 200"))
    for secret in ["topsecret", "AKIDEXAMPLE", "tok3n", "body-bytes"] {
        #expect(!log.contains(secret), "\(secret) leaked into the verbose log")
    }
}

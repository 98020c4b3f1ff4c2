import AWSCredentials
import Foundation
import SigV4
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A temporary HOME with helpers to write files into it; removed by `remove()`.
struct Sandbox {
    let home: String

    init() throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-creds-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
    }

    /// Writes `contents` to `relative` under HOME; returns the absolute path.
    @discardableResult
    func write(_ relative: String, _ contents: String, executable: Bool = false) throws -> String {
        let path = home + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path) }
        return path
    }

    /// An environment with this HOME, IMDS off (so no test ever reaches 169.254.169.254), plus `extra`.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ["HOME": home, "PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"].merging(extra) { _, new in new }
    }

    func remove() { try? FileManager.default.removeItem(atPath: home) }
}

/// Runs `body` with a fresh sandbox and removes it afterwards.
func withSandbox<T>(_ body: (Sandbox) throws -> T) throws -> T {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    return try body(sandbox)
}

/// A settable clock for the chain.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = start }

    var now: Date {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }

    /// The clock as the chain takes it.
    var function: @Sendable () -> Date { { [self] in now } }
}

/// An STSCaller that records its inputs and returns numbered temporary credentials.
final class FakeSTS: STSCaller, @unchecked Sendable {
    struct Call: Equatable, Sendable {
        var kind: String
        var roleARN: String
        var sessionName: String
        var externalID: String?
        var durationSeconds: Int?
        /// The access key ID of the credentials AssumeRole was signed with.
        var usingKeyID: String?
        var token: String?
        var region: String
    }

    private let lock = NSLock()
    private var recorded: [Call] = []
    private let clock: @Sendable () -> Date
    private let lifetime: TimeInterval
    var delay: TimeInterval = 0
    /// When true, calls are recorded and then fail.
    var failing = false

    init(clock: @escaping @Sendable () -> Date = Date.init, lifetime: TimeInterval = 3600) {
        self.clock = clock
        self.lifetime = lifetime
    }

    var calls: [Call] { lock.withLock { recorded } }

    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "STS is unavailable (fake)" }
    }

    private func issue(_ call: Call) throws -> Credentials {
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        let (n, fail) = lock.withLock {
            recorded.append(call)
            return (recorded.count, failing)
        }
        if fail { throw Unavailable() }
        return Credentials(accessKeyID: "ASIASTS\(n)", secretAccessKey: "sts-secret-\(n)", sessionToken: "sts-token-\(n)",
                           expiration: clock().addingTimeInterval(lifetime), source: "sts")
    }

    func assumeRole(roleARN: String, sessionName: String, externalID: String?, durationSeconds: Int?,
                    using: Credentials, region: String) throws -> Credentials {
        try issue(Call(kind: "AssumeRole", roleARN: roleARN, sessionName: sessionName, externalID: externalID,
                   durationSeconds: durationSeconds, usingKeyID: using.accessKeyID, token: nil, region: region))
    }

    func assumeRoleWithWebIdentity(roleARN: String, sessionName: String, token: String, durationSeconds: Int?,
                                   region: String) throws -> Credentials {
        try issue(Call(kind: "AssumeRoleWithWebIdentity", roleARN: roleARN, sessionName: sessionName, externalID: nil,
                   durationSeconds: durationSeconds, usingKeyID: nil, token: token, region: region))
    }
}

/// The error `body` throws, as CredentialsError (recording an issue when it throws nothing or another type).
func credentialsError(_ body: () throws -> Any, sourceLocation: SourceLocation = #_sourceLocation) -> CredentialsError? {
    do {
        let value = try body()
        Issue.record("expected a CredentialsError, got \(value)", sourceLocation: sourceLocation)
    } catch let error as CredentialsError {
        return error
    } catch {
        Issue.record("expected a CredentialsError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// A one-request-per-connection HTTP/1.1 server on a free loopback port, answering with `handler` on a
/// background thread and recording every request in order. Stop it with `stop()`.
final class LoopbackServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        /// Header fields by lower-cased name.
        var headers: [String: String]
    }

    struct Response: Sendable {
        var status: Int
        var body: String
        init(_ status: Int, _ body: String) {
            self.status = status
            self.body = body
        }
    }

    let port: Int
    private let listener: Int32
    private let handler: @Sendable (Request) -> Response
    private let lock = NSLock()
    private var recorded: [Request] = []
    private var stopping = false
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)

    init(handler: @escaping @Sendable (Request) -> Response) throws {
        struct SocketFailure: Error, CustomStringConvertible {
            var description: String
        }
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketFailure(description: "socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw SocketFailure(description: "bind/listen on 127.0.0.1 failed: errno \(errno)")
        }
        listener = fd
        port = Self.localPort(fd)
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// The port a bound socket listens on.
    static func localPort(_ fd: Int32) -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A loopback port nothing listens on (bound, read, closed).
    static func closedPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let port = localPort(fd)
        close(fd)
        return port
    }

    /// http://127.0.0.1:port
    var base: String { "http://127.0.0.1:\(port)" }

    /// The requests received so far, in order.
    var requests: [Request] { lock.withLock { recorded } }

    /// Stops accepting, waits for the serving thread, closes the socket. Safe to call twice.
    func stop() {
        let first: Bool = lock.withLock {
            defer { stopping = true }
            return !stopping
        }
        guard first else { return }
        finished.wait()
        close(listener)
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func serve() {
        while !isStopping {
            var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            handle(client)
            close(client)
        }
        finished.signal()
    }

    private func handle(_ fd: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { return }
            buffer += chunk[0..<n]
            if buffer.count >= 4 {
                headerEnd = (0...(buffer.count - 4)).first { Array(buffer[$0..<($0 + 4)]) == separator }
            }
        }
        guard let headerEnd else { return }
        let lines = String(decoding: buffer[0..<headerEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var remaining = (Int(headers["content-length"] ?? "0") ?? 0) - (buffer.count - headerEnd - 4)
        while remaining > 0 {
            let n = recv(fd, &chunk, min(chunk.count, remaining), 0)
            guard n > 0 else { return }
            remaining -= n
        }
        let request = Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers)
        lock.withLock { recorded.append(request) }
        let response = handler(request)
        let body = Array(response.body.utf8)
        let head = "HTTP/1.1 \(response.status) Test\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array(head.utf8) + body
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            offset += n
        }
    }
}

/// Runs `body` with a server answering with `handler`, and stops it afterwards.
func withServer<T>(_ handler: @escaping @Sendable (LoopbackServer.Request) -> LoopbackServer.Response,
                   _ body: (LoopbackServer) throws -> T) throws -> T {
    let server = try LoopbackServer(handler: handler)
    defer { server.stop() }
    return try body(server)
}

/// The JSON the container endpoint and IMDS answer with.
func metadataJSON(keyID: String, secret: String, token: String, expiration: String = "2030-01-01T00:00:00Z") -> String {
    #"{"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "\#(keyID)", "SecretAccessKey": "\#(secret)", "Token": "\#(token)", "Expiration": "\#(expiration)"}"#
}

import AWSCore
import AWSCredentials
import EC2
import Foundation
import KilnTestSupport
import SigV4
#if canImport(Glibc)
import Glibc
#endif

/// A client of `endpoint` in `region` that never retries and never sleeps, so failures show at once.
func makeClient(endpoint: String, region: String = "us-east-1") throws -> EC2Client {
    try EC2Client(config: AWSConfig(region: region, credentials: MotoCredentials(), endpointURL: endpoint,
                                    maxAttempts: 1, sleep: { _ in }))
}

/// The error a call throws, as an `AWSError` (nil when it succeeds or throws something else).
func awsError<T>(_ body: () throws -> T) -> AWSError? {
    do {
        _ = try body()
        return nil
    } catch let error as AWSError {
        return error
    } catch {
        return nil
    }
}

/// A default AMI of moto's (an Amazon Linux 2 image owned by `amazon`), found at run time.
func motoDefaultImage(_ ec2: EC2Client) throws -> Image {
    let images = try ec2.describeImages(owners: ["amazon"], filters: [Filter("name", "amzn2-ami-hvm-*")])
    guard let image = images.first else { throw TestSupportError("moto has no amzn2-ami-hvm-* image owned by amazon") }
    return image
}

/// A loopback HTTP/1.1 server in the test process: it records each request's form body and answers
/// with what `respond` returns for it (one request per connection; `Connection: close`). For operations
/// moto does not implement, it checks kiln's serialization and plays AWS's documented answers.
final class RecordingServer: @unchecked Sendable {
    /// One request as the server saw it.
    struct Request: Sendable {
        /// The request line's method.
        var method: String
        /// Header lines, names lower-cased.
        var headers: [String: String]
        /// The form body, decoded, in order.
        var form: [(String, String)]

        /// The value of a form parameter.
        subscript(_ name: String) -> String? { form.first { $0.0 == name }?.1 }
        /// The form as a dictionary (names are unique in a Query request).
        var parameters: [String: String] { Dictionary(form, uniquingKeysWith: { first, _ in first }) }
    }

    /// An answer: status and XML body.
    typealias Response = (status: Int, body: String)

    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var requests: [Request] = []
        let respond: @Sendable (Request) -> Response
        init(respond: @escaping @Sendable (Request) -> Response) { self.respond = respond }
    }

    /// `http://127.0.0.1:PORT`.
    let url: String
    private let socket: Int32
    private let state: State
    private let finished = DispatchSemaphore(value: 0)

    /// Starts listening on a free loopback port.
    init(respond: @escaping @Sendable (Request) -> Response) throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw TestSupportError("cannot listen on 127.0.0.1")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        socket = fd
        url = "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))"
        let state = State(respond: respond)
        self.state = state
        let finished = self.finished
        Thread.detachNewThread {
            RecordingServer.serve(fd, state)
            finished.signal()
        }
    }

    deinit {
        Glibc.shutdown(socket, Int32(SHUT_RDWR))
        _ = finished.wait(timeout: .now() + 5)
        close(socket)
    }

    /// The requests received so far.
    var requests: [Request] { state.lock.withLock { state.requests } }

    private static func serve(_ listener: Int32, _ state: State) {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            handle(connection, state)
            close(connection)
        }
    }

    private static func handle(_ connection: Int32, _ state: State) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        func readMore() -> Bool {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            received += buffer[0..<count]
            return true
        }
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            if received.count >= 4 {
                headerEnd = (0...(received.count - 4)).first { Array(received[$0..<($0 + 4)]) == separator }
            }
            if headerEnd == nil, !readMore() { return }
        }
        guard let headerEnd else { return }
        let head = String(decoding: received[0..<headerEnd], as: UTF8.self).components(separatedBy: "\r\n")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = headers["content-length"].flatMap { Int($0) } ?? 0
        while received.count < headerEnd + 4 + length {
            if !readMore() { return }
        }
        let body = String(decoding: received[(headerEnd + 4)..<(headerEnd + 4 + length)], as: UTF8.self)
        let form: [(String, String)] = body.isEmpty ? [] : body.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String { String(text).removingPercentEncoding ?? String(text) }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
        let request = Request(method: head.first?.split(separator: " ").first.map(String.init) ?? "",
                              headers: headers, form: form)
        state.lock.withLock { state.requests.append(request) }
        let response = state.respond(request)
        let bytes = Array(response.body.utf8)
        let reply = "HTTP/1.1 \(response.status) \(response.status == 200 ? "OK" : "Error")\r\n"
            + "Content-Type: text/xml;charset=UTF-8\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
        var out = Array(reply.utf8) + bytes
        while !out.isEmpty {
            let sent = out.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return }
            out.removeFirst(sent)
        }
    }
}

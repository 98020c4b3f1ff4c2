import Foundation
import Testing
import KilnTestSupport
@testable import AWSCore
import AWSCredentials
import SigV4

/// A fixed credentials provider for tests (moto's test keys unless told otherwise).
struct StaticCredentials: CredentialProvider {
    var value = Credentials(accessKeyID: MotoServer.accessKeyID, secretAccessKey: MotoServer.secretAccessKey)
    func credentials() throws -> Credentials { value }
}

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

/// A recorded request.
struct Recorded: Decodable {
    var method: String
    var path: String
    var headers: [String: String]
    var body: String
}

/// The scripted loopback server (Fixtures/scripted_server.py).
final class ScriptedServer {
    let dir: TempDirectory
    let server: PortPrintingServer
    var port: Int { server.port }

    init(_ responses: [[String: Any]]) throws {
        dir = try TempDirectory()
        let script = try JSONSerialization.data(withJSONObject: responses)
        _ = FileManager.default.createFile(atPath: dir.path + "/script.json", contents: script)
        server = try PortPrintingServer(python: "\(fixtures)/scripted_server.py", [dir.path + "/script.json", dir.path + "/log.jsonl"])
    }

    var url: String { "http://127.0.0.1:\(port)" }

    var requests: [Recorded] {
        let text = (try? String(contentsOfFile: dir.path + "/log.jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Recorded.self, from: Data($0.utf8)) }
    }
}

/// Delays a retrying client asked for, without waiting.
final class SleepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var _delays: [TimeInterval] = []
    var delays: [TimeInterval] { lock.withLock { _delays } }
    func record(_ delay: TimeInterval) { lock.withLock { _delays.append(delay) } }
}

func config(_ url: String, sleeps: SleepRecorder = SleepRecorder(), maxAttempts: Int? = nil,
            clock: @escaping @Sendable () -> Date = Date.init, random: @escaping @Sendable () -> Double = { 0.5 }) -> AWSConfig {
    AWSConfig(region: "us-east-1", credentials: StaticCredentials(), endpointURL: url, maxAttempts: maxAttempts,
              clock: clock, sleep: { sleeps.record($0) }, random: random)
}

let ec2OK = "<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r-1</requestId><vpcSet/></DescribeVpcsResponse>"

func ec2Error(_ code: String, _ message: String = "m") -> String {
    "<Response><Errors><Error><Code>\(code)</Code><Message>\(message)</Message></Error></Errors><RequestID>req-\(code)</RequestID></Response>"
}

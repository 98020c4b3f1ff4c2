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
    let process = Process()
    let port: Int

    init(_ responses: [[String: Any]]) throws {
        dir = try TempDirectory()
        let script = try JSONSerialization.data(withJSONObject: responses)
        _ = FileManager.default.createFile(atPath: dir.path + "/script.json", contents: script)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "\(fixtures)/scripted_server.py", dir.path + "/script.json", dir.path + "/log.jsonl"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while let byte = try pipe.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line += byte
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            kill(process.processIdentifier, SIGKILL)
            throw TestSupportError("the scripted server did not start")
        }
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)" }

    var requests: [Recorded] {
        let text = (try? String(contentsOfFile: dir.path + "/log.jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Recorded.self, from: Data($0.utf8)) }
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
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

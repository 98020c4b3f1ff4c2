import Foundation
import Testing

/// moto's server (pip `moto[server]`) on a free loopback port: EC2, SSM, S3, ECR, STS and IAM in one.
public final class MotoServer: @unchecked Sendable {
    /// The server process.
    public let server: ServerProcess
    /// `http://127.0.0.1:PORT`.
    public let url: String

    /// The test credentials moto accepts (it checks signatures only with `authActions`).
    public static let accessKeyID = "AKIAKILNTESTEXAMPLE1"
    /// The matching secret (a test fixture, not a real secret).
    public static let secretAccessKey = "kilnTestSecretKeyForMotoOnly0000000000000"

    /// Starts moto. With `authActions`, moto checks signatures and IAM after that many requests
    /// (`INITIAL_NO_AUTH_ACTION_COUNT`).
    public init(authActions: Int? = nil) throws {
        guard let executable = MotoServer.locate() else {
            throw TestSupportError("moto_server is not installed: pip install 'moto[server]'")
        }
        let port = try freeLoopbackPort()
        var environment = ["MOTO_ALLOW_NONEXISTENT_REGION": "true", "AWS_DEFAULT_REGION": "us-east-1"]
        if let authActions { environment["INITIAL_NO_AUTH_ACTION_COUNT"] = String(authActions) }
        server = try ServerProcess(executable, ["-H", "127.0.0.1", "-p", String(port)], port: port, environment: environment)
        url = "http://127.0.0.1:\(port)"
    }

    /// Where moto_server is: PATH, or next to python3's scripts.
    static func locate() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/root/.pyenv/shims", "/usr/local/bin"] {
            let candidate = "\(dir)/moto_server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Resets moto's state (all services, all regions).
    public func reset() throws {
        _ = try runProgram("/usr/bin/env", ["curl", "-fsS", "-X", "POST", "\(url)/moto-api/reset"])
    }
}

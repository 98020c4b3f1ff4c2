import AWSCore
import AWSCredentials
import Foundation
import KilnTestSupport
import SigV4
import Testing

/// Hands out moto's test keys.
struct MotoCredentials: CredentialProvider {
    func credentials() throws -> Credentials {
        Credentials(accessKeyID: MotoServer.accessKeyID, secretAccessKey: MotoServer.secretAccessKey, source: "test")
    }
}

/// One moto server for a whole suite: started before its first test, killed after its last.
struct MotoScope: SuiteTrait, TestScoping {
    /// The suite's server, while the suite runs.
    @TaskLocal static var current: MotoServer?

    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        let server = try MotoServer()
        defer { server.server.stop() }
        try await MotoScope.$current.withValue(server) { try await function() }
    }

    /// A configuration that sends every request to the suite's moto.
    static func config(region: String = "us-east-1") throws -> AWSConfig {
        let moto = try #require(current, "the suite must carry the .moto trait")
        return AWSConfig(region: region, credentials: MotoCredentials(), endpointURL: moto.url, maxAttempts: 1)
    }
}

extension Trait where Self == MotoScope {
    /// Runs the suite against one moto server.
    static var moto: MotoScope { MotoScope() }
}

/// A name no other test uses.
func unique(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// `count` bytes that are not a repeating short pattern (so a shifted or truncated copy cannot match).
func testBytes(_ count: Int) -> [UInt8] {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}

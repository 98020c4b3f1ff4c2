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

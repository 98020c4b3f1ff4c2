import AWSCore
import AWSCredentials
import Foundation
import SigV4
import Testing

/// Hands out moto's test keys.
public struct MotoCredentials: CredentialProvider {
    /// Creates the provider.
    public init() {}
    /// moto's test keys.
    public func credentials() throws -> Credentials {
        Credentials(accessKeyID: MotoServer.accessKeyID, secretAccessKey: MotoServer.secretAccessKey, source: "test")
    }
}

/// One moto server for a whole suite: started before its first test, killed after its last.
public struct MotoScope: SuiteTrait, TestScoping {
    /// The suite's server, while the suite runs.
    @TaskLocal public static var current: MotoServer?

    /// Applies to the suite as a whole, not to each test.
    public var isRecursive: Bool { false }

    /// Starts moto around the suite.
    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        let server = try MotoServer()
        defer { server.server.stop() }
        try await MotoScope.$current.withValue(server) { try await function() }
    }

    /// A configuration that sends every request to the suite's moto.
    public static func config(region: String = "us-east-1") throws -> AWSConfig {
        let moto = try #require(current, "the suite must carry the .moto trait")
        return AWSConfig(region: region, credentials: MotoCredentials(), endpointURL: moto.url, maxAttempts: 1)
    }
}

extension Trait where Self == MotoScope {
    /// Runs the suite against one moto server.
    public static var moto: MotoScope { MotoScope() }
}

/// A name no other test uses.
public func unique(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

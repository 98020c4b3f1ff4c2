import AWSCore
import AWSCredentials
import Foundation
import KilnHTTP
import SigV4

/// Lets the credential chain (`AWSCredentials.CredentialChain`) assume roles through `STSClient`:
/// `role_arn` profiles, `credential_source`, and web identity (GitHub Actions OIDC, EKS).
///
/// The chain cannot depend on this module, so it asks for an `STSCaller`; this is kiln's. Each call
/// makes a client for the requested region that signs with the credentials the chain hands over (or, for
/// web identity, does not sign at all), so the adapter itself needs no credentials — which is what
/// breaks the circle of a chain that needs STS to produce credentials.
public struct STSCallerAdapter: STSCaller {
    /// The environment: `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL` overrides, `AWS_MAX_ATTEMPTS`.
    public var environment: [String: String]
    /// An explicit STS endpoint (`--endpoint-url`), or nil for the regional one.
    public var endpointURL: String?
    /// libcurl settings.
    public var httpOptions: HTTPClient.Options
    /// The clock used for signing.
    public var clock: @Sendable () -> Date

    /// Makes an adapter.
    public init(environment: [String: String] = [:], endpointURL: String? = nil,
                httpOptions: HTTPClient.Options = HTTPClient.Options(), clock: @escaping @Sendable () -> Date = Date.init) {
        self.environment = environment
        self.endpointURL = endpointURL
        self.httpOptions = httpOptions
        self.clock = clock
    }

    /// An STS client for `region` signing with `credentials` (nil: a provider that refuses, for the
    /// unsigned web identity call).
    func client(region: String, credentials: Credentials?) throws -> STSClient {
        let provider: any CredentialProvider = credentials.map(FixedCredentials.init) ?? NoCredentialsNeeded()
        return try STSClient(config: AWSConfig(region: region, credentials: provider, environment: environment,
                                               endpointURL: endpointURL, httpOptions: httpOptions, clock: clock))
    }

    /// STS AssumeRole signed with `using`, sent to the STS endpoint of `region`.
    public func assumeRole(roleARN: String, sessionName: String, externalID: String?, durationSeconds: Int?,
                           using: Credentials, region: String) throws -> Credentials {
        try client(region: region, credentials: using)
            .assumeRole(roleARN: roleARN, sessionName: sessionName, externalID: externalID,
                        durationSeconds: durationSeconds).credentials
    }

    /// STS AssumeRoleWithWebIdentity (unsigned), sent to the STS endpoint of `region`.
    public func assumeRoleWithWebIdentity(roleARN: String, sessionName: String, token: String, durationSeconds: Int?,
                                          region: String) throws -> Credentials {
        try client(region: region, credentials: nil)
            .assumeRoleWithWebIdentity(roleARN: roleARN, sessionName: sessionName, webIdentityToken: token,
                                       durationSeconds: durationSeconds).credentials
    }
}

/// Hands out the same credentials every time.
struct FixedCredentials: CredentialProvider {
    let fixed: Credentials
    init(_ fixed: Credentials) { self.fixed = fixed }
    func credentials() throws -> Credentials { fixed }
}

/// The provider of a client that only sends unsigned requests; asking it is a programming error,
/// reported as an error rather than a crash.
struct NoCredentialsNeeded: CredentialProvider {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "this STS client sends only unsigned requests (AssumeRoleWithWebIdentity)" }
    }
    func credentials() throws -> Credentials { throw Unavailable() }
}

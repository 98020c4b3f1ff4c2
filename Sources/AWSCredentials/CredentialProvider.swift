import SigV4

/// Something that hands out AWS credentials: the chain, or a fake in tests of code above this module.
public protocol CredentialProvider: Sendable {
    /// Returns usable credentials, fetching or refreshing them when needed.
    func credentials() throws -> Credentials
}

/// The STS calls the chain needs for `role_arn` profiles and web identity. AWSCore implements it (it
/// depends on this module, so the chain cannot call STS itself).
public protocol STSCaller: Sendable {
    /// STS AssumeRole, signed with `using`, sent to the STS endpoint of `region`.
    func assumeRole(roleARN: String, sessionName: String, externalID: String?, durationSeconds: Int?,
                    using: Credentials, region: String) throws -> Credentials
    /// STS AssumeRoleWithWebIdentity (unsigned), sent to the STS endpoint of `region`.
    func assumeRoleWithWebIdentity(roleARN: String, sessionName: String, token: String, durationSeconds: Int?,
                                   region: String) throws -> Credentials
}

/// What the user passed on the command line: explicit keys, a profile, a region. Empty strings count as
/// not given.
public struct CredentialOptions: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// An access key ID given explicitly; needs `secretAccessKey` too.
    public var accessKeyID: String?
    /// The secret access key that goes with `accessKeyID`.
    public var secretAccessKey: String?
    /// The session token of explicit temporary credentials.
    public var sessionToken: String?
    /// A profile chosen explicitly (like the AWS CLI's `--profile`): it wins over AWS_PROFILE, and, as in
    /// the AWS CLI and the Go SDK, it makes the chain skip the environment's keys and web identity.
    public var profile: String?
    /// A region chosen explicitly; wins over AWS_REGION and the profile's region.
    public var region: String?

    /// Makes options; all default to not given.
    public init(accessKeyID: String? = nil, secretAccessKey: String? = nil, sessionToken: String? = nil,
                profile: String? = nil, region: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.profile = profile
        self.region = region
    }

    /// The options with the secret and the token shown as `<redacted>`.
    public var description: String {
        "CredentialOptions(accessKeyID: \(accessKeyID ?? "nil"), secretAccessKey: "
            + "\(secretAccessKey == nil ? "nil" : "<redacted>"), sessionToken: "
            + "\(sessionToken == nil ? "nil" : "<redacted>"), profile: \(profile ?? "nil"), region: \(region ?? "nil"))"
    }

    /// A mirror without the secret or the token, so `dump` cannot leak them either.
    public var customMirror: Mirror {
        Mirror(self, children: ["accessKeyID": accessKeyID as Any, "profile": profile as Any, "region": region as Any])
    }
}

extension Optional where Wrapped == String {
    /// The value, or nil when it is nil or empty.
    var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}

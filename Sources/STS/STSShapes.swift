import Foundation
import SigV4

/// Who the credentials belong to (`GetCallerIdentityResult`).
public struct GetCallerIdentityResult: Sendable, Equatable {
    /// The 12-digit account ID.
    public var account: String
    /// The ARN of the user or assumed role (`arn:aws:sts::123456789012:assumed-role/kiln-build/ci`).
    public var arn: String
    /// The unique ID of the principal (`AIDA…`, or `AROA…:session` for a role).
    public var userId: String

    /// Makes a result (for fakes in tests of code above this module).
    public init(account: String, arn: String, userId: String) {
        self.account = account
        self.arn = arn
        self.userId = userId
    }
}

/// The assumed role's identifiers (`AssumedRoleUser`).
public struct AssumedRoleUser: Sendable, Equatable {
    /// The ARN of the assumed-role session (`arn:aws:sts::123456789012:assumed-role/ROLE/SESSION`).
    public var arn: String
    /// The role ID and session name (`AROA…:SESSION`).
    public var assumedRoleId: String

    /// Makes a value.
    public init(arn: String, assumedRoleId: String) {
        self.arn = arn
        self.assumedRoleId = assumedRoleId
    }
}

/// What `AssumeRole` answers: temporary credentials and the session's identity.
///
/// `description` and `customMirror` show only the key ID, never the secret or the session token.
public struct AssumeRoleResult: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// The temporary credentials (`ASIA…`, with a session token and an expiry).
    public var credentials: Credentials
    /// The session's identity.
    public var assumedRoleUser: AssumedRoleUser?
    /// How much of the size limit the session policy and tags use, in percent.
    public var packedPolicySize: Int?

    /// Makes a result.
    public init(credentials: Credentials, assumedRoleUser: AssumedRoleUser?, packedPolicySize: Int? = nil) {
        self.credentials = credentials
        self.assumedRoleUser = assumedRoleUser
        self.packedPolicySize = packedPolicySize
    }

    /// The session ARN and the credentials' key ID and expiry.
    public var description: String {
        "AssumeRoleResult(\(assumedRoleUser?.arn ?? "?"), \(credentials))"
    }

    /// A mirror without the secret or the token.
    public var customMirror: Mirror {
        Mirror(self, children: ["credentials": credentials.description, "assumedRoleUser": assumedRoleUser as Any,
                                "packedPolicySize": packedPolicySize as Any])
    }
}

/// What `AssumeRoleWithWebIdentity` answers: temporary credentials, the session's identity, and what
/// STS read from the identity provider's token.
///
/// `description` and `customMirror` show only the key ID, never the secret or the session token.
public struct AssumeRoleWithWebIdentityResult: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// The temporary credentials.
    public var credentials: Credentials
    /// The session's identity.
    public var assumedRoleUser: AssumedRoleUser?
    /// The token's `sub` claim (e.g. `repo:org/kiln:ref:refs/heads/main` from GitHub Actions).
    public var subjectFromWebIdentityToken: String?
    /// The token's issuer (`token.actions.githubusercontent.com`).
    public var provider: String?
    /// The token's audience (`sts.amazonaws.com`).
    public var audience: String?

    /// Makes a result.
    public init(credentials: Credentials, assumedRoleUser: AssumedRoleUser?, subjectFromWebIdentityToken: String? = nil,
                provider: String? = nil, audience: String? = nil) {
        self.credentials = credentials
        self.assumedRoleUser = assumedRoleUser
        self.subjectFromWebIdentityToken = subjectFromWebIdentityToken
        self.provider = provider
        self.audience = audience
    }

    /// The session ARN, the token's subject, and the credentials' key ID and expiry.
    public var description: String {
        "AssumeRoleWithWebIdentityResult(\(assumedRoleUser?.arn ?? "?"), subject: \(subjectFromWebIdentityToken ?? "?"), "
            + "\(credentials))"
    }

    /// A mirror without the secret or the token.
    public var customMirror: Mirror {
        Mirror(self, children: ["credentials": credentials.description, "assumedRoleUser": assumedRoleUser as Any,
                                "subjectFromWebIdentityToken": subjectFromWebIdentityToken as Any,
                                "provider": provider as Any, "audience": audience as Any])
    }
}

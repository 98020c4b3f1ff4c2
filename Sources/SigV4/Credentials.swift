import Foundation

/// AWS credentials: an access key pair and, for temporary credentials, a session token and expiry.
///
/// `description` never shows the secret or the token, so credentials can be logged by mistake safely.
public struct Credentials: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// The access key ID (`AKIA…` or `ASIA…`).
    public var accessKeyID: String
    /// The secret access key.
    public var secretAccessKey: String
    /// The session token of temporary credentials.
    public var sessionToken: String?
    /// When temporary credentials expire.
    public var expiration: Date?
    /// Where they came from (`environment`, `profile default`, `imds`, …), for `kiln doctor` and errors.
    public var source: String

    /// Creates credentials.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil,
                expiration: Date? = nil, source: String = "explicit") {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.source = source
    }

    /// The key ID and source only; never the secret or the token.
    public var description: String {
        "Credentials(\(accessKeyID), from \(source)\(expiration.map { ", expiring \($0)" } ?? ""))"
    }

    /// What `dump` and debuggers show: the key ID, source and expiry; never the secret or the token.
    public var customMirror: Mirror {
        Mirror(self, children: ["accessKeyID": accessKeyID, "secretAccessKey": "<redacted>",
                                "sessionToken": sessionToken == nil ? "nil" : "<redacted>",
                                "expiration": expiration as Any, "source": source])
    }
}

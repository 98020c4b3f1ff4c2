import Foundation
import SigV4

/// Reading the JSON documents credential sources answer with. Messages name the missing or malformed
/// field, never a value; `fail` turns a message into the caller's error.
enum CredentialsJSON {
    /// The JSON object in `bytes`.
    static func object(_ bytes: [UInt8], fail: (String) -> CredentialsError) throws -> [String: Any] {
        guard let value = try? JSONSerialization.jsonObject(with: Data(bytes)),
              let object = value as? [String: Any] else {
            throw fail("the answer is not a JSON object")
        }
        return object
    }

    /// Credentials from `object`'s `AccessKeyId`, `SecretAccessKey`, token field (`SessionToken` for
    /// credential_process, `Token` for container and instance metadata) and optional `Expiration`.
    static func credentials(_ object: [String: Any], tokenField: String, source: String,
                            fail: (String) -> CredentialsError) throws -> Credentials {
        guard let keyID = object["AccessKeyId"] as? String, !keyID.isEmpty else {
            throw fail("the JSON has no AccessKeyId")
        }
        guard let secret = object["SecretAccessKey"] as? String, !secret.isEmpty else {
            throw fail("the JSON has no SecretAccessKey")
        }
        let token = (object[tokenField] as? String).nonEmpty
        var expiration: Date?
        if let raw = object["Expiration"] {
            guard let text = raw as? String, let date = parseTimestamp(text) else {
                throw fail("the JSON's Expiration is not an ISO 8601 timestamp")
            }
            expiration = date
        }
        return Credentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token,
                           expiration: expiration, source: source)
    }

    /// An RFC 3339 / ISO 8601 timestamp, with or without fractional seconds.
    static func parseTimestamp(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}

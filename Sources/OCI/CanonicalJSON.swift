import Foundation

/// The one JSON encoding kiln hashes: sorted keys, slashes not escaped, no whitespace. The bytes it
/// returns are exactly the bytes written to a blob and hashed for its digest (descriptor.md, "Digests":
/// the digest is over the exact bytes, so they must never be re-serialised after hashing).
public enum CanonicalJSON {
    /// Encodes `value` canonically.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw OCIError.invalidContent("cannot encode \(T.self) as JSON: \(error)")
        }
    }

    /// Decodes `T` from JSON bytes; `what` names the document in errors.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as OCIError {
            throw OCIError.invalidContent("\(what) is not a valid \(T.self): \(error)")
        } catch {
            throw OCIError.invalidContent("\(what) is not a valid \(T.self): \(error)")
        }
    }
}

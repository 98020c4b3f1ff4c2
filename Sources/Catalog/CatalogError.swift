import Foundation

/// The one public error type of the Catalog module: what failed with the catalog, the page or AWS, and
/// what to do about it.
public struct CatalogError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        case unreadable
        case malformed
        case lock
        case write
        case notReady
        case aws
    }

    private let code: Code
    /// The file or resource concerned.
    public let subject: String
    /// What went wrong.
    public let message: String

    private init(_ code: Code, _ subject: String, _ message: String) {
        self.code = code
        self.subject = subject
        self.message = message
    }

    /// The catalog file exists but could not be read.
    static func unreadable(_ path: String, _ message: String) -> CatalogError { CatalogError(.unreadable, path, message) }
    /// The catalog is not JSON of the documented shape.
    static func malformed(_ path: String, _ message: String) -> CatalogError { CatalogError(.malformed, path, message) }
    /// The lock file could not be opened or locked (a C call; the message names it and carries errno's text).
    static func lock(_ path: String, _ message: String) -> CatalogError { CatalogError(.lock, path, message) }
    /// A file could not be written or renamed into place.
    static func write(_ path: String, _ message: String) -> CatalogError { CatalogError(.write, path, message) }
    /// An AMI is not yet available or not shared as its recipe asks.
    static func notReady(_ subject: String, _ message: String) -> CatalogError { CatalogError(.notReady, subject, message) }
    /// An AWS call failed.
    static func aws(_ subject: String, _ message: String) -> CatalogError { CatalogError(.aws, subject, message) }

    /// Whether the catalog was malformed (commands report that as a problem in the file, at 1:1).
    public var isMalformed: Bool { code == .malformed }

    /// What failed and what to do.
    public var description: String {
        switch code {
        case .unreadable:
            return "cannot read the catalog \(subject): \(message); check its permissions"
        case .malformed:
            return "\(subject) is not a valid catalog: \(message); restore it from git (git checkout -- \(subject))"
        case .lock:
            return "cannot lock the catalog (\(subject)): \(message); check that the directory is writable"
        case .write:
            return "cannot write \(subject): \(message); the previous file is left as it was"
        case .notReady:
            return "\(subject): \(message)"
        case .aws:
            return "\(subject): \(message)"
        }
    }
}

/// `strerror(errno)` for the error messages of failed C calls.
func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

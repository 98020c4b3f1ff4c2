#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import CArchive

/// The one error type of KilnArchive: the failing call, libarchive's or the system's message, and what to do.
public struct KilnArchiveError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        /// A libarchive call failed; `message` is archive_error_string.
        case libarchive(function: String, message: String, subject: String, hint: String)
        /// A system call on a file failed.
        case system(function: String, errno: Int32, path: String, hint: String)
        /// The caller asked for something this module does not do.
        case invalidArgument(String)
        /// The data is readable but not what was asked for (e.g. not gzip).
        case unexpectedData(String)
        /// A zlib, libzstd or thread call of a compressor failed; `message` is the library's own.
        case compressor(function: String, message: String, hint: String)
        /// LayerExtractor refused a hostile or malformed entry of a layer.
        case refusedEntry(layer: String, entry: String, reason: String)
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    /// A sentence for people: what failed, the library's own message, and what to do.
    public var description: String {
        switch code {
        case let .libarchive(function, message, subject, hint):
            return "\(function) failed for \(subject): \(message); \(hint)"
        case let .system(function, err, path, hint):
            return "\(function)(\"\(path)\") failed: \(String(cString: strerror(err))); \(hint)"
        case let .invalidArgument(text):
            return "invalid argument: \(text)"
        case let .unexpectedData(text):
            return text
        case let .compressor(function, message, hint):
            return "\(function) failed: \(message); \(hint)"
        case let .refusedEntry(layer, entry, reason):
            return "refusing layer '\(layer)': entry '\(entry)' \(reason); nothing was written outside the root. "
                + "The layer is hostile or corrupt: rebuild it or pick another base image"
        }
    }

    /// libarchive's own error for `archive` after `function` failed.
    static func libarchive(_ function: String, _ archive: OpaquePointer?, subject: String, hint: String) -> KilnArchiveError {
        var message = "no message from libarchive"
        if let archive {
            let err = archive_errno(archive)
            let system = err > 0 ? String(cString: strerror(err)) : nil
            if let text = archive_error_string(archive) {
                message = String(cString: text)
                if let system, !message.contains(system) { message += " (\(system))" }
            } else if let system {
                message = system
            }
        }
        return .init(.libarchive(function: function, message: message, subject: subject, hint: hint))
    }

    static func system(_ function: String, errno: Int32, path: String, hint: String) -> KilnArchiveError {
        .init(.system(function: function, errno: errno, path: path, hint: hint))
    }

    static func invalidArgument(_ text: String) -> KilnArchiveError { .init(.invalidArgument(text)) }

    static func unexpectedData(_ text: String) -> KilnArchiveError { .init(.unexpectedData(text)) }

    /// A compressor's library call failed.
    static func compressor(function: String, message: String, hint: String) -> KilnArchiveError {
        .init(.compressor(function: function, message: message, hint: hint))
    }

    static func refusedEntry(layer: String, entry: String, reason: String) -> KilnArchiveError {
        .init(.refusedEntry(layer: layer, entry: entry, reason: reason))
    }
}

/// Throws libarchive's error unless `result` is ARCHIVE_OK or ARCHIVE_WARN.
func check(_ result: Int32, _ function: String, _ archive: OpaquePointer, subject: String, hint: String) throws {
    if result < ARCHIVE_WARN {
        throw KilnArchiveError.libarchive(function, archive, subject: subject, hint: hint)
    }
}

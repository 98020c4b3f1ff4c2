/// The one error type of the OCI module: what failed, and what to do about it.
public struct OCIError: Error, Sendable, CustomStringConvertible, Equatable {
    private enum Code: Sendable, Equatable {
        /// A string is not a valid digest (`sha256:` and 64 lowercase hex digits).
        case invalidDigest(String)
        /// A blob's bytes do not hash to the digest (or size) that names them.
        case digestMismatch(what: String, expected: String, actual: String)
        /// A blob named by a descriptor is not in the layout.
        case missingBlob(String)
        /// JSON or other input that does not follow the image-spec.
        case invalidContent(String)
        /// A gzip stream is corrupt or truncated.
        case corruptGzip(path: String, reason: String)
        /// A file-system call failed.
        case io(operation: String, path: String, reason: String)
        /// A tag is not in the image layout's index.
        case tagNotFound(tag: String, layout: String)
    }

    private let code: Code
    private init(_ code: Code) { self.code = code }

    /// A sentence for people: what failed and what to do.
    public var description: String {
        switch code {
        case let .invalidDigest(text):
            return "invalid digest \(String(reflecting: text)): expected 'sha256:' followed by 64 lowercase hex digits"
        case let .digestMismatch(what, expected, actual):
            return "\(what) does not match its descriptor: expected \(expected), found \(actual); "
                + "the blob is corrupt or was modified — rebuild or re-pull the image"
        case let .missingBlob(text):
            return "blob \(text) is missing from the image layout; the layout is incomplete — rebuild it"
        case let .invalidContent(text):
            return text
        case let .corruptGzip(path, reason):
            return "'\(path)' is not a valid gzip-compressed layer: \(reason); rebuild the layer"
        case let .io(operation, path, reason):
            return "\(operation) '\(path)' failed: \(reason); check the path, its permissions and free disk space"
        case let .tagNotFound(tag, layout):
            return "tag '\(tag)' is not in the index of image layout '\(layout)'; list its tags with `skopeo inspect` or rebuild"
        }
    }

    static func invalidDigest(_ text: String) -> OCIError { .init(.invalidDigest(text)) }
    static func digestMismatch(_ what: String, expected: String, actual: String) -> OCIError {
        .init(.digestMismatch(what: what, expected: expected, actual: actual))
    }
    static func missingBlob(_ text: String) -> OCIError { .init(.missingBlob(text)) }
    static func invalidContent(_ text: String) -> OCIError { .init(.invalidContent(text)) }
    static func corruptGzip(_ path: String, _ reason: String) -> OCIError { .init(.corruptGzip(path: path, reason: reason)) }
    static func io(_ operation: String, _ path: String, _ error: any Error) -> OCIError {
        .init(.io(operation: operation, path: path, reason: "\(error)"))
    }
    static func io(_ operation: String, _ path: String, reason: String) -> OCIError {
        .init(.io(operation: operation, path: path, reason: reason))
    }
    static func tagNotFound(_ tag: String, layout: String) -> OCIError { .init(.tagNotFound(tag: tag, layout: layout)) }
}

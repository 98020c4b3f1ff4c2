import Foundation

/// The Pipeline module's one public error type: cleanups that failed (with what to do about what they
/// left), a deletion that was never confirmed, or a journal that could not be written or read.
public struct PipelineError: Error, Sendable, CustomStringConvertible {
    /// One cleanup that threw.
    public struct CleanupFailure: Sendable, Equatable, CustomStringConvertible {
        /// The step whose cleanup failed (`journal` when finishing the journal failed).
        public var step: String
        /// What it threw.
        public var message: String
        /// Creates a failure.
        public init(step: String, message: String) {
            self.step = step
            self.message = message
        }
        /// "launch instance: <message>".
        public var description: String { "\(step): \(message)" }
    }

    enum Code: Sendable {
        case cleanupsFailed([CleanupFailure], journal: String)
        case notGone(what: String, seconds: TimeInterval, lastError: String?)
        case journalWrite(path: String, operation: String, message: String)
        case journalRead(path: String, message: String)
        case journalUsage(path: String, message: String)
    }

    let code: Code

    init(_ code: Code) { self.code = code }

    static func cleanupsFailed(_ failures: [CleanupFailure], journal: String) -> PipelineError {
        PipelineError(.cleanupsFailed(failures, journal: journal))
    }

    /// The advice shown wherever cleanup may have left something behind.
    static func sweepAdvice(journal: String) -> String {
        "what the build created is listed in \(journal); `kiln sweep` removes what is left"
    }

    /// The cleanups that failed (empty for other errors).
    public var failures: [CleanupFailure] {
        if case .cleanupsFailed(let failures, _) = code { return failures }
        return []
    }

    /// Whether this is `Cleanup.until` giving up because the resource was never confirmed gone.
    public var isTimeout: Bool {
        if case .notGone = code { return true }
        return false
    }

    /// What failed and what to do.
    public var description: String {
        switch code {
        case .cleanupsFailed(let failures, let journal):
            let list = failures.map { "  \($0.step): \($0.message)" }.joined(separator: "\n")
            let count = failures.count == 1 ? "1 cleanup" : "\(failures.count) cleanups"
            return "the build succeeded but \(count) failed, so resources may be left behind:\n\(list)\n"
                + Self.sweepAdvice(journal: journal)
        case .notGone(let what, let seconds, let lastError):
            let last = lastError.map { " (last error: \($0))" } ?? ""
            return "\(what) was not confirmed gone after \(Int(seconds)) s\(last); it may still exist: "
                + "check it in the console, or let `kiln sweep` remove it"
        case .journalWrite(let path, let operation, let message):
            return "cannot write the build journal \(path): \(operation): \(message); "
                + "kiln stops before creating anything it could not record"
        case .journalRead(let path, let message):
            return "cannot read the build journal \(path): \(message)"
        case .journalUsage(let path, let message):
            return "build journal \(path): \(message)"
        }
    }
}

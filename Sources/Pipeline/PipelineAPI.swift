import Foundation

// The Pipeline module's public API (see ../shared/design.md, "Packer's multistep", improved):
// typed steps with run and cleanup, a runner that registers a step's cleanup as soon as the step
// starts and runs cleanups in reverse order on success, failure and cancellation, and a journal of
// every created resource written before and after its create call.

/// How a build ended, as cleanups see it (a cleanup keeps an AMI on success and deletes it otherwise).
public enum PipelineOutcome: String, Sendable, Codable {
    /// Every step succeeded.
    case succeeded
    /// A step failed.
    case failed
    /// SIGINT or SIGTERM arrived.
    case cancelled
}

/// The cancellation error: thrown by `PipelineContext.checkCancelled()` once a signal arrived.
public struct PipelineCancelled: Error, Sendable, CustomStringConvertible {
    /// The signal's name (`SIGINT`, `SIGTERM`).
    public var signal: String
    /// Creates the error.
    public init(signal: String) { self.signal = signal }
    /// "cancelled by SIGINT".
    public var description: String { "cancelled by \(signal)" }
}

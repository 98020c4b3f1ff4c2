import Foundation

/// Retries a deletion until a describe call confirms the resource is gone.
public enum Cleanup {
    /// The first wait between checks; it doubles up to `maximumDelay`.
    static let initialDelay: TimeInterval = 1
    /// The longest wait between checks.
    static let maximumDelay: TimeInterval = 15

    /// Deletes, then polls `isGone` with backoff (1 s, 2 s, 4 s, … 15 s) until it returns true; calls
    /// `delete` again after each attempt that threw (an error from `delete` or `isGone` is retried, and
    /// noted in the progress). Ignores cancellation: cleanup must finish. Throws a `PipelineError`
    /// naming `what` and the last error when `timeout` seconds (by the context's clock) pass first.
    ///
    /// `delete` should treat "not found" as success, and `isGone` should return true for it; a resource
    /// that is already gone is confirmed on the first check even when `delete` throws. Writes only the
    /// retries: say what is being removed first (`context.progress.cleaning("terminate i-…")`).
    public static func until(gone what: String, context: PipelineContext, timeout: TimeInterval = 600,
                             delete: () throws -> Void, isGone: () throws -> Bool) throws {
        let start = context.clock()
        var delay = initialDelay
        var mustDelete = true
        var lastError: String?
        while true {
            if mustDelete {
                do {
                    try delete()
                    mustDelete = false
                } catch {
                    lastError = String(describing: error)
                    context.progress.note("  \(what): delete failed, retrying: \(error)")
                }
            }
            do {
                if try isGone() { return }
            } catch {
                lastError = String(describing: error)
                context.progress.note("  \(what): describe failed, retrying: \(error)")
            }
            let elapsed = context.clock().timeIntervalSince(start)
            if elapsed >= timeout {
                throw PipelineError(.notGone(what: what, seconds: timeout, lastError: lastError))
            }
            context.sleeper(min(delay, timeout - elapsed))
            delay = min(delay * 2, maximumDelay)
        }
    }
}

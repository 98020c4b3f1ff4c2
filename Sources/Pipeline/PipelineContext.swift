import Foundation

/// What every step and cleanup of one build shares: the build's ID, its journal and progress output,
/// cancellation, and the injected clock and sleep. Thread-safe.
public final class PipelineContext: @unchecked Sendable {
    /// The build's ID (names the journal and the build's resources).
    public let buildID: String
    /// Every resource the build creates.
    public let journal: Journal
    /// Progress for people and CI.
    public let progress: ProgressReporter
    /// The current time (injected so tests are exact).
    public let clock: @Sendable () -> Date
    /// Blocks for the given seconds (injected so tests do not wait); `sleep(_:)` calls it in slices.
    let sleeper: @Sendable (TimeInterval) -> Void

    /// The longest slice `sleep(_:)` waits before looking at cancellation again.
    static let sleepSlice: TimeInterval = 0.1

    private let lock = NSLock()
    private var signal: String?
    private var pending: [String] = []
    private var failures: [PipelineError.CleanupFailure] = []

    /// Creates the context of one build.
    public init(buildID: String, journal: Journal, progress: ProgressReporter,
                clock: @escaping @Sendable () -> Date = { Date() },
                sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }) {
        self.buildID = buildID
        self.journal = journal
        self.progress = progress
        self.clock = clock
        self.sleeper = sleep
    }

    /// Whether the build was cancelled (by a signal or `cancel(signal:)`).
    public var isCancelled: Bool { lock.withLock { signal != nil } }

    /// The name of what cancelled the build (`SIGINT`), or nil.
    public var cancellationSignal: String? { lock.withLock { signal } }

    /// Cancels the build: steps stop at their next check, and the cleanups run. The first call wins.
    public func cancel(signal: String) {
        lock.withLock { if self.signal == nil { self.signal = signal } }
    }

    /// Throws `PipelineCancelled` once the build is cancelled.
    public func checkCancelled() throws {
        if let signal = cancellationSignal { throw PipelineCancelled(signal: signal) }
    }

    /// Sleeps in small slices, returning early (by throwing PipelineCancelled) when cancelled.
    public func sleep(_ seconds: TimeInterval) throws {
        try checkCancelled()
        var remaining = seconds
        while remaining > 0 {
            let slice = min(remaining, Self.sleepSlice)
            sleeper(slice)
            remaining -= slice
            try checkCancelled()
        }
    }

    /// The cleanups that failed in the last `Pipeline.run` on this context (also when the step's own
    /// error was thrown instead of a `PipelineError`): what `kiln sweep` may have to remove.
    public var cleanupFailures: [PipelineError.CleanupFailure] { lock.withLock { failures } }

    /// The steps whose cleanups are registered and have not finished, first registered first.
    public var pendingCleanups: [String] { lock.withLock { pending } }

    func pendingCleanupAdded(_ name: String) { lock.withLock { pending.append(name) } }

    func pendingCleanupFinished(_ name: String) {
        lock.withLock { if let index = pending.lastIndex(of: name) { pending.remove(at: index) } }
    }

    func recordCleanupFailures(_ list: [PipelineError.CleanupFailure]) { lock.withLock { failures = list } }

    private var output: Any?

    /// What the steps produced when every step succeeded but a cleanup failed (the run then throws
    /// `PipelineError`): the products exist and must still be reported.
    public var completedOutput: Any? { lock.withLock { output } }

    func recordCompletedOutput(_ value: Any) { lock.withLock { output = value } }
}

import Foundation

/// Progress for people (and one line per event in CI): "[mm:ss] ▸ step-name", "[mm:ss] ✓ step-name (12 s)",
/// "[mm:ss] ✗ step-name: error", free lines ("  instance: ::kiln:: step-begin base/tools"), and cleanup lines ("cleaning up: terminate i-…").
///
/// Times are counted from the reporter's creation. Thread-safe: each line is written whole, in order.
public final class ProgressReporter: @unchecked Sendable {
    private let writer: @Sendable (String) -> Void
    private let clock: @Sendable () -> Date
    private let start: Date
    private let lock = NSLock()
    private var written: [String] = []
    private var started: [String: Date] = [:]

    /// Creates a reporter that hands each line (without a newline) to `write`.
    public init(write: @escaping @Sendable (String) -> Void, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.writer = write
        self.clock = clock
        self.start = clock()
    }

    /// "[mm:ss] ▸ name".
    public func stepStarted(_ name: String) {
        let now = clock()
        lock.withLock { started[name] = now }
        emit("\(stamp(now)) ▸ \(name)")
    }

    /// "[mm:ss] ✓ name (12 s)", the duration counted from `stepStarted`.
    public func stepFinished(_ name: String) {
        let now = clock()
        let began = lock.withLock { started.removeValue(forKey: name) }
        emit("\(stamp(now)) ✓ \(name) (\(Self.duration(now.timeIntervalSince(began ?? now))))")
    }

    /// "[mm:ss] ✗ name: error".
    public func stepFailed(_ name: String, _ error: Error) {
        let now = clock()
        lock.withLock { _ = started.removeValue(forKey: name) }
        emit("\(stamp(now)) ✗ \(name): \(error)")
    }

    /// A free line, written as given.
    public func note(_ line: String) { emit(line) }

    /// "cleaning up: what".
    public func cleaning(_ what: String) { emit("cleaning up: \(what)") }

    /// Everything written, for tests.
    public var lines: [String] { lock.withLock { written } }

    private func emit(_ line: String) {
        lock.withLock {
            written.append(line)
            writer(line)
        }
    }

    /// "[mm:ss]" since the reporter was created (minutes go past 59).
    private func stamp(_ now: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(start)))
        let minutes = seconds / 60, rest = seconds % 60
        return "[\(minutes < 10 ? "0" : "")\(minutes):\(rest < 10 ? "0" : "")\(rest)]"
    }

    /// "12 s", "3 m 04 s", "1 h 02 m".
    static func duration(_ interval: TimeInterval) -> String {
        let seconds = max(0, Int(interval.rounded()))
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3600 { return "\(seconds / 60) m \(String(format: "%02d", seconds % 60)) s" }
        return "\(seconds / 3600) h \(String(format: "%02d", seconds % 3600 / 60)) m"
    }
}

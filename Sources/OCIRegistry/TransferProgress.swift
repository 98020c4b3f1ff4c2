import Foundation

/// How one blob transfer ended.
public enum TransferOutcome: String, Sendable, Codable {
    /// Sent to the registry.
    case uploaded
    /// Already in the repository (HEAD said so); nothing sent.
    case skipped
    /// Mounted from another repository of the same registry; nothing sent.
    case mounted
    /// Received from the registry.
    case downloaded
    /// Already in the local layout; nothing received.
    case present
    /// Given up after the retries.
    case failed
}

/// Receives progress of blob transfers. Calls come from the transfer threads, several at once.
public protocol TransferProgress: Sendable {
    /// A transfer of `total` bytes starts; `id` is the blob digest, `label` a short name for people.
    func started(id: String, label: String, total: Int64)
    /// `done` bytes of the transfer `id` have moved so far (it may go back to 0 when a retry starts over).
    func advanced(id: String, done: Int64)
    /// The transfer `id` ended.
    func finished(id: String, outcome: TransferOutcome)
}

/// Progress on the console: on a terminal, one redrawn line per blob with bytes, rate and ETA; otherwise
/// (CI logs), one line per blob when it finishes.
public final class ConsoleProgress: TransferProgress, @unchecked Sendable {
    /// One transfer's state.
    struct Entry {
        var label: String
        var total: Int64
        var done: Int64 = 0
        var startedAt: Double
        var outcome: TransferOutcome?
        var finishedAt: Double?
    }

    private let write: @Sendable (String) -> Void
    private let isTerminal: Bool
    private let now: @Sendable () -> Double
    private let lock = NSLock()
    private var order: [String] = []
    private var entries: [String: Entry] = [:]
    private var renderedLines = 0
    private var lastRender = -Double.infinity

    /// Makes a console reporter. `write` receives finished text (stderr by default); `isTerminal` selects
    /// the redrawn display; `now` is a monotonic clock in seconds (injected by tests).
    public init(write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) },
                isTerminal: Bool = isatty(2) == 1,
                now: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }) {
        self.write = write
        self.isTerminal = isTerminal
        self.now = now
    }

    /// Records the start of a transfer.
    public func started(id: String, label: String, total: Int64) {
        let text: String? = lock.withLock {
            if entries[id] == nil { order.append(id) }
            entries[id] = Entry(label: label, total: total, startedAt: now())
            return isTerminal ? renderLocked(force: true) : nil
        }
        if let text { write(text) }
    }

    /// Records bytes moved; on a terminal redraws at most ten times a second.
    public func advanced(id: String, done: Int64) {
        let text: String? = lock.withLock {
            guard entries[id] != nil else { return nil }
            entries[id]?.done = done
            return isTerminal ? renderLocked(force: false) : nil
        }
        if let text { write(text) }
    }

    /// Records the end of a transfer; in CI prints its one line.
    public func finished(id: String, outcome: TransferOutcome) {
        let text: String? = lock.withLock {
            guard var entry = entries[id] else { return nil }
            entry.outcome = outcome
            entry.finishedAt = now()
            if outcome == .uploaded || outcome == .downloaded { entry.done = entry.total }
            entries[id] = entry
            return isTerminal ? renderLocked(force: true) : Self.line(entry, now: entry.finishedAt ?? 0) + "\n"
        }
        if let text { write(text) }
    }

    /// The text that redraws every line (cursor moved up over the previous drawing), or nil when throttled.
    private func renderLocked(force: Bool) -> String? {
        let time = now()
        guard force || time - lastRender >= 0.1 else { return nil }
        lastRender = time
        var text = renderedLines > 0 ? "\u{1B}[\(renderedLines)A" : ""
        for id in order {
            guard let entry = entries[id] else { continue }
            text += "\r\u{1B}[2K" + Self.line(entry, now: time) + "\n"
        }
        renderedLines = order.count
        return text
    }

    /// One blob's line: `label  outcome-or-bar  done/total  rate  ETA`.
    static func line(_ entry: Entry, now: Double) -> String {
        let elapsed = max(0.001, (entry.finishedAt ?? now) - entry.startedAt)
        let size = "\(formatBytes(entry.done))/\(formatBytes(entry.total))"
        switch entry.outcome {
        case .skipped?: return "\(entry.label)  exists     \(formatBytes(entry.total))"
        case .mounted?: return "\(entry.label)  mounted    \(formatBytes(entry.total))"
        case .present?: return "\(entry.label)  present    \(formatBytes(entry.total))"
        case .failed?: return "\(entry.label)  failed     \(size)"
        case let outcome?:
            let rate = Double(entry.total) / elapsed
            return "\(entry.label)  \(outcome.rawValue)   \(formatBytes(entry.total)) in \(formatSeconds(elapsed)) "
                + "(\(formatBytes(Int64(rate)))/s)"
        case nil:
            let rate = Double(entry.done) / elapsed
            let percent = entry.total > 0 ? Int(Double(entry.done) * 100 / Double(entry.total)) : 0
            let eta = rate > 0 && entry.total > entry.done ? formatSeconds(Double(entry.total - entry.done) / rate) : "--"
            return "\(entry.label)  \(String(percent).leftPadded(3))%  \(size)  \(formatBytes(Int64(rate)))/s  ETA \(eta)"
        }
    }

    /// 1023 B, 1.5 KiB, 12.3 MiB, 4.0 GiB.
    static func formatBytes(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    /// 0.4s, 12s, 3m05s, 1h02m.
    static func formatSeconds(_ seconds: Double) -> String {
        if seconds < 10 { return String(format: "%.1fs", seconds) }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return String(format: "%dh%02dm", total / 3600, (total % 3600) / 60)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

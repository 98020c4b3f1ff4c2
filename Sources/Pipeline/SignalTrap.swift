import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Installs SIGINT/SIGTERM handling for the duration of a build (DispatchSourceSignal; the default action
/// is ignored while installed and restored afterwards): the first signal cancels the context and says
/// "cancelling: cleaning up …"; further signals do NOT skip cleanup — they print what is still being
/// cleaned up (and that `kiln sweep` removes what a killed kiln leaves).
///
/// On Darwin the disposition is SIG_IGN (kqueue sees ignored signals). On Linux libdispatch reads
/// signals from a signalfd, which only receives signals that no thread takes through the old mechanism,
/// and an ignored, unblocked signal is dropped by the kernel. libdispatch fixes this with a forwarding
/// handler it installs only for the first source of each signal in the process, so a second trap with
/// SIG_IGN would lose every signal. The trap therefore installs its own forwarder (block the signal in
/// the receiving thread, raise it again for the process, so it ends up in the signalfd) and, on
/// `remove()`, unblocks the signal again in the calling thread when it was not blocked there before.
public final class SignalTrap: @unchecked Sendable {
    private let context: PipelineContext
    private let queue = DispatchQueue(label: "kiln.pipeline.signal-trap")
    private static let queueKey = DispatchSpecificKey<Bool>()
    private let torndown = DispatchGroup()
    private let lock = NSLock()
    private var sources: [any DispatchSourceSignal] = []
    private var previous: [(signal: Int32, action: sigaction, wasBlocked: Bool)] = []
    private var received = 0

    /// Installs the trap: each signal's disposition is saved and replaced, and a dispatch source reports
    /// the signal instead. Returns once the sources are registered, so no signal is missed afterwards.
    public init(context: PipelineContext, signals: [Int32] = [SIGINT, SIGTERM]) {
        self.context = context
        queue.setSpecific(key: Self.queueKey, value: true)
        var mask = sigset_t()
        pthread_sigmask(SIG_BLOCK, nil, &mask)
        let registered = DispatchGroup()
        for number in Set(signals).sorted() {
            var old = sigaction()
            guard sigaction(number, nil, &old) == 0 else { continue }
            previous.append((number, old, sigismember(&mask, number) == 1))
            Self.divert(number)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [weak self] in self?.handle(number) }
            registered.enter()
            source.setRegistrationHandler { registered.leave() }
            torndown.enter()
            source.setCancelHandler { [torndown] in torndown.leave() }
            source.resume()
            sources.append(source)
        }
        _ = registered.wait(timeout: .now() + 2)
        // libdispatch installs its own forwarder when it registers a signal for the first time; ours
        // does the same job and stays the same whichever trap came first.
        for (number, _, _) in previous { Self.divert(number) }
    }

    deinit { remove() }

    /// Stops handling the signals and restores their previous dispositions. Safe to call twice.
    public func remove() {
        let (sources, previous) = lock.withLock {
            defer { self.sources = []; self.previous = [] }
            return (self.sources, self.previous)
        }
        guard !sources.isEmpty else { return }
        for source in sources { source.cancel() }
        if DispatchQueue.getSpecific(key: Self.queueKey) == nil {
            _ = torndown.wait(timeout: .now() + 2)  // the cancel handlers run once libdispatch let go of the signals
        }
        for (number, action, wasBlocked) in previous {
            var action = action
            _ = sigaction(number, &action, nil)
            #if os(Linux)
            // The forwarder left the signal blocked in the threads it ran on. Unblock it here (where
            // the build ran, typically), after dropping one that arrived while nobody listened.
            if !wasBlocked {
                var set = sigset_t()
                sigemptyset(&set)
                sigaddset(&set, number)
                var now = timespec(tv_sec: 0, tv_nsec: 0)
                while sigtimedwait(&set, nil, &now) > 0 {}
                pthread_sigmask(SIG_UNBLOCK, &set, nil)
            }
            #endif
        }
    }

    /// Replaces the signal's disposition: SIG_IGN on Darwin, the forwarder on Linux.
    private static func divert(_ number: Int32) {
        #if os(Linux)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = forwardToSignalFD
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        _ = sigaction(number, &action, nil)
        #else
        _ = signal(number, SIG_IGN)
        #endif
    }

    /// How many signals arrived while installed.
    public var signalsReceived: Int { lock.withLock { received } }

    private func handle(_ number: Int32) {
        let count = lock.withLock { () -> Int in
            received += 1
            return received
        }
        let name = Self.name(of: number)
        if count == 1 {
            context.cancel(signal: name)
            context.progress.note("cancelling: cleaning up … (\(name); kiln exits when what it created is gone)")
            return
        }
        let pending = context.pendingCleanups.reversed()
        let left = context.journal.record.remaining.map { entry in
            "\(entry.kind) \(entry.id ?? entry.token)\(entry.region.isEmpty ? "" : " (\(entry.region))")"
        }
        var line = "still cleaning up (\(name) does not skip cleanup)"
        if !pending.isEmpty { line += ": steps \(pending.joined(separator: ", "))" }
        line += left.isEmpty ? "; nothing is left to delete" : "; left: \(left.joined(separator: ", "))"
        line += ". If kiln is killed, `kiln sweep` removes what \(context.journal.path) lists"
        context.progress.note(line)
    }

    /// "SIGINT", "SIGTERM", … or "signal 10".
    static func name(of number: Int32) -> String {
        switch number {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        case SIGQUIT: "SIGQUIT"
        default: "signal \(number)"
        }
    }
}

#if os(Linux)
/// The Linux signal handler while a trap is installed: blocks the signal in this thread and raises it
/// again for the process, until it stays pending where libdispatch's signalfd reads it. Async-signal-safe.
private func forwardToSignalFD(_ number: Int32) {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, number)
    pthread_sigmask(SIG_BLOCK, &set, nil)
    kill(getpid(), number)
}
#endif

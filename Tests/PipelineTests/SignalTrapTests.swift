import Foundation
import Pipeline
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SignalTrap, with real signals raised in this process: serialized, and every test restores the
/// signal's disposition.
@Suite(.serialized) struct SignalTrapTests {
    /// The handler installed for `number`: 0 is SIG_DFL, 1 is SIG_IGN, anything else a function
    /// (libdispatch's forwarding handler on Linux).
    static func disposition(_ number: Int32) -> Int {
        var action = sigaction()
        _ = sigaction(number, nil, &action)
        #if os(Linux)
        return unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self)
        #else
        return unsafeBitCast(action.__sigaction_u.__sa_handler, to: Int.self)
        #endif
    }

    /// Runs `body` with `number` at its default action, and puts back whatever was there before.
    static func withDefaultDisposition(_ number: Int32, _ body: () throws -> Void) rethrows {
        var original = sigaction()
        _ = sigaction(number, nil, &original)
        _ = signal(number, SIG_DFL)
        defer { _ = sigaction(number, &original, nil) }
        try body()
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func firstSignalCancelsAndASecondDoesNotStopCleanup(number: Int32) throws {
        let name = number == SIGINT ? "SIGINT" : "SIGTERM"
        try Self.withDefaultDisposition(number) {
            let h = try Harness(sleep: { Thread.sleep(forTimeInterval: min($0, 0.002)) })
            let trap = SignalTrap(context: h.context, signals: [number])
            defer { trap.remove() }
            #expect(Self.disposition(number) != 0)  // the default action (terminate) is off while installed

            let first = FakeStep<Int, Int>("create group", h.log, cleanupBody: { context in
                // A second signal while this cleanup runs: it is reported, and the cleanup goes on.
                try context.journal.creating(kind: "security-group", region: "us-east-1", token: "kiln-b", step: "create group")
                kill(getpid(), number)
                let reported = waitUntil { context.progress.lines.contains { $0.hasPrefix("still cleaning up") } }
                #expect(reported)
                h.log.add("group cleanup finished")
            }) { n, _ in n + 1 }
            let second = FakeStep<Int, Int>("wait for report", h.log) { n, context in
                kill(getpid(), number)
                #expect(waitUntil { context.isCancelled })
                try context.sleep(600)  // throws at once: cancelled
                return n
            }
            let error = #expect(throws: PipelineCancelled.self) { try Pipeline(first).then(second).run(0, context: h.context) }
            #expect(error?.signal == name)
            #expect(h.log.events == ["run create group in=0", "run wait for report in=1", "cleanup wait for report out=nil cancelled",
                                     "cleanup create group out=1 cancelled", "group cleanup finished"])
            #expect(trap.signalsReceived == 2)
            let lines = h.progress.lines
            #expect(lines.contains { $0.hasPrefix("cancelling: cleaning up … (\(name)") })
            let still = lines.first { $0.hasPrefix("still cleaning up") } ?? ""
            #expect(still.contains("steps create group"))
            #expect(still.contains("security-group kiln-b (us-east-1)"))
            #expect(still.contains("`kiln sweep`"))
            #expect(h.journal.record.outcome == .cancelled)
        }
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func removeRestoresThePreviousDisposition(number: Int32) throws {
        try Self.withDefaultDisposition(number) {
            let h = try Harness()
            let trap = SignalTrap(context: h.context, signals: [number])
            #expect(Self.disposition(number) != 0)
            trap.remove()
            #expect(Self.disposition(number) == 0)
            trap.remove()  // twice is harmless
            #expect(Self.disposition(number) == 0)
            for _ in 0..<20 {  // removed at once, before libdispatch may even have registered the source
                SignalTrap(context: h.context, signals: [number]).remove()
                #expect(Self.disposition(number) == 0)
            }
            #expect(!h.context.isCancelled)
        }
    }
}

import Foundation
import Pipeline
import Testing

/// `Cleanup.until`: deletes, retries the delete after errors, polls with backoff until a describe
/// confirms the resource gone, ignores cancellation, and gives up with a clear error at its timeout.
@Suite struct CleanupTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var deleteFailures: Int       // the first N deletes throw
        var describesUntilGone: Int   // isGone is true from this call on (1-based)
        var describeFailures: Int = 0 // the first N describes throw
        var deletes: Int
        var sleeps: [TimeInterval]
        var testDescription: String { "\(deleteFailures) delete errors, gone at describe \(describesUntilGone)" }
    }

    @Test(arguments: [
        Case(deleteFailures: 0, describesUntilGone: 1, deletes: 1, sleeps: []),
        Case(deleteFailures: 0, describesUntilGone: 4, deletes: 1, sleeps: [1, 2, 4]),
        Case(deleteFailures: 2, describesUntilGone: 4, deletes: 3, sleeps: [1, 2, 4]),
        Case(deleteFailures: 3, describesUntilGone: 8, deletes: 4, sleeps: [1, 2, 4, 8, 15, 15, 15]),
        Case(deleteFailures: 0, describesUntilGone: 3, describeFailures: 2, deletes: 1, sleeps: [1, 2]),
    ])
    func retriesTheDeleteAfterErrorsAndPollsUntilGone(_ c: Case) throws {
        let h = try Harness()
        h.context.cancel(signal: "SIGINT")  // cleanup must finish anyway
        var deletes = 0, describes = 0
        try Cleanup.until(gone: "instance i-1", context: h.context, delete: {
            deletes += 1
            if deletes <= c.deleteFailures { throw TestError("IncorrectInstanceState") }
        }, isGone: {
            describes += 1
            if describes <= c.describeFailures { throw TestError("RequestLimitExceeded") }
            return describes >= c.describesUntilGone
        })
        #expect(deletes == c.deletes)
        #expect(describes == c.describesUntilGone)
        #expect(h.time.sleeps == c.sleeps)
        #expect(h.progress.lines.filter { $0.contains("delete failed, retrying: IncorrectInstanceState") }.count == c.deleteFailures)
    }

    @Test func somethingAlreadyGoneIsConfirmedEvenWhenTheDeleteThrows() throws {
        let h = try Harness()
        var deletes = 0
        try Cleanup.until(gone: "snapshot snap-1", context: h.context, delete: {
            deletes += 1
            throw TestError("InvalidSnapshot.NotFound")
        }, isGone: { true })
        #expect(deletes == 1)
        #expect(h.time.sleeps.isEmpty)
    }

    @Test func givesUpAtItsTimeoutWithAClearError() throws {
        let h = try Harness()
        var describes = 0
        let error = #expect(throws: PipelineError.self) {
            try Cleanup.until(gone: "AMI ami-1", context: h.context, timeout: 60, delete: {
                throw TestError("InvalidAMIID.Unavailable")
            }, isGone: { describes += 1; return false })
        }
        #expect(error?.isTimeout == true)
        let text = error?.description ?? ""
        #expect(text.contains("AMI ami-1 was not confirmed gone after 60 s"))
        #expect(text.contains("last error: InvalidAMIID.Unavailable"))
        #expect(text.contains("kiln sweep"))
        #expect(h.time.sleeps == [1, 2, 4, 8, 15, 15, 15])  // 60 s exactly, then one last check
        #expect(describes == 8)
    }
}

/// The progress lines' formats.
@Suite struct ProgressReporterTests {
    @Test(arguments: [
        (0.0, "0 s"), (12.4, "12 s"), (59.5, "1 m 00 s"), (75, "1 m 15 s"), (3599, "59 m 59 s"),
        (3600, "1 h 00 m"), (7384, "2 h 03 m"),
    ] as [(TimeInterval, String)])
    func durations(seconds: TimeInterval, text: String) throws {
        let time = FakeTime()
        let progress = ProgressReporter(write: { _ in }, clock: time.clock)
        progress.stepStarted("s")
        time.advance(seconds)
        progress.stepFinished("s")
        #expect(progress.lines.last?.hasSuffix("✓ s (\(text))") == true)
    }

    @Test func everyKindOfLineIsWrittenInOrder() throws {
        let time = FakeTime()
        let written = EventLog()
        let progress = ProgressReporter(write: { written.add($0) }, clock: time.clock)
        time.advance(5)
        progress.stepStarted("launch instance")
        progress.note("  instance: ::kiln:: step-begin base/tools")
        time.advance(4000)
        progress.stepFailed("launch instance", TestError("InsufficientInstanceCapacity"))
        progress.cleaning("terminate i-0abc")
        let expected = [
            "[00:05] ▸ launch instance",
            "  instance: ::kiln:: step-begin base/tools",
            "[66:45] ✗ launch instance: InsufficientInstanceCapacity",
            "cleaning up: terminate i-0abc",
        ]
        #expect(progress.lines == expected)
        #expect(written.events == expected)
    }
}

import Foundation
import Pipeline
import Testing

/// The runner: typed chaining, cleanups in reverse order on success, failure and cancellation at every
/// boundary, and cleanup failures collected without stopping the other cleanups.
@Suite struct PipelineRunnerTests {
    @Test func typedStepsChainAndPassValues() throws {
        let h = try Harness()
        let pipeline = Pipeline(FakeStep<Int, String>("format", h.log) { n, _ in "n=\(n)" })
            .then(FakeStep<String, [String]>("split", h.log) { s, _ in s.split(separator: "=").map(String.init) })
            .then(FakeStep<[String], Int>("count", h.log) { parts, _ in parts.count })
        #expect(pipeline.stepNames == ["format", "split", "count"])
        let result: Int = try pipeline.run(42, context: h.context)
        #expect(result == 2)
        #expect(h.log.events == [
            "run format in=42", "run split in=n=42", #"run count in=["n", "42"]"#,
            "cleanup count out=2 succeeded", #"cleanup split out=["n", "42"] succeeded"#, "cleanup format out=n=42 succeeded",
        ])
        #expect(h.journal.record.outcome == .succeeded)
        #expect(try Journal.load(path: h.journal.path).outcome == .succeeded)
        #expect(h.context.pendingCleanups.isEmpty)
    }

    @Test func progressShowsEachStepWithItsDuration() throws {
        let h = try Harness()
        let pipeline = Pipeline(FakeStep<Int, Int>("wait", h.log) { n, _ in h.time.advance(75); return n })
            .then(FakeStep<Int, Int>("fail", h.log) { _, _ in h.time.advance(3); throw TestError("boom") })
        #expect(throws: TestError("boom")) { try pipeline.run(0, context: h.context) }
        #expect(h.progress.lines == ["[00:00] ▸ wait", "[01:15] ✓ wait (1 m 15 s)", "[01:15] ▸ fail", "[01:18] ✗ fail: boom"])
    }

    /// A failing step: earlier cleanups get their outputs, the failing one nil, later ones never run.
    @Test(arguments: [0, 1, 2])
    func failureRunsRegisteredCleanupsInReverse(failing: Int) throws {
        let h = try Harness()
        let pipeline = threeSteps(h.log, run: { index, _ in if index == failing { throw TestError("step \(index) failed") } })
        #expect(throws: TestError("step \(failing) failed")) { try pipeline.run(0, context: h.context) }

        let names = ["a", "b", "c"], totals = [1, 11, 111], inputs = [0, 1, 11]
        let runs = (0...failing).map { "run \(names[$0]) in=\(inputs[$0])" }
        let cleanups = ["cleanup \(names[failing]) out=nil failed"]
            + (0..<failing).reversed().map { "cleanup \(names[$0]) out=\(totals[$0]) failed" }
        #expect(h.log.events == runs + cleanups)
        #expect(h.journal.record.outcome == .failed)
        #expect(h.context.cleanupFailures.isEmpty)
    }

    /// Cancelled at boundary k (before step k; k == 3 is after the last step): steps 0..<k ran, their
    /// cleanups run in reverse with `.cancelled`, and the pipeline throws PipelineCancelled.
    @Test(arguments: [0, 1, 2, 3])
    func cancellationAtEveryBoundary(boundary: Int) throws {
        let h = try Harness()
        if boundary == 0 { h.context.cancel(signal: "SIGINT") }
        let pipeline = threeSteps(h.log, run: { index, context in if index == boundary - 1 { context.cancel(signal: "SIGINT") } })
        #expect(throws: PipelineCancelled.self) { try pipeline.run(0, context: h.context) }

        let names = ["a", "b", "c"], totals = [1, 11, 111], inputs = [0, 1, 11]
        let runs = (0..<boundary).map { "run \(names[$0]) in=\(inputs[$0])" }
        let cleanups = (0..<boundary).reversed().map { "cleanup \(names[$0]) out=\(totals[$0]) cancelled" }
        #expect(h.log.events == runs + cleanups)
        #expect(h.journal.record.outcome == .cancelled)
        #expect(h.progress.lines.filter { $0.contains("▸") }.count == boundary)
    }

    @Test func cancellationDuringAStepSleepStopsItAndItsCleanupGetsNil() throws {
        let time = FakeTime()
        let h = try Harness(time: time)
        time.onSleep = { count in if count == 3 { h.context.cancel(signal: "SIGTERM") } }
        let pipeline = threeSteps(h.log, run: { index, context in if index == 1 { try context.sleep(600) } })
        do {
            _ = try pipeline.run(0, context: h.context)
            Issue.record("expected PipelineCancelled")
        } catch let error as PipelineCancelled {
            #expect(error.signal == "SIGTERM")
        }
        #expect(time.sleeps.count == 3)  // returned at the first slice after the cancel, not after 600 s
        #expect(time.sleeps.allSatisfy { $0 <= 0.1 })
        #expect(h.log.events == ["run a in=0", "run b in=1", "cleanup b out=nil cancelled", "cleanup a out=1 cancelled"])
    }

    @Test func anErrorThrownAfterCancellationIsReportedAsCancellation() throws {
        let h = try Harness()
        let pipeline = threeSteps(h.log, run: { index, context in
            if index == 1 {
                context.cancel(signal: "SIGINT")
                throw TestError("connection reset")  // e.g. a request interrupted by the signal
            }
        })
        let error = #expect(throws: PipelineCancelled.self) { try pipeline.run(0, context: h.context) }
        #expect(error?.signal == "SIGINT")
        #expect(h.progress.lines.contains { $0.hasSuffix("✗ b: connection reset") })
        #expect(h.journal.record.outcome == .cancelled)
    }

    struct CleanupFailureCase: Sendable, CustomTestStringConvertible {
        var failingStep: Int?
        var failingCleanups: Set<Int>
        var testDescription: String { "step \(failingStep.map(String.init) ?? "none") fails, cleanups \(failingCleanups.sorted()) fail" }
    }

    /// A throwing cleanup does not stop the others; failures are reported and collected, and only
    /// become the thrown error when every step succeeded.
    @Test(arguments: [
        CleanupFailureCase(failingStep: nil, failingCleanups: [1]),
        CleanupFailureCase(failingStep: nil, failingCleanups: [0, 2]),
        CleanupFailureCase(failingStep: nil, failingCleanups: [0, 1, 2]),
        CleanupFailureCase(failingStep: 2, failingCleanups: [1]),
        CleanupFailureCase(failingStep: 1, failingCleanups: [0, 1]),
    ])
    func throwingCleanupDoesNotStopTheOthers(_ c: CleanupFailureCase) throws {
        let h = try Harness()
        let names = ["a", "b", "c"]
        let pipeline = threeSteps(h.log, run: { index, _ in if index == c.failingStep { throw TestError("step failed") } },
                                  cleanupError: { c.failingCleanups.contains($0) ? TestError("cleanup \(names[$0]) failed") : nil })
        let ran = c.failingStep.map { Array(0...$0) } ?? [0, 1, 2]
        let failed = ran.reversed().filter { c.failingCleanups.contains($0) }
        let expected = failed.map { PipelineError.CleanupFailure(step: names[$0], message: "cleanup \(names[$0]) failed") }

        do {
            _ = try pipeline.run(0, context: h.context)
            Issue.record("expected an error")
        } catch let error as PipelineError {
            #expect(c.failingStep == nil)
            #expect(error.failures == expected)
            #expect(error.description.contains("kiln sweep"))
            #expect(error.description.contains(h.journal.path))
            #expect(error.description.contains("cleanup \(names[failed[0]]) failed"))
        } catch let error as TestError {
            #expect(c.failingStep != nil)
            #expect(error == TestError("step failed"))
        }
        #expect(h.log.events.filter { $0.hasPrefix("cleanup") }.count == ran.count)  // every cleanup ran
        #expect(h.context.cleanupFailures == expected)
        for step in failed {
            #expect(h.progress.lines.contains { $0.hasSuffix("✗ cleanup of \(names[step]): cleanup \(names[step]) failed") })
        }
        #expect(h.progress.lines.last?.contains("kiln sweep") == true)
        #expect(h.journal.record.outcome == (c.failingStep == nil ? .succeeded : .failed))
    }

    @Test func aPipelineRunsConcurrentlyWithItselfOnSeparateContexts() throws {
        let pipeline = threeSteps(EventLog())
        let results = NSLock(), totals = Box()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            guard let h = try? Harness(buildID: "b\(i)") else { return }
            let total = try? pipeline.run(i, context: h.context)
            results.withLock { totals.values.append(total ?? -1) }
        }
        #expect(totals.values.sorted() == (0..<8).map { $0 + 111 })
    }
}

final class Box: @unchecked Sendable { var values: [Int] = [] }

@Suite("Products survive a failed cleanup")
struct CompletedOutputTests {
    @Test("when every step succeeded and only a cleanup failed, the output is kept on the context")
    func keptOnContext() throws {
        let h = try Harness()
        let pipeline = Pipeline(FakeStep<Int, Int>("make", h.log, cleanupError: TestError("group still in use")) { n, _ in n + 1 })
            .then(FakeStep<Int, String>("name", h.log) { n, _ in "ami-\(n)" })
        do {
            _ = try pipeline.run(41, context: h.context)
            Issue.record("a failed cleanup must be reported")
        } catch let error as PipelineError {
            #expect(error.failures.map(\.step) == ["make"])
            #expect(h.context.completedOutput as? String == "ami-42")
        }
    }

    @Test("a failed step leaves no completed output")
    func noneOnFailure() throws {
        let h = try Harness()
        let pipeline = Pipeline(FakeStep<Int, Int>("make", h.log) { _, _ in throw TestError("boom") })
        #expect(throws: TestError.self) { try pipeline.run(1, context: h.context) }
        #expect(h.context.completedOutput == nil)
    }
}

import Foundation
import KilnTestSupport
import Pipeline
import Testing

/// A clock and a sleep that only move when slept on: tests never wait.
final class FakeTime: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_700_000_000)
    private var slept: [TimeInterval] = []
    /// Runs on every sleep (after the clock moved), e.g. to cancel the context mid-wait.
    var onSleep: (@Sendable (Int) -> Void)?

    var now: Date { lock.withLock { current } }
    var sleeps: [TimeInterval] { lock.withLock { slept } }
    var clock: @Sendable () -> Date { { self.now } }
    var sleep: @Sendable (TimeInterval) -> Void {
        { seconds in
            let count = self.lock.withLock { () -> Int in
                self.current += seconds
                self.slept.append(seconds)
                return self.slept.count
            }
            self.onSleep?(count)
        }
    }
    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}

/// A thread-safe list of what happened, in order.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ event: String) { lock.withLock { list.append(event) } }
    var events: [String] { lock.withLock { list } }
}

/// A build's context in a scratch directory, with fake time and captured progress.
struct Harness {
    let directory: TempDirectory
    let time: FakeTime
    let journal: Journal
    let progress: ProgressReporter
    let context: PipelineContext
    let log = EventLog()

    init(buildID: String = "b-test", time: FakeTime = FakeTime(),
         sleep: (@Sendable (TimeInterval) -> Void)? = nil) throws {
        directory = try TempDirectory()
        self.time = time
        journal = try Journal(directory: directory.path + "/.kiln/runs", buildID: buildID, recipe: "jupyter",
                              clock: time.clock)
        progress = ProgressReporter(write: { _ in }, clock: time.clock)
        context = PipelineContext(buildID: buildID, journal: journal, progress: progress, clock: time.clock,
                                  sleep: sleep ?? time.sleep)
    }
}

/// A step made of closures that logs its run and its cleanup ("cleanup b out=… succeeded").
struct FakeStep<Input, Output>: Step {
    let name: String
    let log: EventLog
    let body: @Sendable (Input, PipelineContext) throws -> Output
    var cleanupError: TestError?
    var cleanupBody: (@Sendable (PipelineContext) throws -> Void)?

    init(_ name: String, _ log: EventLog, cleanupError: TestError? = nil,
         cleanupBody: (@Sendable (PipelineContext) throws -> Void)? = nil,
         _ body: @escaping @Sendable (Input, PipelineContext) throws -> Output) {
        self.name = name
        self.log = log
        self.body = body
        self.cleanupError = cleanupError
        self.cleanupBody = cleanupBody
    }

    func run(_ input: Input, _ context: PipelineContext) throws -> Output {
        log.add("run \(name) in=\(input)")
        return try body(input, context)
    }

    func cleanup(_ output: Output?, outcome: PipelineOutcome, _ context: PipelineContext) throws {
        log.add("cleanup \(name) out=\(output.map { "\($0)" } ?? "nil") \(outcome)")
        try cleanupBody?(context)
        if let cleanupError { throw cleanupError }
    }
}

/// An error a fake throws.
struct TestError: Error, Equatable, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Three Int steps named a, b, c that add 1, 10, 100; the hooks decide per index what else happens.
func threeSteps(_ log: EventLog, run: @escaping @Sendable (Int, PipelineContext) throws -> Void = { _, _ in },
                cleanupError: @Sendable (Int) -> TestError? = { _ in nil }) -> Pipeline<Int, Int> {
    let names = ["a", "b", "c"], adds = [1, 10, 100]
    func step(_ index: Int) -> FakeStep<Int, Int> {
        FakeStep(names[index], log, cleanupError: cleanupError(index)) { input, context in
            try run(index, context)
            return input + adds[index]
        }
    }
    return Pipeline(step(0)).then(step(1)).then(step(2))
}

/// Polls (really sleeping, 1 ms at a time) until `condition` holds or `seconds` pass.
@discardableResult
func waitUntil(_ seconds: TimeInterval = 3, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > deadline { return false }
        Thread.sleep(forTimeInterval: 0.001)
    }
    return true
}

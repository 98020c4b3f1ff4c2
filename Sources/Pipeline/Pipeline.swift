import Foundation

/// A typed chain of steps: each step's output is the next step's input, checked by the compiler.
///
/// Packer's multistep, improved: no untyped state bag, cleanups registered as each step starts and run
/// in reverse order on success, failure and cancellation, each to the end.
public struct Pipeline<Input, Output>: Sendable {
    /// The steps' names, in order.
    public let stepNames: [String]
    private let body: @Sendable (Input, PipelineContext, CleanupStack) throws -> Output

    /// A pipeline of one step.
    public init<S: Step>(_ step: S) where S.Input == Input, S.Output == Output {
        stepNames = [step.name]
        body = { input, context, stack in try performStep(step, input, context, stack) }
    }

    private init(stepNames: [String], body: @escaping @Sendable (Input, PipelineContext, CleanupStack) throws -> Output) {
        self.stepNames = stepNames
        self.body = body
    }

    /// This pipeline followed by `step`, which receives this pipeline's output.
    public func then<S: Step>(_ step: S) -> Pipeline<Input, S.Output> where S.Input == Output {
        let first = body
        return Pipeline<Input, S.Output>(stepNames: stepNames + [step.name]) { input, context, stack in
            let middle = try first(input, context, stack)
            return try performStep(step, middle, context, stack)
        }
    }

    /// Runs the steps in order, checking cancellation at every boundary; registers each step's cleanup
    /// before the step starts; afterwards runs the registered cleanups in reverse order — on success,
    /// failure and cancellation — each to the end even if an earlier cleanup threw (cleanup errors are
    /// reported through the context and collected); rethrows the step's error (or PipelineCancelled),
    /// or a PipelineError listing cleanup failures when only cleanups failed.
    ///
    /// When the context was cancelled, the outcome is `.cancelled` and the error thrown is
    /// `PipelineCancelled`, whatever the interrupted step threw (its own error is shown in the progress).
    /// The journal is finished with the outcome after the cleanups.
    public func run(_ input: Input, context: PipelineContext) throws -> Output {
        let stack = CleanupStack(context: context)
        let result: Result<Output, any Error>
        do {
            let output = try body(input, context, stack)
            try context.checkCancelled()  // the boundary after the last step
            result = .success(output)
        } catch {
            result = .failure(error)
        }

        let outcome: PipelineOutcome
        switch result {
        case .success: outcome = .succeeded
        case .failure(let error): outcome = (error is PipelineCancelled || context.isCancelled) ? .cancelled : .failed
        }

        var failures = stack.unwind(outcome: outcome)
        do {
            try context.journal.finish(outcome: outcome)
        } catch {
            context.progress.stepFailed("journal", error)
            failures.append(PipelineError.CleanupFailure(step: "journal", message: String(describing: error)))
        }
        context.recordCleanupFailures(failures)
        if !failures.isEmpty {
            context.progress.note(PipelineError.sweepAdvice(journal: context.journal.path))
        }

        switch result {
        case .success(let output):
            if failures.isEmpty { return output }
            context.recordCompletedOutput(output)
            throw PipelineError.cleanupsFailed(failures, journal: context.journal.path)
        case .failure(let error):
            if outcome == .cancelled {
                throw (error as? PipelineCancelled) ?? PipelineCancelled(signal: context.cancellationSignal ?? "cancel")
            }
            throw error
        }
    }
}

/// Runs one step: the boundary check, the cleanup's registration, progress, and the output kept for the cleanup.
private func performStep<S: Step>(_ step: S, _ input: S.Input, _ context: PipelineContext,
                                  _ stack: CleanupStack) throws -> S.Output {
    try context.checkCancelled()
    let name = step.name
    let box = OutputBox<S.Output>()
    stack.register(name) { outcome in try step.cleanup(box.value, outcome: outcome, context) }
    context.progress.stepStarted(name)
    do {
        let output = try step.run(input, context)
        box.value = output
        context.progress.stepFinished(name)
        return output
    } catch {
        context.progress.stepFailed(name, error)
        throw error
    }
}

/// Holds a step's output for its cleanup; empty while the step runs and when it threw.
private final class OutputBox<Value> {
    var value: Value?
}

/// The cleanups registered during one run, unwound in reverse order.
final class CleanupStack {
    private let context: PipelineContext
    private var entries: [(name: String, cleanup: (PipelineOutcome) throws -> Void)] = []

    init(context: PipelineContext) { self.context = context }

    /// Registers a step's cleanup (before the step starts).
    func register(_ name: String, _ cleanup: @escaping (PipelineOutcome) throws -> Void) {
        entries.append((name, cleanup))
        context.pendingCleanupAdded(name)
    }

    /// Runs every cleanup, last registered first, each to the end; returns the failures (already reported).
    func unwind(outcome: PipelineOutcome) -> [PipelineError.CleanupFailure] {
        var failures: [PipelineError.CleanupFailure] = []
        while let (name, cleanup) = entries.popLast() {
            do {
                try cleanup(outcome)
            } catch {
                context.progress.stepFailed("cleanup of \(name)", error)
                failures.append(PipelineError.CleanupFailure(step: name, message: String(describing: error)))
            }
            context.pendingCleanupFinished(name)
        }
        return failures
    }
}

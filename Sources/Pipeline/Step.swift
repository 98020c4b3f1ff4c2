import Foundation

/// One typed step of a pipeline: `run` turns the previous step's output into this step's output, and
/// `cleanup` removes what `run` created once the whole pipeline has ended.
///
/// A step that creates something writes it to `context.journal` before the create call
/// (`creating(kind:region:token:step:)`) and after it (`created(_:id:)`), so that a cleanup whose
/// `output` is nil (the step threw, or was interrupted) still knows what may exist.
public protocol Step<Input, Output>: Sendable {
    /// What the step receives: the previous step's output, or the pipeline's input.
    associatedtype Input
    /// What the step hands to the next one.
    associatedtype Output
    /// Shown in progress output ("launch instance").
    var name: String { get }
    /// Does the step's work. Long waits go through `context.sleep(_:)` (or call
    /// `context.checkCancelled()`), so a signal stops the step promptly.
    func run(_ input: Input, _ context: PipelineContext) throws -> Output
    /// Runs after the whole pipeline ends (reverse order), whatever the outcome; `output` is nil when
    /// `run` threw or never finished (then the journal says what was being created). Default: nothing.
    ///
    /// Cleanups run even after cancellation, so they must not use `context.sleep(_:)` (it throws once
    /// the context is cancelled); `Cleanup.until(gone:context:timeout:delete:isGone:)` waits regardless.
    func cleanup(_ output: Output?, outcome: PipelineOutcome, _ context: PipelineContext) throws
}

extension Step {
    /// The default cleanup: the step created nothing that outlives it.
    public func cleanup(_ output: Output?, outcome: PipelineOutcome, _ context: PipelineContext) throws {}
}

/// `Step` under a name no other module uses: `Recipe` has a `Step` too, and `Pipeline.Step` names a
/// member of the `Pipeline` struct, so a file importing both modules writes `PipelineStep`.
public typealias PipelineStep = Step

extension Pipeline {
    /// `Pipeline.Step` is the `Step` protocol (the module and the struct share the name `Pipeline`).
    public typealias Step = PipelineStep
}

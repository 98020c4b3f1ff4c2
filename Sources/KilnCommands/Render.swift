import ArgumentParser
import Foundation
import Recipe

/// `kiln render --target ami|oci RECIPE`: shows exactly what a build would do.
public struct Render: ContextCommand {
    /// Help and examples.
    public static let configuration = CommandConfiguration(
        abstract: "Print the EC2 user-data script (ami) or the ordered layer plan (oci) of a recipe.",
        discussion: """
        For --target ami the script on stdout is the one kiln sends as user-data (with this \
        build's ID and presigned URLs filled in at build time); when it is over EC2's 16 KB \
        limit kiln sends it gzip-compressed, and --output writes those exact bytes.

        Examples:
          kiln render --target ami recipes/examples/tools.yaml > user-data.sh
          kiln render --target ami recipes/examples/notebook.yaml | shellcheck -
          kiln render --target oci recipes/examples/notebook.yaml
          kiln render --target oci --json --param course=stat200 recipes/examples/notebook.yaml
        """)

    /// The target to render for.
    @Option(help: "What to render for: ami (user-data script) or oci (layer plan).")
    public var target: Target

    /// The recipe file.
    @Argument(help: "The recipe file.")
    public var recipe: String

    /// Parameter overrides.
    @Option(name: .customLong("param"), help: "Override a parameter: --param name=value (repeatable).")
    public var params: [String] = []

    /// The build ID written into the script.
    @Option(name: .customLong("build-id"), help: "The build ID written into the user-data (default: render-<hash>).")
    public var buildID: String?

    /// Where to write the exact user-data bytes.
    @Option(help: "Also write the exact user-data bytes (gzip-compressed when over 16 KB) to this file.")
    public var output: String?

    /// Global options.
    @OptionGroup public var global: GlobalOptions

    /// Creates the command.
    public init() {}

    /// Checks options that go together.
    public func validate() throws {
        if output != nil && target != .ami { throw ValidationError("--output applies to --target ami only") }
        if let buildID, buildID.isEmpty || !buildID.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
            throw ValidationError("--build-id takes letters, digits and '-'")
        }
    }

    /// Runs the command.
    public func run(context: CommandContext) throws {
        let loader = RecipeLoader(overrides: try parseParams(params), workingDirectory: context.workingDirectory)
        do {
            let resolved = try loader.load(recipe)
            let hash = try RecipeHash.compute(resolved)
            switch target {
            case .ami:
                guard resolved.base.ami != nil else {
                    throw RecipeError(SourcePosition(file: recipe, line: 1, column: 1),
                                      "recipe '\(resolved.name)' has no AMI base, so it cannot be built as an AMI",
                                      hint: "add 'base: {ami: {ssm: …}}' (an AMI ID, an SSM parameter, or a name filter with owners)")
                }
                let script = try UserDataRenderer.render(
                    resolved, hash: hash,
                    context: InstanceContext(buildID: buildID ?? "render-\(RecipeHash.short(hash))", kilnVersion: Kiln.version))
                let payload = try UserDataRenderer.payload(script, recipePath: recipe)
                if let output {
                    let path = context.absolute(output)
                    guard FileManager.default.createFile(atPath: path, contents: Data(payload.bytes)) else {
                        throw ValidationError("cannot write \(output)")
                    }
                }
                if global.json {
                    struct AMIRender: Encodable {
                        var recipe: String, version: String, hash: String, bytes: Int, sentBytes: Int
                        var compressed: Bool, script: String
                    }
                    context.out(try jsonText(AMIRender(recipe: resolved.name, version: resolved.version, hash: hash,
                                                       bytes: script.utf8.count, sentBytes: payload.bytes.count,
                                                       compressed: payload.compressed, script: script)))
                } else {
                    context.out(script)
                    let note = payload.compressed
                        ? "user-data: \(script.utf8.count) bytes, sent gzip-compressed as \(payload.bytes.count) bytes (EC2 limit \(UserDataRenderer.ec2Limit))"
                        : "user-data: \(script.utf8.count) bytes (EC2 limit \(UserDataRenderer.ec2Limit))"
                    context.err(note + "\n")
                }
            case .oci:
                let plan = try LayerPlan.make(resolved, hash: hash)
                context.out(global.json ? try jsonText(plan) : plan.text)
            }
        } catch let error as RecipeError {
            throw context.report(error)
        }
    }
}

extension Target: ExpressibleByArgument {}

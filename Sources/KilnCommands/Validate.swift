import ArgumentParser
import Foundation
import Recipe

/// `kiln validate PATH...`: checks recipes and prints their identity, or every problem with its position.
public struct Validate: ContextCommand {
    /// Help and examples.
    public static let configuration = CommandConfiguration(
        abstract: "Check recipes: YAML, keys, types, composition, parameters, referenced files, shell syntax.",
        discussion: """
        Each problem is printed as FILE:LINE:COL: error: MESSAGE, with a note when kiln can say \
        what to do. Exits 1 when any recipe has a problem.

        Examples:
          kiln validate recipes/
          kiln validate recipes/julia.yaml recipes/r.yaml
          kiln validate --json recipes/ | jq '.[] | select(.ok | not)'
        """)

    /// Recipe files or directories.
    @Argument(help: "Recipe files, or directories to search for *.yaml.")
    public var paths: [String] = ["recipes"]

    /// Parameter overrides.
    @Option(name: .customLong("param"), help: "Override a parameter: --param name=value (repeatable).")
    public var params: [String] = []

    /// Global options.
    @OptionGroup public var global: GlobalOptions

    /// Creates the command.
    public init() {}

    struct Result: Encodable {
        var path: String
        var ok: Bool
        var name: String?
        var version: String?
        var hash: String?
        var targets: [String]?
        var errors: [Problem]?
    }

    struct Problem: Encodable {
        var file: String
        var line: Int
        var column: Int
        var message: String
        var hint: String?
    }

    /// Runs the command.
    public func run(context: CommandContext) throws {
        let files = try recipePaths(paths, context: context)
        if files.isEmpty { throw ValidationError("no recipes (*.yaml) found in \(paths.joined(separator: " "))") }
        let loader = RecipeLoader(overrides: try parseParams(params), workingDirectory: context.workingDirectory)
        var results: [Result] = []
        for file in files {
            do {
                let recipe = try loader.load(file)
                let syntax = ScriptCheck.syntaxErrors(recipe)
                if !syntax.isEmpty { throw RecipeError(syntax) }
                let hash = try RecipeHash.compute(recipe)
                var targets: [String] = []
                if recipe.base.ami != nil {
                    let script = try UserDataRenderer.render(recipe, hash: hash,
                                                             context: InstanceContext(buildID: "validate", kilnVersion: Kiln.version))
                    _ = try UserDataRenderer.payload(script, recipePath: file)
                    targets.append("ami")
                }
                if recipe.base.oci != nil {
                    _ = try LayerPlan.make(recipe, hash: hash)
                    targets.append("oci")
                }
                results.append(Result(path: file, ok: true, name: recipe.name, version: recipe.version, hash: hash,
                                      targets: targets))
                if !global.json {
                    context.out("ok      \(file)  \(recipe.name) \(recipe.version)  [\(targets.joined(separator: ", "))]  \(hash)\n")
                    if global.verbose {
                        context.err("        lineage: \(recipe.lineage.joined(separator: " → ")); \(recipe.steps.count) steps, \(recipe.tests.count) tests\n")
                    }
                }
            } catch let error as RecipeError {
                results.append(Result(path: file, ok: false, errors: error.diagnostics.map {
                    Problem(file: $0.position.file, line: $0.position.line, column: $0.position.column,
                            message: $0.message, hint: $0.hint)
                }))
                if !global.json { context.err(error.description + "\n") }
            }
        }
        if global.json { context.out(try jsonText(results)) }
        let failed = results.filter { !$0.ok }.count
        if !global.json {
            context.err("\(results.count - failed) of \(results.count) recipes valid\n")
        }
        if failed > 0 { throw ExitCode(1) }
    }
}

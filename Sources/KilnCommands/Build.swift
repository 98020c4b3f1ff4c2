import ArgumentParser
import Foundation
import AMIPipeline
import Pipeline
import Recipe

/// `kiln build --target ami RECIPE...`: bakes AMIs.
public struct Build: ContextCommand {
    /// Help and examples.
    public static let configuration = CommandConfiguration(
        abstract: "Build an AMI from each recipe (OCI images arrive with the OCI pipeline).",
        discussion: """
        An AMI build boots the recipe's base AMI with a temporary security group that admits nothing, \
        lets the rendered user-data provision it (no SSH), learns the outcome from the instance's own \
        report, snapshots it, copies and shares the AMI, and removes everything temporary. Every \
        resource is journaled in .kiln/runs/<build-id>.json; on failure or Ctrl-C kiln cleans up, and \
        `kiln sweep` removes what a killed kiln left behind. A failed build's log is saved in .kiln/logs/.

        Examples:
          kiln build --target ami recipes/julia.yaml
          kiln build --target ami --region eu-west-1 --bucket my-kiln-logs recipes/datascience.yaml
          kiln build --target ami --json recipes/base.yaml | jq '.[0].amis'
        """)

    /// The target.
    @Option(help: "What to build: ami.")
    public var target: Target

    /// The recipes.
    @Argument(help: "Recipe files.")
    public var recipes: [String]

    /// The log bucket.
    @Option(help: "S3 bucket for the instance's log and result (default kiln-builds-<account>-<region>, created if missing).")
    public var bucket: String?

    /// Parameter overrides.
    @Option(name: .customLong("param"), help: "Override a parameter: --param name=value (repeatable).")
    public var params: [String] = []

    /// Global options.
    @OptionGroup public var global: GlobalOptions

    /// Creates the command.
    public init() {}

    /// Checks the target.
    public func validate() throws {
        if target == .oci {
            throw ValidationError("--target oci is not available yet: OCI images arrive with the OCI pipeline. Use --target ami.")
        }
        if recipes.isEmpty { throw ValidationError("name at least one recipe file") }
    }

    /// Runs the builds one after another; exits 1 when any failed.
    public func run(context: CommandContext) throws {
        let loader = RecipeLoader(overrides: try parseParams(params), workingDirectory: context.workingDirectory)
        let config = try global.awsConfig(context: context)
        let clients = try AMIClients(config: config)
        var results: [AMIBuildResult] = []
        var failed = 0
        for path in recipes {
            let recipe: ResolvedRecipe
            let hash: String
            do {
                recipe = try loader.load(path)
                hash = try RecipeHash.compute(recipe)
            } catch let error as RecipeError {
                throw context.report(error)
            }
            let buildID = newBuildID(recipe: recipe.name)
            let journal = try Journal(directory: context.absolute(".kiln/runs"), buildID: buildID, recipe: recipe.name)
            let progress = ProgressReporter(write: { context.err($0 + "\n") })
            let pipelineContext = PipelineContext(buildID: buildID, journal: journal, progress: progress)
            let trap = SignalTrap(context: pipelineContext)
            defer { trap.remove() }
            progress.note("build \(buildID): \(recipe.name) \(recipe.version) in \(config.region) (journal \(journal.path))")
            var options = AMIBuildOptions(buildID: buildID, bucket: bucket, logsDirectory: context.absolute(".kiln/logs"),
                                          kilnVersion: Kiln.version)
            // KILN_POLL_SECONDS: how often the instance and images are polled (default 10 s; tests use less).
            if let seconds = context.environment["KILN_POLL_SECONDS"].flatMap(Double.init), seconds > 0 {
                options.pollInterval = seconds
            }
            let builder = AMIBuilder(clients: clients, options: options)
            do {
                let result = try builder.build(recipe, hash: hash, context: pipelineContext)
                results.append(result)
                if !global.json {
                    context.out("\(recipe.name) \(recipe.version) (\(buildID), \(result.seconds) s):\n")
                    for (region, ami) in result.amis.sorted(by: { $0.key < $1.key }) { context.out("  \(region)  \(ami)\n") }
                }
            } catch {
                context.err("error: build \(buildID) of \(recipe.name) failed: \(error)\n")
                failed += 1
                if pipelineContext.isCancelled { break }
            }
        }
        if global.json { context.out(try jsonText(results)) }
        if failed > 0 { throw ExitCode(1) }
    }
}

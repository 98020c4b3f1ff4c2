import ArgumentParser
import Foundation
import AMIPipeline
import Pipeline
import Recipe

/// `kiln build --target ami|oci RECIPE...`: bakes AMIs or OCI images.
public struct Build: ContextCommand {
    /// Help and examples.
    public static let configuration = CommandConfiguration(
        abstract: "Build an AMI or an OCI image from each recipe.",
        discussion: """
        An OCI build (--target oci) needs no Docker daemon: the base (a registry image, a local OCI \
        layout, a debootstrap root or scratch) is resolved into layers; fetch and files steps become \
        layers without executing anything; run, apt and pip steps execute in a Linux namespace sandbox \
        over the image's root and their file-system changes become the next layer. Layers are cached \
        by the chain of steps before them (in ~/.cache/kiln, or --cache-dir, or $KILN_CACHE_DIR), so \
        an unchanged step is not run again. The recipe's tests run in the finished image; then the \
        image is written to an OCI image layout (default out/<recipe>) and, with --push, sent to a \
        registry (ECR repositories are created when missing). Set SOURCE_DATE_EPOCH (or the \
        recipe's epoch) for byte-identical images from the same inputs.

        An AMI build boots the recipe's base AMI with a temporary security group that admits nothing, \
        lets the rendered user-data provision it (no SSH), learns the outcome from the instance's own \
        report, snapshots it, copies and shares the AMI, and removes everything temporary. Every \
        resource is journaled in .kiln/runs/<build-id>.json; on failure or Ctrl-C kiln cleans up, and \
        `kiln sweep` removes what a killed kiln left behind. A failed build's log is saved in .kiln/logs/.

        Examples:
          kiln build --target oci recipes/examples/debian-tools.yaml
          kiln build --target oci --output oci-layout:/tmp/tools --push 127.0.0.1:5000/tools:dev recipes/examples/tools.yaml
          kiln build --target oci --push 123456789012.dkr.ecr.us-east-1.amazonaws.com/julia recipes/julia.yaml
          SOURCE_DATE_EPOCH=1763683200 kiln build --target oci --no-cache --json recipes/base.yaml
          kiln build --target ami recipes/julia.yaml
          kiln build --target ami --region eu-west-1 --bucket my-kiln-logs recipes/datascience.yaml
          kiln build --target ami --json recipes/base.yaml | jq '.[0].amis'
        """)

    /// The target.
    @Option(help: "What to build: ami or oci.")
    public var target: Target

    /// The recipes.
    @Argument(help: "Recipe files.")
    public var recipes: [String]

    /// The log bucket.
    @Option(help: "S3 bucket for the instance's log and result (default kiln-builds-<account>-<region>, created if missing).")
    public var bucket: String?

    /// Where an OCI image is written.
    @Option(help: ArgumentHelp("OCI: where the image is written, oci-layout:DIR (default out/<recipe>).", valueName: "oci-layout:DIR"))
    public var output: String?

    /// Where an OCI image is pushed.
    @Option(help: ArgumentHelp("OCI: push the image to this reference (registry/repository[:tag]); without a tag, the recipe's oci.tags (or its version).", valueName: "REF"))
    public var push: String?

    /// The layout tag.
    @Option(help: "OCI: the tag in the output layout (default: the recipe's version).")
    public var tag: String?

    /// Re-run every step.
    @Flag(help: "OCI: run every step again instead of reusing cached layers.")
    public var noCache = false

    /// Skip the tests.
    @Flag(help: "OCI: do not run the recipe's tests in the finished image.")
    public var skipTests = false

    /// The cache directory.
    @Option(help: "OCI: the build cache (default $KILN_CACHE_DIR, else ~/.cache/kiln).")
    public var cacheDir: String?

    /// Parameter overrides.
    @Option(name: .customLong("param"), help: "Override a parameter: --param name=value (repeatable).")
    public var params: [String] = []

    /// Global options.
    @OptionGroup public var global: GlobalOptions

    /// Creates the command.
    public init() {}

    /// Checks the target.
    public func validate() throws {
        if recipes.isEmpty { throw ValidationError("name at least one recipe file") }
        if target == .ami {
            let ociOnly = [("--output", output != nil), ("--push", push != nil), ("--tag", tag != nil), ("--no-cache", noCache),
                           ("--skip-tests", skipTests), ("--cache-dir", cacheDir != nil)]
            if let (name, _) = ociOnly.first(where: { $0.1 }) {
                throw ValidationError("\(name) applies to --target oci only")
            }
        } else {
            if bucket != nil { throw ValidationError("--bucket applies to --target ami only") }
            if let output, !output.hasPrefix("oci-layout:") || output.count == "oci-layout:".count {
                throw ValidationError("--output must be oci-layout:DIR (got '\(output)')")
            }
            if output != nil, recipes.count > 1 {
                throw ValidationError("--output names one layout; build one recipe at a time with it, or leave it out (each recipe goes to out/<recipe>)")
            }
        }
    }

    /// Runs the builds one after another; exits 1 when any failed.
    public func run(context: CommandContext) throws {
        if target == .oci { return try runOCI(context: context) }
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
            let trap = context.trapsSignals ? SignalTrap(context: pipelineContext) : nil
            defer { trap?.remove() }
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

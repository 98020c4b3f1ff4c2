import ArgumentParser
import Foundation
import AMIPipeline
import Catalog
import EC2
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

        Each successful build is recorded in images/catalog.json (--catalog FILE, or --no-catalog), under \
        a lock and atomically, so concurrent builds all land; `kiln publish` then hands it out (docs/catalog.md).

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

    /// The catalog each successful build is recorded in.
    @Option(help: "The catalog each successful build is recorded in (docs/catalog.md).")
    public var catalog: String = "images/catalog.json"

    /// Leave the catalog alone.
    @Flag(help: "Do not record the builds in the catalog.")
    public var noCatalog = false

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
            let run = try BuildRun(path: path, loader: loader, context: context)
            defer { run.trap?.remove() }
            let (recipe, hash, buildID, journal, progress, pipelineContext) =
                (run.recipe, run.hash, run.buildID, run.journal, run.progress, run.pipelineContext)
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
                if !record(amiEntry(result, recipe: recipe, ec2: clients.ec2), context: context) { failed += 1 }
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

extension Build {
    /// Records a successful build in the catalog (under its lock, atomically); false, after saying why,
    /// when that failed: the image exists, but CI would not know it.
    func record(_ entry: CatalogEntry, context: CommandContext) -> Bool {
        if noCatalog { return true }
        do {
            try CatalogStore(path: context.absolute(catalog), shownAs: catalog).update { $0.record(entry) }
            return true
        } catch {
            context.err("error: \(entry.recipe) was built (\(entry.id)) but recording it in \(catalog) failed: \(error)\n")
            return false
        }
    }

    /// The catalog entry of an AMI build; its size is the build-region AMI's volumes (nil when they cannot be described).
    func amiEntry(_ result: AMIBuildResult, recipe: ResolvedRecipe, ec2: EC2Client) -> CatalogEntry {
        var entry = CatalogEntry(building: recipe, target: .ami, id: result.buildID, hash: result.hash, kilnVersion: Kiln.version,
                                 builtAt: Date(), seconds: Double(result.seconds))
        entry.amis = result.amis
        entry.base = CatalogEntry.ResolvedBase(amis: [ec2.region: result.baseAMI])
        // What `kiln plan --resolve-bases` compares: the hash with the base the build started from.
        entry.resolvedHash = try? BaseResolver.amiHash(recipe, region: ec2.region, baseAMI: result.baseAMI)
        if let ami = result.amis[ec2.region], let image = try? ec2.describeImages(imageIDs: [ami]).first {
            let gib = image.blockDeviceMappings.compactMap { $0.ebs?.volumeSize }.reduce(0, +)
            if gib > 0 { entry.sizeBytes = Int64(gib) << 30 }
        }
        return entry
    }
}

/// What every build of one recipe starts with: the recipe loaded and hashed, a build ID, its journal,
/// progress on standard error, the pipeline context, and (in the real process) the signal trap.
struct BuildRun {
    let recipe: ResolvedRecipe
    let hash: String
    let buildID: String
    let journal: Journal
    let progress: ProgressReporter
    let pipelineContext: PipelineContext
    let trap: SignalTrap?

    /// Loads `path`; a recipe problem is reported and becomes the recipe exit code.
    init(path: String, loader: RecipeLoader, context: CommandContext) throws {
        do {
            recipe = try loader.load(path)
            hash = try RecipeHash.compute(recipe)
        } catch let error as RecipeError {
            throw context.report(error)
        }
        buildID = newBuildID(recipe: recipe.name)
        journal = try Journal(directory: context.absolute(".kiln/runs"), buildID: buildID, recipe: recipe.name)
        progress = ProgressReporter(write: { context.err($0 + "\n") })
        pipelineContext = PipelineContext(buildID: buildID, journal: journal, progress: progress)
        trap = context.trapsSignals ? SignalTrap(context: pipelineContext) : nil
    }
}

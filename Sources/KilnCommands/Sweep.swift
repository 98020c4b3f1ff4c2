import ArgumentParser
import Foundation
import AMIPipeline
import EC2
import Pipeline

/// `kiln sweep`: removes what builds left behind.
public struct Sweep: ContextCommand {
    /// Help and examples.
    public static let configuration = CommandConfiguration(
        abstract: "Remove resources left by builds that are not running (a killed kiln, a lost machine).",
        discussion: """
        Finds, in the build region and every region named with --regions, whatever carries a \
        kiln:build-id tag of a build that is not running: instances, security groups, AMIs of \
        builds that never finished (without the kiln:complete tag) and their snapshots. \
        Finished AMIs are never touched, and neither is a build whose kiln:expires-at has not \
        passed (it may be running on another machine) unless --force.

        Examples:
          kiln sweep --dry-run
          kiln sweep --regions us-west-2,eu-west-1
          kiln sweep --json --dry-run | jq length
          kiln sweep --force    # also builds whose deadline has not passed
        """)

    /// Only list.
    @Flag(name: .customLong("dry-run"), help: "List what would be removed; remove nothing.")
    public var dryRun = false

    /// Extra regions.
    @Option(help: "More regions to sweep, comma-separated (the build region and the regions in local journals are always swept).")
    public var regions: String?

    /// Sweep builds whose deadline has not passed.
    @Flag(help: "Also remove resources of builds whose kiln:expires-at has not passed (they may be running on another machine).")
    public var force = false

    /// Global options.
    @OptionGroup public var global: GlobalOptions

    /// Creates the command.
    public init() {}

    /// Runs the sweep.
    public func run(context: CommandContext) throws {
        let config = try global.awsConfig(context: context)
        let home = try EC2Client(config: config)
        let runs = context.absolute(".kiln/runs")
        var clients = [home]
        let named = Set((regions ?? "").split(separator: ",").map(String.init)).union(Sweeper.journalRegions(runs))
        for region in named.sorted() where region != config.region {
            clients.append(try home.inRegion(region))
        }
        let sweeper = Sweeper(regions: clients, runningBuilds: Sweeper.runningBuilds(journals: runs), force: force)
        let leftovers = try sweeper.find()
        if global.json {
            context.out(try jsonText(leftovers))
        } else if leftovers.isEmpty {
            context.out("nothing left behind\n")
        } else {
            for item in leftovers { context.out("\(item.region)  \(item.kind)  \(item.id)  (build \(item.buildID))\n") }
        }
        guard !dryRun, !leftovers.isEmpty else { return }
        let journal = try Journal(directory: context.absolute(".kiln/sweeps"), buildID: "sweep-\(UUID().uuidString.prefix(8).lowercased())",
                                  recipe: "sweep")
        let pipelineContext = PipelineContext(buildID: "sweep", journal: journal,
                                              progress: ProgressReporter(write: { context.err($0 + "\n") }))
        try sweeper.remove(leftovers, context: pipelineContext)
        try journal.finish(outcome: .succeeded)  // the sweep's own journal records each deletion
        if !global.json { context.out("removed \(leftovers.count) resources\n") }
    }
}

import ArgumentParser
import Catalog
import Foundation

/// `kiln gc --keep N`: deregisters a recipe's older AMIs and deletes their snapshots.
public struct GC: ContextCommand {
    /// Help and examples.
    public static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove old AMIs (and their snapshots) of each recipe, keeping the newest N and the current one.",
        discussion: """
        For each recipe (or the ones named), the catalog's AMI builds older than the newest N are \
        deprecated, deregistered in every region they were copied to, and their snapshots deleted; \
        their catalog entries are marked deleted. The image the catalog marks current is never \
        removed. Only AMIs recorded in the catalog are touched. --dry-run shows what would go.

        Examples:
          kiln gc --keep 3 --dry-run
          kiln gc --keep 2 julia datascience
          kiln gc --keep 1 --json
        """)

    /// How many builds to keep.
    @Option(help: "How many of each recipe's newest AMI builds to keep (the current one is always kept).")
    public var keep: Int

    /// Recipe names.
    @Argument(help: "Recipe names (default: every recipe in the catalog).")
    public var recipes: [String] = []

    /// The catalog file.
    @Option(help: "The catalog of built images.")
    public var catalog: String = "images/catalog.json"

    /// Look only.
    @Flag(help: "Show what would be removed; remove nothing.")
    public var dryRun = false

    /// Global options.
    @OptionGroup public var global: GlobalOptions

    /// Creates the command.
    public init() {}

    /// Checks `--keep`.
    public func validate() throws {
        if keep < 0 { throw ValidationError("--keep must be 0 or more (the current image is kept anyway)") }
    }

    struct Output: Encodable {
        var removed: [RemovedImage]
        var dryRun: Bool
    }

    /// Runs the command.
    public func run(context: CommandContext) throws {
        let store = CatalogStore(path: context.absolute(catalog), shownAs: catalog)
        let document = try store.read()
        let unknown = recipes.filter { !document.recipes.contains($0) }
        if !unknown.isEmpty {
            throw ValidationError("not in \(catalog): \(unknown.joined(separator: ", "))")
        }
        let expired = Retention.expired(document, keep: keep, recipes: recipes)
        var removed: [RemovedImage] = []
        if !expired.isEmpty {
            let firstRegion = expired.flatMap { $0.amis.keys }.sorted().first
            let collector = ImageCollector(config: try global.awsConfig(context: context, region: global.region ?? firstRegion))
            for entry in expired {
                removed += try collector.remove(entry, dryRun: dryRun, note: { line in
                    if !global.json || global.verbose { context.err(line + "\n") }
                })
                // Recorded after each build, so an interrupted gc leaves the catalog true to AWS.
                if !dryRun {
                    try store.update { Retention.markDeleted([entry], in: &$0, at: Date()) }
                }
            }
        }
        if global.json {
            context.out(try jsonText(Output(removed: removed, dryRun: dryRun)))
        } else {
            for item in removed {
                let verb = dryRun ? "would remove" : item.alreadyGone ? "already gone" : "removed"
                context.out("\(verb)  \(item.region)  \(item.ami)  \(item.recipe) (\(item.build))  snapshots: \(item.snapshots.joined(separator: " "))\n")
            }
            context.err("\(expired.count) build\(expired.count == 1 ? "" : "s") \(dryRun ? "would be" : "") removed\n".replacingOccurrences(of: "  ", with: " "))
        }
    }
}

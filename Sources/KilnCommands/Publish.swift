import ArgumentParser
import Catalog
import Foundation

/// `kiln publish`: the student page (images/README.md, images/index.html) and the SSM parameters
/// `/kiln/<recipe>/latest` and `/kiln/<recipe>/<version>` of the catalog's current AMIs.
public struct Publish: ContextCommand {
    /// Help and examples.
    public static let configuration = CommandConfiguration(
        abstract: "Write the image page and the SSM parameters of the catalog's current images.",
        discussion: """
        For each recipe's current image in the catalog (docs/catalog.md), writes images/README.md and a \
        static images/index.html: what is inside, one launch link per region, the run-instances and \
        docker/podman pull lines, recommended instance types with an estimated hourly price, and a \
        cost-control box. In every region of each current AMI, once DescribeImages shows it available \
        and shared as its recipe asks, writes the SSM parameters /kiln/<recipe>/latest and \
        /kiln/<recipe>/<version> (data type aws:ec2:image, so `--image-id resolve:ssm:/kiln/<recipe>/latest` \
        works). An AMI that is not ready is reported and its parameters are not written; kiln exits 1.

        Examples:
          kiln publish
          kiln publish --dry-run --json
          kiln publish --no-ssm            # only the page, no AWS calls
          kiln publish --merge results/*/out/catalog.json   # CI: fold the build jobs' catalogs in first
        """)

    /// The catalog file.
    @Option(help: "The catalog of built images.")
    public var catalog: String = "images/catalog.json"

    /// Where the page goes.
    @Option(help: "The directory README.md and index.html are written to.")
    public var outputDir: String = "images"

    /// Look only.
    @Flag(help: "Check the AMIs and show what would be written; write nothing.")
    public var dryRun = false

    /// Page only.
    @Flag(help: "Write only the page; do not check AMIs or write SSM parameters.")
    public var noSsm = false

    /// Catalogs to fold in first.
    @Option(help: ArgumentHelp("Fold this catalog's builds into the catalog first (repeatable; e.g. one per CI build job). "
                               + "Each build not yet in the catalog is recorded and becomes its recipe's current image.", valueName: "FILE"))
    public var merge: [String] = []

    /// Global options.
    @OptionGroup public var global: GlobalOptions

    /// Creates the command.
    public init() {}

    struct Output: Encodable {
        var files: [String]
        var parameters: [PublishedParameter]
        var notReady: [NotReady]
        var dryRun: Bool
    }

    /// Runs the command.
    public func run(context: CommandContext) throws {
        let store = CatalogStore(path: context.absolute(catalog), shownAs: catalog)
        let others = try merge.map { try CatalogStore(path: context.absolute($0), shownAs: $0).read() }
        if !others.isEmpty, !dryRun {
            let added = try store.update { document in others.flatMap { document.merge($0) } }
            context.err("merged \(added.count) build\(added.count == 1 ? "" : "s") into \(catalog)\n")
        }
        var document = try store.read()
        // A dry run shows the page as the merge would make it, and writes nothing.
        if dryRun { for other in others { document.merge(other) } }
        var parameters: [PublishedParameter] = []
        var notReady: [NotReady] = []
        let amis = document.current(target: .ami)
        if !noSsm, !amis.isEmpty {
            let firstRegion = amis.flatMap { $0.amis.keys }.sorted().first
            let config = try global.awsConfig(context: context, region: global.region ?? firstRegion)
            (parameters, notReady) = try Publisher(config: config).publish(document, dryRun: dryRun, note: { line in
                if !global.json || global.verbose { context.err(line + "\n") }
            })
        }
        let files = [("README.md", PageRenderer.markdown(document)), ("index.html", PageRenderer.html(document))]
        var written: [String] = []
        for (name, text) in files {
            let shown = (outputDir as NSString).appendingPathComponent(name)
            if !dryRun {
                try CatalogStore.writeAtomically(Data(text.utf8), to: context.absolute(shown), shownAs: shown)
            }
            written.append(shown)
        }
        if global.json {
            context.out(try jsonText(Output(files: written, parameters: parameters, notReady: notReady, dryRun: dryRun)))
        } else {
            for parameter in parameters {
                context.out("\(parameter.written ? "wrote" : "would write") \(parameter.region)  \(parameter.name) = \(parameter.value)\n")
            }
            for file in written { context.out("\(dryRun ? "would write" : "wrote") \(file)\n") }
        }
        if !notReady.isEmpty {
            for item in notReady {
                context.err("error: \(item.recipe): \(item.ami) in \(item.region) is not ready: \(item.reason); run kiln publish again once it is\n")
            }
            throw ExitCode(1)
        }
    }
}

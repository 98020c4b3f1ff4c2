import ArgumentParser
import Foundation
import Recipe

/// `kiln plan`: which recipes need building, because no image in the catalog was built from their hash.
public struct Plan: ContextCommand {
    /// Help and examples.
    public static let configuration = CommandConfiguration(
        abstract: "List recipes with their hash and whether the catalog already holds an image built from it.",
        discussion: """
        A recipe is changed when its hash (which covers everything it extends, its parameters and \
        its local files) is not in images/catalog.json. --json prints a GitHub Actions matrix.

        Examples:
          kiln plan
          kiln plan --json recipes/ | jq -c .matrix
          kiln plan --catalog images/catalog.json recipes/datascience.yaml
        """)

    /// Recipe files or directories.
    @Argument(help: "Recipe files, or directories to search for *.yaml.")
    public var paths: [String] = ["recipes"]

    /// The catalog file.
    @Option(help: "The catalog of published images.")
    public var catalog: String = "images/catalog.json"

    /// Global options.
    @OptionGroup public var global: GlobalOptions

    /// Creates the command.
    public init() {}

    struct Row: Encodable {
        var path: String
        var name: String
        var version: String
        var hash: String
        var extends: [String]
        var targets: [String]
        var built: Bool
    }

    struct Output: Encodable {
        var recipes: [Row]
        var changed: [String]
        var matrix: Matrix
    }

    struct Matrix: Encodable {
        struct Item: Encodable {
            var recipe: String
            var name: String
            var target: String
        }
        var include: [Item]
    }

    /// Runs the command.
    public func run(context: CommandContext) throws {
        let known: Set<String>
        do {
            known = try CatalogHashes.read(context.absolute(catalog), shownAs: catalog)
        } catch let error as RecipeError {
            throw context.report(error)
        }
        let loader = RecipeLoader(workingDirectory: context.workingDirectory)
        var rows: [Row] = []
        var failed: [RecipeError] = []
        for path in try recipePaths(paths, context: context) {
            do {
                let recipe = try loader.load(path)
                let hash = try RecipeHash.compute(recipe)
                let targets = Target.allCases.filter { $0 == .ami ? recipe.base.ami != nil : recipe.base.oci != nil }
                rows.append(Row(path: path, name: recipe.name, version: recipe.version, hash: hash,
                                extends: Array(recipe.lineage.dropLast()), targets: targets.map(\.rawValue),
                                built: known.contains(hash)))
            } catch let error as RecipeError {
                failed.append(error)
            }
        }
        for error in failed { context.err(error.description + "\n") }
        let changed = rows.filter { !$0.built }
        if global.json {
            let matrix = Matrix(include: changed.flatMap { row in
                row.targets.map { Matrix.Item(recipe: row.path, name: row.name, target: $0) }
            })
            context.out(try jsonText(Output(recipes: rows, changed: changed.map(\.name), matrix: matrix)))
        } else {
            let width = max(8, rows.map(\.path.count).max() ?? 0)
            for row in rows {
                let status = row.built ? "built  " : "changed"
                context.out("\(status)  \(row.path.padding(toLength: width, withPad: " ", startingAt: 0))  \(row.name) \(row.version)  \(row.hash)\n")
            }
            context.err("\(changed.count) of \(rows.count) recipes need building\n")
        }
        if !failed.isEmpty { throw ExitCode(1) }
    }
}

/// The recipe hashes of images already in the catalog (images/catalog.json; schema in docs/catalog.md).
enum CatalogHashes {
    struct Catalog: Decodable {
        struct Image: Decodable { var hash: String }
        var images: [Image]
    }

    /// The set of hashes; a missing catalog is empty, a malformed one is an error naming the file.
    static func read(_ path: String, shownAs: String) throws -> Set<String> {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        do {
            return Set(try JSONDecoder().decode(Catalog.self, from: data).images.map(\.hash))
        } catch {
            throw RecipeError(SourcePosition(file: shownAs, line: 1, column: 1), "not a valid catalog: \(error)",
                              hint: "restore it from git: git checkout -- \(shownAs)")
        }
    }
}

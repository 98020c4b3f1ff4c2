import ArgumentParser
import Catalog
import EC2
import SSM
import Foundation
import Recipe

/// `kiln plan`: which recipes need building, because no image in the catalog was built from their hash.
public struct Plan: ContextCommand {
    /// Help and examples.
    public static let configuration = CommandConfiguration(
        abstract: "List recipes with their hash and whether the catalog already holds an image built from it.",
        discussion: """
        A recipe is changed when its hash (which covers everything it extends, its parameters and \
        its local files) is not in images/catalog.json. --json prints a GitHub Actions matrix. \
        --since GIT_REF keeps only the recipes touched since that commit: their file, a recipe they \
        extend, or a local file they use changed (`git diff --name-only GIT_REF`, plus untracked files). \
        --resolve-bases asks AWS what each AMI base (an SSM parameter, a name filter) names today and \
        calls the recipe changed when no AMI in the catalog was built from that base.

        Examples:
          kiln plan
          kiln plan --json recipes/ | jq -c .matrix
          kiln plan --json --since origin/main
          kiln plan --json --resolve-bases --region us-east-1   # a new base AMI marks a recipe changed
          kiln plan --catalog images/catalog.json recipes/datascience.yaml
        """)

    /// Recipe files or directories.
    @Argument(help: "Recipe files, or directories to search for *.yaml.")
    public var paths: [String] = ["recipes"]

    /// The catalog file.
    @Option(help: "The catalog of published images.")
    public var catalog: String = "images/catalog.json"

    /// Only recipes touched since this git revision.
    @Option(help: ArgumentHelp("Only recipes whose file, a recipe they extend, or a local file they use changed since this git revision.",
                               valueName: "GIT_REF"))
    public var since: String?

    /// Resolve AMI bases against AWS.
    @Flag(help: "Resolve each AMI base in AWS (SSM parameter, name filter): a new base image marks the recipe changed.")
    public var resolveBases = false

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
        var touched: Bool?
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
            known = try CatalogStore(path: context.absolute(catalog), shownAs: catalog).read().hashes
        } catch let error as CatalogError where error.isMalformed {
            throw context.report(RecipeError(SourcePosition(file: catalog, line: 1, column: 1), "not a valid catalog: \(error.message)",
                                             hint: "restore it from git: git checkout -- \(catalog)"))
        }
        let changedFiles = try since.map { try GitChanges.files(since: $0, in: context.workingDirectory) }
        let loader = RecipeLoader(workingDirectory: context.workingDirectory)
        var rows: [Row] = []
        var failed: [RecipeError] = []
        var loaded: [ResolvedRecipe] = []
        var resolver: ((ResolvedRecipe) throws -> String?)?
        if resolveBases {
            let config = try global.awsConfig(context: context)
            let ec2 = try EC2Client(config: config)
            let ssm = try SSMClient(config: config)
            resolver = { recipe in
                guard let base = recipe.base.ami else { return nil }
                let ami = try BaseResolver.resolve(base, arch: recipe.arch, ec2: ec2, ssm: ssm)
                return try BaseResolver.amiHash(recipe, region: config.region, baseAMI: ami)
            }
        }
        for path in try recipePaths(paths, context: context) {
            do {
                let recipe = try loader.load(path)
                let hash = try RecipeHash.compute(recipe)
                let targets = Target.allCases.filter { $0 == .ami ? recipe.base.ami != nil : recipe.base.oci != nil }
                // With --resolve-bases, an AMI recipe is built only when an AMI was built from today's base.
                let resolved = try resolver?(recipe)
                rows.append(Row(path: path, name: recipe.name, version: recipe.version, hash: hash,
                                extends: Array(recipe.lineage.dropLast()), targets: targets.map(\.rawValue),
                                built: known.contains(hash) && resolved.map(known.contains) != false))
                loaded.append(recipe)
            } catch let error as RecipeError {
                failed.append(error)
            }
        }
        for error in failed { context.err(error.description + "\n") }
        if let changedFiles {
            let touched = GitChanges.touched(loaded, changedFiles: changedFiles, loader: loader)
            for index in rows.indices { rows[index].touched = touched.contains(loaded[index].name) }
        }
        let changed = rows.filter { !$0.built && $0.touched != false }
        if global.json {
            let matrix = Matrix(include: changed.flatMap { row in
                row.targets.map { Matrix.Item(recipe: row.path, name: row.name, target: $0) }
            })
            context.out(try jsonText(Output(recipes: rows, changed: changed.map(\.name), matrix: matrix)))
        } else {
            let width = max(8, rows.map(\.path.count).max() ?? 0)
            for row in rows {
                let status = row.built ? "built  " : row.touched == false ? "skipped" : "changed"
                context.out("\(status)  \(row.path.padding(toLength: width, withPad: " ", startingAt: 0))  \(row.name) \(row.version)  \(row.hash)\n")
            }
            let scope = since.map { " (touched since \($0))" } ?? ""
            context.err("\(changed.count) of \(rows.count) recipes need building\(scope)\n")
        }
        if !failed.isEmpty { throw ExitCode(1) }
    }
}

/// Which files changed since a git revision, and which recipes that touches.
enum GitChanges {
    /// Absolute paths of the files changed between `revision` and the work tree (`git diff --name-only`),
    /// plus untracked files (`git ls-files --others --exclude-standard`): a new local file counts.
    static func files(since revision: String, in directory: String) throws -> Set<String> {
        let top = try git(["rev-parse", "--show-toplevel"], in: directory).trimmingCharacters(in: .whitespacesAndNewlines)
        let diff = try git(["diff", "--name-only", revision, "--"], in: directory)
        let untracked = try git(["ls-files", "--others", "--exclude-standard", "--full-name"], in: top)
        let names = (diff + "\n" + untracked).split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        return Set(names.map { ((top as NSString).appendingPathComponent($0) as NSString).standardizingPath })
    }

    /// The names of the recipes touched by `changedFiles`: a recipe is touched when its file, the file
    /// of a recipe in its lineage, or a local file it (or a parent) uses changed. A changed recipe file
    /// outside the list is loaded to learn its name (a parent in another directory).
    static func touched(_ recipes: [ResolvedRecipe], changedFiles: Set<String>, loader: RecipeLoader) -> Set<String> {
        var changedNames = Set<String>()
        for recipe in recipes where changedFiles.contains(standardized(recipe.path, loader)) {
            changedNames.insert(recipe.name)
        }
        for file in changedFiles where (file.hasSuffix(".yaml") || file.hasSuffix(".yml"))
            && !recipes.contains(where: { standardized($0.path, loader) == file }) {
            if let recipe = try? loader.load(file) { changedNames.insert(recipe.name) }
        }
        var touched = Set<String>()
        for recipe in recipes {
            if recipe.lineage.contains(where: changedNames.contains)
                || recipe.localFiles.contains(where: { changedFiles.contains(($0.absolutePath as NSString).standardizingPath) }) {
                touched.insert(recipe.name)
            }
        }
        return touched
    }

    static func standardized(_ path: String, _ loader: RecipeLoader) -> String {
        let absolute = path.hasPrefix("/") ? path : (loader.workingDirectory as NSString).appendingPathComponent(path)
        return (absolute as NSString).standardizingPath
    }

    /// Runs git and returns its standard output; a failure says what git said.
    static func git(_ arguments: [String], in directory: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch {
            throw ValidationError("--since needs git: \(error)")
        }
        // Read stderr on another thread so that neither pipe fills while the other is read.
        let errorBox = ErrorText()
        let reader = Thread { errorBox.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let message = errorBox.wait()
        guard process.terminationStatus == 0 else {
            throw ValidationError("--since: git \(arguments.joined(separator: " ")) failed: \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Standard error of a child, read on another thread.
private final class ErrorText: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var text = ""
    func set(_ data: Data) {
        text = String(decoding: data, as: UTF8.self)
        done.signal()
    }
    func wait() -> String {
        done.wait()
        return text
    }
}

import Foundation

/// Loads recipes and folds in what they extend: the composition rules of docs/recipes.md.
///
/// `extends` names are looked up as `<name>.yaml` beside the extending recipe, then in its parent
/// directory (so `recipes/examples/x.yaml` can extend `recipes/base.yaml`); a name with a `/` or
/// ending in `.yaml` is a path relative to the extending recipe.
public struct RecipeLoader: Sendable {
    /// Parameter values that override the recipes' defaults (`--param name=value`).
    public var overrides: [String: String]
    /// The directory relative recipe paths are taken from (the process's own by default).
    public var workingDirectory: String

    /// Creates a loader.
    public init(overrides: [String: String] = [:], workingDirectory: String? = nil) {
        self.overrides = overrides
        self.workingDirectory = workingDirectory ?? FileManager.default.currentDirectoryPath
    }

    /// Loads the recipe at `path` with everything it extends; throws every problem found, each with its position.
    public func load(_ path: String) throws -> ResolvedRecipe {
        var cache: [String: RecipeFile] = [:]
        let root = try loadFile(absolute(path), shownAs: path, cache: &cache)
        var order: [RecipeFile] = []
        var visited: Set<String> = []
        try linearize(root, stack: [], visited: &visited, order: &order, cache: &cache)

        let sink = DiagnosticSink()
        // Recipe names must be unique in a composition: they name steps and tests.
        var byName: [String: RecipeFile] = [:]
        for file in order {
            if let other = byName[file.name] {
                sink.error(file.namePosition, "recipe name '\(file.name)' is also used by \(other.source.path)",
                           hint: "every recipe in a composition needs its own name")
            }
            byName[file.name] = file
        }

        // Parameters: ancestors first, each later recipe overriding; then the command line.
        var params: [String: String] = [:]
        for file in order { for p in file.params { params[p.name] = p.value } }
        for (key, value) in overrides {
            guard params[key] != nil else {
                throw RecipeError(root.top.position, "--param \(key): the recipe declares no parameter '\(key)'",
                                  hint: params.isEmpty ? "it declares none" : "declared: \(params.keys.sorted().joined(separator: ", "))")
            }
            params[key] = value
        }
        let arch = order.compactMap(\.arch).last ?? .amd64
        params["name"] = root.name
        params["version"] = root.version
        params["arch"] = arch.rawValue
        params["uname_arch"] = arch.unameName

        var resolved = ResolvedRecipe(name: root.name, version: root.version, description: root.description,
                                      arch: arch, epoch: order.compactMap(\.epoch).last,
                                      lineage: order.map(\.name),
                                      params: params.filter { !RecipeFile.builtinParams.contains($0.key) },
                                      base: Bases(), steps: [], tests: [], ami: AMISettings(), oci: OCISettings(),
                                      path: path, localFiles: [])
        var basePositions: [Target: SourcePosition] = [:]
        for file in order {
            let body = file.decodeBody(params: params, sink: sink)
            if let ami = body.base.ami { resolved.base.ami = ami; basePositions[.ami] = body.basePositions[.ami] }
            if let oci = body.base.oci {
                resolved.base.oci = oci
                basePositions[.oci] = body.basePositions[.oci]
                resolved.baseDirectory = file.directory
            }
            resolved.steps += body.steps
            resolved.tests += body.tests
            resolved.ami = resolved.ami.overlaid(by: body.ami)
            resolved.oci = resolved.oci.overlaid(by: body.oci)
            resolved.localFiles += body.localFiles
        }
        try sink.check()

        if resolved.base.ami == nil && resolved.base.oci == nil {
            sink.error(root.top.position, "recipe '\(root.name)' has no base",
                       hint: "add 'base:' with 'ami:' and/or 'oci:' here or in a recipe it extends, e.g. base: {oci: scratch}")
        }
        if let platform = resolved.oci.platform, platform != "linux/\(arch.rawValue)" {
            sink.error(root.top.position, "oci.platform '\(platform)' does not match the recipe's arch '\(arch.rawValue)'",
                       hint: "set 'arch: \(platform.split(separator: "/").last.map(String.init) ?? "amd64")' or drop 'platform'")
        }
        try sink.check()
        return resolved
    }

    private func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : workingDirectory + "/" + path
        return (full as NSString).standardizingPath
    }

    private func loadFile(_ absolutePath: String, shownAs: String, cache: inout [String: RecipeFile]) throws -> RecipeFile {
        if let file = cache[absolutePath] { return file }
        let file = try RecipeFile.load(absolutePath: absolutePath, shownAs: shownAs)
        cache[absolutePath] = file
        return file
    }

    /// Depth-first, parents in order, each recipe once, after everything it extends; a recipe met
    /// again while still on the stack is a cycle.
    private func linearize(_ file: RecipeFile, stack: [RecipeFile], visited: inout Set<String>,
                           order: inout [RecipeFile], cache: inout [String: RecipeFile]) throws {
        if visited.contains(file.absolutePath) { return }
        let stack = stack + [file]
        for entry in file.extends {
            let path = try locate(entry.name, from: file, at: entry.position)
            if let index = stack.firstIndex(where: { $0.absolutePath == path }) {
                let cycle = (stack[index...].map(\.name) + [stack[index].name]).joined(separator: " → ")
                throw RecipeError(entry.position, "extends cycle: \(cycle)",
                                  hint: "a recipe cannot extend itself, directly or through others")
            }
            let shown = relativeShown(path, from: file)
            let parent = try loadFile(path, shownAs: shown, cache: &cache)
            try linearize(parent, stack: stack, visited: &visited, order: &order, cache: &cache)
        }
        visited.insert(file.absolutePath)
        order.append(file)
    }

    private func relativeShown(_ path: String, from file: RecipeFile) -> String {
        let shownDirectory = (file.source.path as NSString).deletingLastPathComponent
        let rel = relativePath(path, from: file.directory)
        return shownDirectory.isEmpty ? rel : ((shownDirectory as NSString).appendingPathComponent(rel) as NSString).standardizingPath
    }

    private func locate(_ name: String, from file: RecipeFile, at position: SourcePosition) throws -> String {
        let fm = FileManager.default
        if name.contains("/") || name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            let path = (file.resolve(name) as NSString).standardizingPath
            guard fm.fileExists(atPath: path) else {
                throw RecipeError(position, "extended recipe '\(name)' not found", hint: "no file at \(path)")
            }
            return path
        }
        let directories = [file.directory, (file.directory as NSString).deletingLastPathComponent]
        for directory in directories {
            let path = ((directory as NSString).appendingPathComponent(name + ".yaml") as NSString).standardizingPath
            if fm.fileExists(atPath: path) { return path }
        }
        let known = directories.flatMap { dir in
            ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
        }
        let shownDirectory = (file.source.path as NSString).deletingLastPathComponent
        let shown = [shownDirectory.isEmpty ? "." : shownDirectory,
                     shownDirectory.isEmpty ? ".." : (shownDirectory as NSString).appendingPathComponent("..")]
        throw RecipeError(position, "extended recipe '\(name)' not found",
                          hint: Suggest.nearest(name, in: known).map { "did you mean '\($0)'?" }
                            ?? "looked for \(name).yaml in \(shown.joined(separator: " and "))")
    }
}

/// `path` relative to `base` (both absolute), with `..` where needed.
func relativePath(_ path: String, from base: String) -> String {
    let p = path.split(separator: "/"), b = base.split(separator: "/")
    var common = 0
    while common < p.count, common < b.count, p[common] == b[common] { common += 1 }
    let ups = Array(repeating: "..", count: b.count - common)
    return (ups + p[common...].map(String.init)).joined(separator: "/")
}

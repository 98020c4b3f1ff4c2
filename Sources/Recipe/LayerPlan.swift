import Foundation

/// The ordered plan of an OCI build: the base, then one layer per filesystem-changing step
/// (`env` steps change only the image config), then the config, then the tests run in the sandbox.
public struct LayerPlan: Sendable, Encodable {
    /// One entry of the plan.
    public struct Entry: Sendable, Encodable {
        /// `layer` (a new filesystem layer) or `config` (a change to the image config only).
        public var produces: String
        /// The step's ID (`recipe/name`).
        public var step: String
        /// The step's kind (`run`, `apt`, `pip`, `fetch`, `files`, `env`).
        public var kind: String
        /// How the layer is made: `download` and `copy` execute nothing; `sandbox` runs in the namespace sandbox.
        public var method: String
        /// One line saying what happens.
        public var summary: String
    }

    /// The recipe's name.
    public var recipe: String
    /// The recipe's version.
    public var version: String
    /// The recipe hash.
    public var hash: String
    /// The platform built for.
    public var platform: String
    /// The base, in words.
    public var base: String
    /// The entries in order.
    public var entries: [Entry]
    /// The final image config.
    public var config: [String: [String]]
    /// The tests run in the finished image.
    public var tests: [String]

    /// Builds the plan; a recipe without an OCI base is an error.
    public static func make(_ recipe: ResolvedRecipe, hash: String) throws -> LayerPlan {
        guard let base = recipe.base.oci else {
            throw RecipeError(SourcePosition(file: recipe.path, line: 1, column: 1),
                              "recipe '\(recipe.name)' has no OCI base, so it cannot be built as an OCI image",
                              hint: "add 'base: {oci: …}' (an image, a layout, debootstrap or scratch)")
        }
        var entries: [Entry] = []
        var env: [String] = []
        for step in recipe.steps(for: .oci) {
            switch step.action {
            case .env(let vars):
                for v in vars { env.append("\(v.name)=\(v.value)") }
                entries.append(Entry(produces: "config", step: step.id, kind: "env", method: "config",
                                     summary: "Env " + vars.map { "\($0.name)=\($0.value)" }.joined(separator: " ")))
            case .fetch(let fetch):
                let target = fetch.dest ?? fetch.extract ?? ""
                entries.append(Entry(produces: "layer", step: step.id, kind: "fetch", method: "download",
                                     summary: "\(fetch.url) (sha256 \(fetch.sha256.prefix(12))…) \(fetch.dest != nil ? "→" : "extracted into") \(target)"))
            case .files(let copies):
                entries.append(Entry(produces: "layer", step: step.id, kind: "files", method: "copy",
                                     summary: copies.map { "\($0.src) → \($0.dest)" }.joined(separator: ", ")))
            case .apt(let apt):
                let repos = apt.repositories.isEmpty ? "" : " from " + apt.repositories.map(\.name).joined(separator: ", ") + " and the base's sources"
                entries.append(Entry(produces: "layer", step: step.id, kind: "apt", method: "sandbox",
                                     summary: "apt-get install \(apt.packages.joined(separator: " "))\(repos)"))
            case .pip(let pip):
                let what = (pip.requirements.map { ["-r \($0)"] } ?? []) + pip.packages
                entries.append(Entry(produces: "layer", step: step.id, kind: "pip", method: "sandbox",
                                     summary: "\(pip.python) -m pip install \(what.joined(separator: " "))"))
            case .run(let run):
                let first = run.script.split(separator: "\n").first.map(String.init) ?? ""
                let lines = run.script.split(separator: "\n").count
                entries.append(Entry(produces: "layer", step: step.id, kind: "run", method: "sandbox",
                                     summary: (run.user.map { "as \($0): " } ?? "") + first + (lines > 1 ? " … (\(lines) lines)" : "")))
            }
        }
        var config: [String: [String]] = [:]
        if !env.isEmpty { config["Env"] = env }
        if let user = recipe.oci.user { config["User"] = [user] }
        if let workdir = recipe.oci.workdir { config["WorkingDir"] = [workdir] }
        if let entrypoint = recipe.oci.entrypoint { config["Entrypoint"] = entrypoint }
        if let cmd = recipe.oci.cmd { config["Cmd"] = cmd }
        if recipe.oci.ports != nil { config["ExposedPorts"] = exposedPorts(recipe) }
        let labels = imageLabels(recipe, hash: hash)
        config["Labels"] = labels.keys.sorted().map { "\($0)=\(labels[$0] ?? "")" }
        return LayerPlan(recipe: recipe.name, version: recipe.version, hash: hash,
                         platform: "linux/\(recipe.arch.rawValue)", base: describe(base), entries: entries,
                         config: config, tests: recipe.tests(for: .oci).map(\.run))
    }

    /// The image's labels: the recipe's own, plus its title, version, description and recipe hash.
    public static func imageLabels(_ recipe: ResolvedRecipe, hash: String) -> [String: String] {
        var labels = recipe.oci.labels ?? [:]
        labels["org.opencontainers.image.title"] = recipe.name
        labels["org.opencontainers.image.version"] = recipe.version
        if let description = recipe.description { labels["org.opencontainers.image.description"] = description }
        labels["dev.kiln.recipe-hash"] = hash
        return labels
    }

    /// The recipe's exposed ports as the image config names them (`8888` becomes `8888/tcp`).
    public static func exposedPorts(_ recipe: ResolvedRecipe) -> [String] {
        (recipe.oci.ports ?? []).map { $0.contains("/") ? $0 : $0 + "/tcp" }
    }

    static func describe(_ base: OCIBase) -> String {
        switch base {
        case .image(let reference): return "image \(reference)\(base.isPinned ? "" : " (not pinned by digest: resolved at build time)")"
        case .layout(let path, let reference): return "OCI layout \(path) (\(reference))"
        case .debootstrap(let suite, let mirror, let variant): return "debootstrap \(suite) from \(mirror) (variant \(variant))"
        case .scratch: return "scratch (empty)"
        }
    }

    /// The plan as text for people.
    public var text: String {
        var out = "\(recipe) \(version) for \(platform)  \(hash)\n"
        out += "base: \(base)\n"
        var layer = 0
        for entry in entries {
            if entry.produces == "layer" {
                layer += 1
                let number = layer < 10 ? " \(layer)" : "\(layer)"
                out += "layer \(number)  \(pad(entry.kind, 6))\(pad(entry.method, 9))\(entry.step): \(entry.summary)\n"
            } else {
                out += "config    \(pad(entry.kind, 6))\(pad(entry.method, 9))\(entry.step): \(entry.summary)\n"
            }
        }
        for key in config.keys.sorted() {
            out += "config    \(key): \(config[key]?.joined(separator: " ") ?? "")\n"
        }
        for test in tests {
            out += "test      \(test.split(separator: "\n").first ?? "")\n"
        }
        return out
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}

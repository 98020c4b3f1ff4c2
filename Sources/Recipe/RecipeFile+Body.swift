import Foundation
import Yams

/// The parts of a recipe file that may use parameters, decoded once the parameters are known.
struct RecipeBody {
    var base = Bases()
    var basePositions: [Target: SourcePosition] = [:]
    var steps: [Step] = []
    var tests: [RecipeTest] = []
    var ami = AMISettings()
    var oci = OCISettings()
    var localFiles: [LocalFile] = []
}

extension RecipeFile {
    static let stepKinds = ["run", "apt", "pip", "fetch", "files", "env"]

    /// Decodes base, steps, tests, ami and oci with `params` expanded; reports problems into `sink`.
    func decodeBody(params: [String: String], sink: DiagnosticSink) -> RecipeBody {
        var body = RecipeBody()
        let x = Expander(params: params)
        if let node = top.node("base") { decodeBase(node, into: &body, sink: sink, x) }
        if let node = top.node("steps") { decodeSteps(node, into: &body, sink: sink, x) }
        if let node = top.node("tests") { decodeTests(node, into: &body, sink: sink, x) }
        if let node = top.node("ami") { body.ami = decodeAMI(node, sink: sink, x) }
        if let node = top.node("oci") { body.oci = decodeOCI(node, sink: sink, x) }
        return body
    }

    private func fields(_ node: Node, _ what: String, _ allowed: [String], _ sink: DiagnosticSink,
                        _ x: Expander?) -> Fields? {
        Fields(node, what, allowed: allowed, source: source, sink: sink, expander: x)
    }

    // MARK: base

    private func decodeBase(_ node: Node, into body: inout RecipeBody, sink: DiagnosticSink, _ x: Expander) {
        guard let base = fields(node, "'base'", ["ami", "oci"], sink, x) else { return }
        if let ami = base.node("ami"), let f = fields(ami, "'base.ami'", ["id", "ssm", "name", "owners"], sink, x) {
            body.basePositions[.ami] = source.position(ami)
            let chosen = ["id", "ssm", "name"].filter(f.has)
            if chosen.count != 1 {
                sink.error(f.position, chosen.isEmpty ? "'base.ami' needs one of 'id', 'ssm' or 'name' (with 'owners')"
                                                      : "'base.ami' takes only one of 'id', 'ssm' or 'name', found \(chosen.joined(separator: " and "))",
                           hint: "e.g. ssm: /aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id")
            } else if let id = f.check("id", f.string("id"), { $0.hasPrefix("ami-") && isHex(String($0.dropFirst(4)), count: $0.count - 4) && ($0.count == 12 || $0.count == 21) },
                                       "'id' must be an AMI ID like ami-0123456789abcdef0") {
                body.base.ami = .id(id)
            } else if let ssm = f.check("ssm", f.string("ssm"), { $0.hasPrefix("/") && !$0.contains(" ") },
                                        "'ssm' must be an SSM parameter path starting with '/'") {
                body.base.ami = .ssm(ssm)
            } else if let name = f.string("name") {
                if f.has("owners"), let owners = f.strings("owners", allowScalar: true, nonEmpty: true) {
                    body.base.ami = .filter(name: name, owners: owners)
                } else if !f.has("owners") {
                    f.missing("owners", hint: "name filters match images anyone can publish; say whose: an account ID or 'amazon'")
                }
            }
            if f.has("owners") && !f.has("name") {
                sink.error(f.keyPosition("owners") ?? f.position, "'owners' goes with 'name'")
            }
        }
        if let oci = base.node("oci") {
            body.basePositions[.oci] = source.position(oci)
            if case .scalar(let scalar) = oci, scalar.string == "scratch" {
                body.base.oci = .scratch
                return
            }
            guard let f = fields(oci, "'base.oci'", ["image", "layout", "ref", "debootstrap", "scratch"], sink, x) else { return }
            let chosen = ["image", "layout", "debootstrap", "scratch"].filter(f.has)
            guard chosen.count == 1 else {
                sink.error(f.position, chosen.isEmpty ? "'base.oci' needs one of 'image', 'layout', 'debootstrap' or 'scratch'"
                                                      : "'base.oci' takes only one of 'image', 'layout', 'debootstrap' or 'scratch', found \(chosen.joined(separator: " and "))",
                           hint: "e.g. image: \"public.ecr.aws/ubuntu/ubuntu:24.04@sha256:…\"")
                return
            }
            if let image = f.check("image", f.string("image"), isImageReference,
                                   "'image' is not an image reference",
                                   hint: "write registry/repository:tag or registry/repository@sha256:<64 hex>") {
                body.base.oci = .image(image)
            } else if let layout = f.string("layout") {
                let resolved = resolve(layout)
                if !FileManager.default.fileExists(atPath: (resolved as NSString).appendingPathComponent("index.json")) {
                    sink.error(f.valuePosition("layout") ?? f.position, "'\(layout)' is not an OCI image layout (no index.json)",
                               hint: "the path is relative to the recipe's directory")
                }
                body.base.oci = .layout(path: layout, reference: f.string("ref") ?? "latest")
            } else if let d = f.node("debootstrap"),
                      let g = fields(d, "'debootstrap'", ["suite", "mirror", "variant"], sink, x) {
                let suite = g.check("suite", g.string("suite", required: true, hint: "e.g. suite: bookworm"),
                                    { !$0.isEmpty && !$0.contains(" ") && !$0.contains("/") }, "'suite' must be a suite name like bookworm")
                let mirror = g.check("mirror", g.string("mirror"), isURL, "'mirror' must be an http or https URL") ?? "http://deb.debian.org/debian"
                let variant = g.check("variant", g.string("variant"), { ["minbase", "buildd", "fakechroot", "-"].contains($0) },
                                      "'variant' must be minbase, buildd, fakechroot or '-' (debootstrap's default set)") ?? "minbase"
                if let suite { body.base.oci = .debootstrap(suite: suite, mirror: mirror, variant: variant) }
            } else if f.has("scratch") {
                if let scratch = f.bool("scratch") {
                    if scratch { body.base.oci = .scratch } else {
                        sink.error(f.valuePosition("scratch") ?? f.position, "'scratch: false' names no base",
                                   hint: "remove it, or name a base: image, layout or debootstrap")
                    }
                }
            }
            if f.has("ref") && !f.has("layout") {
                sink.error(f.keyPosition("ref") ?? f.position, "'ref' goes with 'layout'")
            }
        }
    }

    // MARK: steps

    private func decodeSteps(_ node: Node, into body: inout RecipeBody, sink: DiagnosticSink, _ x: Expander) {
        guard case .sequence(let sequence) = node else {
            sink.error(source.position(node), "'steps' must be a list of steps, found \(node.kindName)",
                       hint: "each step starts with '- name: …' on its own line")
            return
        }
        var seen: [String: SourcePosition] = [:]
        for item in sequence {
            guard let f = fields(item, "a step", ["name", "only", "arch"] + RecipeFile.stepKinds + ["user", "workdir"], sink, x)
            else { continue }
            guard let name = f.check("name", f.string("name", required: true, hint: "give every step a short name, e.g. 'name: tools'"),
                                     isStepName, "step names must be lowercase letters, digits, '-', '_' or '.'") else { continue }
            if let earlier = seen[name] {
                sink.error(f.valuePosition("name") ?? f.position, "step '\(name)' is defined twice in this recipe",
                           hint: "the first one is at line \(earlier.line); step names must be unique")
                continue
            }
            seen[name] = f.valuePosition("name") ?? f.position
            let kinds = RecipeFile.stepKinds.filter(f.has)
            guard kinds.count == 1 else {
                if kinds.isEmpty {
                    sink.error(f.position, "step '\(name)' does nothing", hint: "add one of: \(RecipeFile.stepKinds.joined(separator: ", "))")
                } else {
                    sink.error(f.keyPosition(kinds[1]) ?? f.position,
                               "step '\(name)' has both '\(kinds[0])' and '\(kinds[1])'; a step does one thing",
                               hint: "split it into two steps")
                }
                continue
            }
            if (f.has("user") || f.has("workdir")) && kinds[0] != "run" {
                sink.error(f.keyPosition(f.has("user") ? "user" : "workdir") ?? f.position,
                           "'\(f.has("user") ? "user" : "workdir")' applies only to 'run' steps")
            }
            let only = f.choice("only", Target.self)
            var arch: [Architecture]?
            if let list = f.strings("arch", allowScalar: true, nonEmpty: true) {
                arch = []
                for text in list {
                    if let a = Architecture(rawValue: text) { arch?.append(a) } else {
                        sink.error(f.valuePosition("arch") ?? f.position, "unknown architecture '\(text)'",
                                   hint: "use amd64 or arm64")
                    }
                }
            }
            guard let kindNode = f.node(kinds[0]) else { continue }
            let action: StepAction?
            switch kinds[0] {
            case "run": action = decodeRun(kindNode, f, sink, x)
            case "apt": action = decodeApt(kindNode, sink, x)
            case "pip": action = decodePip(kindNode, sink, x, &body)
            case "fetch": action = decodeFetch(kindNode, sink, x)
            case "files": action = decodeFiles(kindNode, sink, x, &body)
            default: action = decodeEnv(kindNode, sink, x)
            }
            if let action {
                body.steps.append(Step(name: name, recipe: self.name, only: only, arch: arch, action: action,
                                       position: f.valuePosition("name") ?? f.position))
            }
        }
    }

    private func decodeRun(_ node: Node, _ step: Fields, _ sink: DiagnosticSink, _ x: Expander) -> StepAction? {
        guard let script = Fields.string(node, "'run'", source: source, sink: sink, expander: x) else { return nil }
        if script.trimmingCharacters(in: [" ", "\n", "\t"]).isEmpty {
            sink.error(source.position(node), "'run' is empty")
            return nil
        }
        let user = step.check("user", step.string("user"), { !$0.isEmpty && !$0.contains(" ") && !$0.contains("'") },
                              "'user' must be a user name or uid")
        let workdir = step.check("workdir", step.string("workdir"), isAbsolutePath, "'workdir' must be an absolute path")
        return .run(RunStep(script: script, user: user, workdir: workdir, scriptStart: contentStart(node)))
    }

    private func decodeApt(_ node: Node, _ sink: DiagnosticSink, _ x: Expander) -> StepAction? {
        var packages: [String]?
        var repositories: [AptRepository] = []
        var recommends = false
        var packagesPosition = source.position(node)
        if case .sequence = node {
            packages = Fields.strings(node, "'apt'", allowScalar: false, nonEmpty: true, source: source, sink: sink, expander: x)
        } else if let f = fields(node, "'apt'", ["packages", "repositories", "recommends"], sink, x) {
            packages = f.strings("packages", required: true, nonEmpty: true)
            packagesPosition = f.valuePosition("packages") ?? f.position
            recommends = f.bool("recommends") ?? false
            if let repos = f.node("repositories") {
                if case .sequence(let list) = repos {
                    for item in list { if let r = decodeRepository(item, sink, x) { repositories.append(r) } }
                } else {
                    sink.error(source.position(repos), "'repositories' must be a list, found \(repos.kindName)")
                }
            }
        }
        guard let packages else { return nil }
        for package in packages where !isAptPackage(package) {
            sink.error(packagesPosition, "'\(package)' is not a Debian package name (name or name=version)")
        }
        return .apt(AptStep(packages: packages, repositories: repositories, recommends: recommends))
    }

    private func decodeRepository(_ node: Node, _ sink: DiagnosticSink, _ x: Expander) -> AptRepository? {
        guard let f = fields(node, "an apt repository", ["name", "url", "suite", "components", "key"], sink, x) else { return nil }
        let name = f.check("name", f.string("name", required: true), isStepName, "repository names must be lowercase letters, digits, '-', '_' or '.'")
        let url = f.check("url", f.string("url", required: true), isURL, "'url' must be an http or https URL")
        let suite = f.string("suite", required: true, hint: "e.g. suite: noble-cran40/ (a flat repository ends in '/')")
        let components = f.strings("components") ?? []
        guard let keyNode = f.node("key") else {
            f.missing("key", hint: "every repository needs its signing key pinned: key: {url: …, fingerprint: <40 hex>}")
            return nil
        }
        guard let k = fields(keyNode, "'key'", ["url", "fingerprint"], sink, x) else { return nil }
        let keyURL = k.check("url", k.string("url", required: true), isURL, "'url' must be an http or https URL")
        let fingerprint = k.check("fingerprint", k.string("fingerprint", required: true).map { $0.replacingOccurrences(of: " ", with: "").uppercased() },
                                  { $0.count == 40 && $0.allSatisfy { isASCIIDigit($0) || ("A"..."F").contains($0) } },
                                  "'fingerprint' must be the key's full 40-hex-digit fingerprint",
                                  hint: "print it with: gpg --show-keys --with-fingerprint KEYFILE")
        guard let name, let url, let suite, let keyURL, let fingerprint else { return nil }
        return AptRepository(name: name, url: url, suite: suite, components: components, keyURL: keyURL, keyFingerprint: fingerprint)
    }

    private func decodePip(_ node: Node, _ sink: DiagnosticSink, _ x: Expander, _ body: inout RecipeBody) -> StepAction? {
        if case .sequence = node {
            guard let packages = Fields.strings(node, "'pip'", allowScalar: false, nonEmpty: true, source: source, sink: sink, expander: x)
            else { return nil }
            return .pip(PipStep(packages: packages, requirements: nil, python: "python3", indexURL: nil, breakSystemPackages: false))
        }
        guard let f = fields(node, "'pip'", ["packages", "requirements", "python", "index_url", "break_system_packages"], sink, x)
        else { return nil }
        let packages = f.strings("packages") ?? []
        let requirements = f.string("requirements")
        if packages.isEmpty && requirements == nil {
            sink.error(f.position, "'pip' needs 'packages' or 'requirements'")
            return nil
        }
        if let requirements, let pos = f.valuePosition("requirements") {
            _ = localFile(requirements, at: pos, sink: sink, into: &body, directoryAllowed: false)
        }
        let python = f.string("python") ?? "python3"
        let index = f.check("index_url", f.string("index_url"), isURL, "'index_url' must be an http or https URL")
        return .pip(PipStep(packages: packages, requirements: requirements, python: python, indexURL: index,
                            breakSystemPackages: f.bool("break_system_packages") ?? false))
    }

    private func decodeFetch(_ node: Node, _ sink: DiagnosticSink, _ x: Expander) -> StepAction? {
        guard let f = fields(node, "'fetch'", ["url", "sha256", "dest", "extract", "strip_components", "mode", "owner"], sink, x)
        else { return nil }
        let url = f.check("url", f.string("url", required: true), isURL, "'url' must be an http or https URL")
        var sha = f.string("sha256", required: true,
                           hint: "every download is verified: add 'sha256: <64 hex digits>' (sha256sum FILE prints it)")
        if let s = sha, s.hasPrefix("sha256:") { sha = String(s.dropFirst(7)) }
        sha = f.check("sha256", sha, { isHex($0, count: 64) },
                      "'sha256' must be 64 lowercase hexadecimal digits, found \(sha.map { "\($0.count) characters" } ?? "")",
                      hint: "copy the digest from `sha256sum FILE` or the project's published checksums")
        let dest = f.check("dest", f.string("dest"), isAbsolutePath, "'dest' must be an absolute path without '..'")
        let extract = f.check("extract", f.string("extract"), isAbsolutePath, "'extract' must be an absolute directory path without '..'")
        if f.has("dest") == f.has("extract") {
            sink.error(f.position, "'fetch' needs exactly one of 'dest' (a file path) or 'extract' (a directory)")
        }
        if f.has("strip_components") && !f.has("extract") {
            sink.error(f.keyPosition("strip_components") ?? f.position, "'strip_components' goes with 'extract'")
        }
        if f.has("mode") && !f.has("dest") {
            sink.error(f.keyPosition("mode") ?? f.position, "'mode' goes with 'dest'")
        }
        let strip = f.int("strip_components", in: 0...16) ?? 0
        let mode = f.check("mode", f.string("mode"), isOctalMode, "'mode' must be an octal mode in quotes, like \"0755\"")
        let owner = f.check("owner", f.string("owner"), isOwner, "'owner' must be numeric uid:gid, like \"1000:100\"")
        guard let url, let sha, dest != nil || extract != nil else { return nil }
        return .fetch(FetchStep(url: url, sha256: sha, dest: dest, extract: extract, stripComponents: strip, mode: mode, owner: owner))
    }

    private func decodeFiles(_ node: Node, _ sink: DiagnosticSink, _ x: Expander, _ body: inout RecipeBody) -> StepAction? {
        let items: [Node]
        switch node {
        case .sequence(let list): items = Array(list)
        case .mapping: items = [node]
        default:
            sink.error(source.position(node), "'files' must be a list of {src, dest}, found \(node.kindName)")
            return nil
        }
        var copies: [FileCopy] = []
        for item in items {
            guard let f = fields(item, "a 'files' entry", ["src", "dest", "mode", "owner"], sink, x) else { continue }
            let src = f.string("src", required: true)
            let dest = f.check("dest", f.string("dest", required: true), isAbsolutePath, "'dest' must be an absolute path without '..'")
            let mode = f.check("mode", f.string("mode"), isOctalMode, "'mode' must be an octal mode in quotes, like \"0644\"")
            let owner = f.check("owner", f.string("owner"), isOwner, "'owner' must be numeric uid:gid, like \"1000:100\"")
            guard let src, let dest, let pos = f.valuePosition("src") else { continue }
            guard localFile(src, at: pos, sink: sink, into: &body, directoryAllowed: true) else { continue }
            copies.append(FileCopy(src: src, dest: dest, mode: mode, owner: owner))
        }
        if copies.isEmpty && sink.isEmpty { sink.error(source.position(node), "'files' lists no files") }
        return copies.isEmpty ? nil : .files(copies)
    }

    private func decodeEnv(_ node: Node, _ sink: DiagnosticSink, _ x: Expander) -> StepAction? {
        guard let pairs = Fields.stringMap(node, "'env'", source: source, sink: sink, expander: x) else { return nil }
        var vars: [EnvVar] = []
        for (name, value, position) in pairs {
            guard isEnvName(name) else {
                sink.error(position, "'\(name)' is not a valid environment variable name")
                continue
            }
            vars.append(EnvVar(name: name, value: value))
        }
        if pairs.isEmpty { sink.error(source.position(node), "'env' sets no variables") }
        return vars.isEmpty ? nil : .env(vars)
    }

    /// Where a scalar's text begins: the line after the indicator for `|` and `>` blocks.
    func contentStart(_ node: Node) -> SourcePosition {
        var position = source.position(node)
        if case .scalar(let scalar) = node, scalar.style == .literal || scalar.style == .folded {
            position.line += 1
            let line = position.line <= source.lines.count ? source.lines[position.line - 1] : ""
            position.column = line.prefix(while: { $0 == " " }).count + 1
        }
        return position
    }

    /// Resolves a recipe-relative path.
    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
    }

    /// Records a local file the recipe refers to; false (with a diagnostic) when it does not exist.
    private func localFile(_ path: String, at position: SourcePosition, sink: DiagnosticSink,
                           into body: inout RecipeBody, directoryAllowed: Bool) -> Bool {
        if path.hasPrefix("/") {
            sink.error(position, "'\(path)' must be relative to the recipe's directory",
                       hint: "keep the files a recipe needs beside it, e.g. files/kernel.json")
            return false
        }
        let absolute = (resolve(path) as NSString).standardizingPath
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
            let shown = (source.path as NSString).deletingLastPathComponent
            sink.error(position, "'\(path)' does not exist", hint: "paths are relative to the recipe's directory (\(shown.isEmpty ? "." : shown))")
            return false
        }
        if isDirectory.boolValue && !directoryAllowed {
            sink.error(position, "'\(path)' is a directory; a file is needed here")
            return false
        }
        body.localFiles.append(LocalFile(recipe: name, relativePath: path, absolutePath: absolute))
        return true
    }

    // MARK: tests

    private func decodeTests(_ node: Node, into body: inout RecipeBody, sink: DiagnosticSink, _ x: Expander) {
        guard case .sequence(let list) = node else {
            sink.error(source.position(node), "'tests' must be a list of commands, found \(node.kindName)")
            return
        }
        var seen: [String: Int] = [:]
        func unique(_ testName: String, _ position: SourcePosition) -> Bool {
            if let line = seen[testName] {
                sink.error(position, "test '\(testName)' is defined twice in this recipe", hint: "the first one is at line \(line)")
                return false
            }
            seen[testName] = position.line
            return true
        }
        for (index, item) in list.enumerated() {
            if case .scalar = item {
                guard let run = Fields.string(item, "a test", source: source, sink: sink, expander: x),
                      unique("test-\(index + 1)", source.position(item)) else { continue }
                body.tests.append(RecipeTest(name: "test-\(index + 1)", recipe: name, run: run, only: nil,
                                             position: source.position(item), scriptStart: contentStart(item)))
                continue
            }
            guard let f = fields(item, "a test", ["name", "run", "only"], sink, x) else { continue }
            let testName = f.check("name", f.string("name"), isStepName, "test names must be lowercase letters, digits, '-', '_' or '.'")
            guard let run = f.string("run", required: true),
                  unique(testName ?? "test-\(index + 1)", f.valuePosition("name") ?? f.position) else { continue }
            body.tests.append(RecipeTest(name: testName ?? "test-\(index + 1)", recipe: name, run: run,
                                         only: f.choice("only", Target.self), position: f.position,
                                         scriptStart: f.node("run").map(contentStart) ?? f.position))
        }
    }

    // MARK: ami and oci settings

    private func decodeAMI(_ node: Node, sink: DiagnosticSink, _ x: Expander) -> AMISettings {
        var s = AMISettings()
        guard let f = fields(node, "'ami'", ["instance_types", "spot", "root_volume_gb", "regions", "share", "tags",
                                             "deprecate_after_days", "timeout_minutes", "data_volume", "subnet_id", "name"], sink, x)
        else { return s }
        if let types = f.strings("instance_types", allowScalar: true, nonEmpty: true) {
            for t in types where !isInstanceType(t) {
                sink.error(f.valuePosition("instance_types") ?? f.position, "'\(t)' is not an EC2 instance type like t3.large")
            }
            s.instanceTypes = types
        }
        s.spot = f.bool("spot")
        s.rootVolumeGB = f.int("root_volume_gb", in: 8...16384)
        if let regions = f.strings("regions", allowScalar: true) {
            for r in regions where !isRegion(r) {
                sink.error(f.valuePosition("regions") ?? f.position, "'\(r)' is not an AWS region name like eu-west-1")
            }
            s.regions = regions
        }
        if let share = f.node("share"), let g = fields(share, "'share'", ["public", "accounts", "organizations", "organizational_units"], sink, x) {
            var sharing = AMISharing()
            sharing.isPublic = g.bool("public")
            if let accounts = g.strings("accounts", allowScalar: true) {
                for a in accounts where !(a.count == 12 && a.allSatisfy(isASCIIDigit)) {
                    sink.error(g.valuePosition("accounts") ?? g.position, "'\(a)' is not a 12-digit AWS account ID",
                               hint: "quote account IDs so YAML keeps leading zeros: \"012345678901\"")
                }
                sharing.accounts = accounts
            }
            if let orgs = g.strings("organizations", allowScalar: true) {
                for o in orgs where !(o.hasPrefix("arn:aws") && o.contains(":organization/o-")) {
                    sink.error(g.valuePosition("organizations") ?? g.position, "'\(o)' is not an organization ARN (arn:aws:organizations::ACCOUNT:organization/o-…)")
                }
                sharing.organizations = orgs
            }
            if let ous = g.strings("organizational_units", allowScalar: true) {
                for o in ous where !(o.hasPrefix("arn:aws") && o.contains(":ou/o-")) {
                    sink.error(g.valuePosition("organizational_units") ?? g.position, "'\(o)' is not an organizational unit ARN (arn:aws:organizations::ACCOUNT:ou/o-…/ou-…)")
                }
                sharing.organizationalUnits = ous
            }
            s.share = sharing
        }
        if let tags = f.stringMap("tags") {
            var map: [String: String] = [:]
            for (k, v, pos) in tags {
                if k.hasPrefix("kiln:") || k.hasPrefix("aws:") {
                    sink.error(pos, "tag '\(k)' uses a reserved prefix ('kiln:' and 'aws:' are set by kiln and AWS)")
                }
                map[k] = v
            }
            s.tags = map
        }
        s.deprecateAfterDays = f.int("deprecate_after_days", in: 1...3650)
        s.timeoutMinutes = f.int("timeout_minutes", in: 5...1440)
        if let volume = f.node("data_volume"), let g = fields(volume, "'data_volume'", ["size_gb", "mount", "device"], sink, x) {
            let size = g.int("size_gb", in: 1...16384)
            if !g.has("size_gb") { g.missing("size_gb") }
            let mount = g.check("mount", g.string("mount"), isAbsolutePath, "'mount' must be an absolute path") ?? "/data"
            let device = g.check("device", g.string("device"), { $0.hasPrefix("/dev/") }, "'device' must be a device path like /dev/sdf") ?? "/dev/sdf"
            if let size { s.dataVolume = DataVolume(sizeGB: size, mount: mount, device: device) }
        }
        s.subnetID = f.check("subnet_id", f.string("subnet_id"), { $0.hasPrefix("subnet-") }, "'subnet_id' must be a subnet ID like subnet-0123abcd")
        s.name = f.check("name", f.string("name"), { (3...128).contains($0.count) }, "AMI names are 3 to 128 characters")
        return s
    }

    private func decodeOCI(_ node: Node, sink: DiagnosticSink, _ x: Expander) -> OCISettings {
        var s = OCISettings()
        guard let f = fields(node, "'oci'", ["repository", "tags", "platform", "compression", "user", "workdir",
                                             "entrypoint", "cmd", "ports", "labels", "immutable_tags"], sink, x) else { return s }
                s.repository = f.check("repository", f.string("repository"), isRepository,
                               "'repository' must be a repository without tag or digest, like registry.example.com/team/julia")
        if let tags = f.strings("tags", allowScalar: true) {
            for t in tags where !isTag(t) {
                sink.error(f.valuePosition("tags") ?? f.position, "'\(t)' is not a valid tag (letters, digits, '_', '.', '-'; up to 128; not starting with '.' or '-')")
            }
            s.tags = tags
        }
        s.platform = f.check("platform", f.string("platform"), { ["linux/amd64", "linux/arm64"].contains($0) },
                             "'platform' must be linux/amd64 or linux/arm64")
        s.compression = f.choice("compression", Compression.self)
        s.immutableTags = f.bool("immutable_tags")
        s.user = f.string("user")
        s.workdir = f.check("workdir", f.string("workdir"), isAbsolutePath, "'workdir' must be an absolute path")
        s.entrypoint = f.strings("entrypoint", allowScalar: false)
        s.cmd = f.strings("cmd", allowScalar: false)
        if let ports = f.strings("ports", allowScalar: true) {
            for p in ports where !isPort(p) {
                sink.error(f.valuePosition("ports") ?? f.position, "'\(p)' is not a port like 8888 or 8888/tcp")
            }
            s.ports = ports
        }
        if let labels = f.stringMap("labels") {
            s.labels = Dictionary(labels.map { ($0.0, $0.1) }, uniquingKeysWith: { _, b in b })
        }
        return s
    }
}

func isAptPackage(_ s: String) -> Bool {
    let parts = s.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
    guard let name = parts.first, name.count >= 2, let first = name.unicodeScalars.first,
          ("a"..."z").contains(first) || ("0"..."9").contains(first) else { return false }
    let nameOK = name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "+-.:".unicodeScalars.contains($0) }
    let versionOK = parts.count == 1 || (!parts[1].isEmpty && !parts[1].contains(" "))
    return nameOK && versionOK
}

func isInstanceType(_ s: String) -> Bool {
    let parts = s.split(separator: ".")
    return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { isASCIILower($0) || isASCIIDigit($0) || $0 == "-" } }
}

func isRegion(_ s: String) -> Bool {
    let parts = s.split(separator: "-")
    return parts.count >= 3 && parts.last.map { !$0.isEmpty && $0.allSatisfy(isASCIIDigit) } == true
        && parts.dropLast().allSatisfy { !$0.isEmpty && $0.allSatisfy(isASCIILower) }
}

func isTag(_ s: String) -> Bool {
    guard let first = s.first, first != ".", first != "-", s.count <= 128 else { return false }
    return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
}

func isPort(_ s: String) -> Bool {
    let parts = s.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count <= 2, let n = Int(parts[0]), (1...65535).contains(n) else { return false }
    return parts.count == 1 || ["tcp", "udp"].contains(String(parts[1]))
}

/// `[registry/]repository[:tag][@sha256:<64 hex>]` in the distribution spec's grammar (lowercase repository).
func isImageReference(_ s: String) -> Bool {
    var rest = Substring(s)
    if let at = rest.range(of: "@") {
        let digest = rest[at.upperBound...]
        guard digest.hasPrefix("sha256:"), isHex(String(digest.dropFirst(7)), count: 64) else { return false }
        rest = rest[..<at.lowerBound]
    }
    guard !rest.isEmpty, !rest.contains(" ") else { return false }
    let components = rest.split(separator: "/", omittingEmptySubsequences: false)
    guard components.allSatisfy({ !$0.isEmpty }) else { return false }
    var last = components[components.count - 1]
    if let colon = last.lastIndex(of: ":") {
        guard isTag(String(last[last.index(after: colon)...])) else { return false }
        last = last[..<colon]
    }
    let path = components.dropFirst(components.count > 1 && (components[0].contains(".") || components[0].contains(":") || components[0] == "localhost") ? 1 : 0).dropLast() + [last]
    return path.allSatisfy { $0.allSatisfy { isASCIILower($0) || isASCIIDigit($0) || "._-".contains($0) } && !$0.isEmpty }
}

/// A repository reference: an image reference without tag or digest.
func isRepository(_ s: String) -> Bool {
    isImageReference(s) && !s.contains("@") && !(s.split(separator: "/").last?.contains(":") ?? true)
}

func isASCIIDigit(_ c: Character) -> Bool { ("0"..."9").contains(c) }
func isASCIILower(_ c: Character) -> Bool { ("a"..."z").contains(c) }

import Foundation
import Testing
import KilnTestSupport
@testable import Recipe

/// The standard recipes (recipes/*.yaml, issue 6): how they compose, that nothing floats, that they
/// render for both targets, that their tests prove the stack, and that the AMI helpers they install
/// (the idle auto-stop and the data volume unit) do what docs/standard-images.md says.
/// Every repository recipe is also linted with bash -n and shellcheck by `UserDataTests.lint`.
@Suite("standard recipes")
struct StandardRecipesTests {
    /// The standard recipes, in the order they build on each other.
    static let names = ["base", "jupyter", "r", "julia", "cuda", "datascience", "datascience-gpu"]

    static func path(_ name: String) -> String { "\(repositoryRoot)/recipes/\(name).yaml" }

    static func load(_ name: String, overrides: [String: String] = [:]) throws -> ResolvedRecipe {
        try RecipeLoader(overrides: overrides).load(path(name))
    }

    static func userData(_ recipe: ResolvedRecipe) throws -> String {
        try UserDataRenderer.render(recipe, hash: try RecipeHash.compute(recipe),
                                    context: InstanceContext(buildID: "b-std", kilnVersion: "test"))
    }

    /// A recipe and the lineage `kiln validate -v` must print for it.
    struct Lineage: Sendable, CustomTestStringConvertible {
        let recipe: String
        let lineage: [String]
        var testDescription: String { recipe }
    }

    static let lineages: [Lineage] = [
        Lineage(recipe: "base", lineage: ["base"]),
        Lineage(recipe: "jupyter", lineage: ["base", "jupyter"]),
        Lineage(recipe: "r", lineage: ["base", "jupyter", "r"]),
        Lineage(recipe: "julia", lineage: ["base", "jupyter", "julia"]),
        Lineage(recipe: "cuda", lineage: ["base", "cuda"]),
        Lineage(recipe: "datascience", lineage: ["base", "jupyter", "r", "julia", "datascience"]),
        Lineage(recipe: "datascience-gpu",
                lineage: ["base", "cuda", "jupyter", "r", "julia", "datascience", "datascience-gpu"]),
    ]

    @Test("each recipe composes in the documented order, least often changed first, on Ubuntu 24.04 for both targets",
          arguments: lineages)
    func composition(_ expected: Lineage) throws {
        let recipe = try Self.load(expected.recipe)
        #expect(recipe.lineage == expected.lineage)
        #expect(recipe.base.ami == .ssm("/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"))
        let oci = try #require(recipe.base.oci)
        guard case .image(let reference) = oci else {
            Issue.record("\(expected.recipe): the OCI base is \(oci), not Canonical's image")
            return
        }
        #expect(reference.hasPrefix("public.ecr.aws/ubuntu/ubuntu:24.04@sha256:"))
        #expect(oci.isPinned)
    }

    @Test("renders for both targets: the AMI user-data fits EC2's limit, the OCI plan has the image settings",
          arguments: names)
    func renders(_ name: String) throws {
        let recipe = try Self.load(name)
        let hash = try RecipeHash.compute(recipe)
        let payload = try UserDataRenderer.payload(try Self.userData(recipe), recipePath: Self.path(name))
        #expect(payload.bytes.count <= UserDataRenderer.ec2Limit)
        let plan = try LayerPlan.make(recipe, hash: hash)
        #expect(!plan.entries.isEmpty)
        #expect(recipe.oci.user == "1000:100")
        #expect(recipe.oci.entrypoint == ["tini", "--"])
    }

    @Test("nothing floats: third-party packages pinned to versions, repository keys by fingerprint, downloads by sha256 for each architecture")
    func pins() throws {
        let recipe = try Self.load("datascience-gpu")
        var fetchTargets: [String: Set<Architecture>] = [:]
        for step in recipe.steps {
            switch step.action {
            case .apt(let apt) where !apt.repositories.isEmpty:
                for package in apt.packages {
                    #expect(package.contains("="), "\(step.id): '\(package)' from a third-party repository is not pinned")
                }
                for repository in apt.repositories {
                    #expect(repository.keyFingerprint.count == 40, "\(step.id): \(repository.name)'s key is not pinned")
                    #expect(repository.keyURL.hasPrefix("https://"))
                }
            case .fetch(let fetch):
                #expect(fetch.url.hasPrefix("https://"))
                #expect(fetch.sha256.count == 64)
                let arches = try #require(step.arch, "\(step.id): an architecture-specific download must say its arch")
                fetchTargets[fetch.dest ?? fetch.extract ?? "", default: []].formUnion(arches)
            default:
                break
            }
        }
        // micromamba and Julia: one verified download per architecture, to the same place.
        #expect(fetchTargets == ["/usr/local/bin/micromamba": [.amd64, .arm64], "/opt/julia": [.amd64, .arm64]])
        // The conda environment names every top-level package with its exact version.
        let conda = try #require(recipe.steps.first { $0.id == "jupyter/conda-env" })
        guard case .run(let run) = conda.action else { Issue.record("jupyter/conda-env is not a run step"); return }
        for (package, param) in [("python", "python_version"), ("jupyterlab", "jupyterlab_version"),
                                 ("notebook", "notebook_version"), ("ipykernel", "ipykernel_version")] {
            let version = try #require(recipe.params[param])
            #expect(version.split(separator: ".").count == 3, "\(param) '\(version)' is not an exact version")
            #expect(run.script.contains("\"\(package)=\(version)\""))
        }
        #expect(run.script.contains("--override-channels --channel conda-forge"))
        // The R packages come from a dated snapshot, never from "latest".
        let snapshot = try #require(recipe.params["ppm_snapshot"])
        #expect(snapshot.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil)
    }

    /// A test a recipe must carry, and what its command must contain.
    struct Carried: Sendable, CustomTestStringConvertible {
        let recipe: String
        let test: String
        let contains: [String]
        var testDescription: String { "\(recipe)/\(test)" }
    }

    static let carried: [Carried] = [
        Carried(recipe: "jupyter", test: "python-kernel", contains: ["jupyter kernelspec list", "python3"]),
        Carried(recipe: "jupyter", test: "python-notebook", contains: ["nbconvert --to notebook --execute /opt/kiln/tests/python.ipynb"]),
        Carried(recipe: "r", test: "r-computes", contains: ["library(IRkernel)", "stopifnot(x == 55)"]),
        Carried(recipe: "r", test: "r-kernel", contains: ["jupyter kernelspec list", "ir"]),
        Carried(recipe: "r", test: "r-notebook", contains: ["--execute /opt/kiln/tests/r.ipynb"]),
        Carried(recipe: "julia", test: "ijulia-loads", contains: ["import IJulia"]),
        Carried(recipe: "julia", test: "julia-kernel", contains: ["jupyter kernelspec list", "julia"]),
        Carried(recipe: "julia", test: "julia-notebook", contains: ["--execute /opt/kiln/tests/julia.ipynb"]),
        Carried(recipe: "datascience", test: "every-kernel", contains: ["for kernel in python3 ir julia"]),
        Carried(recipe: "cuda", test: "nvcc", contains: ["nvcc --version", "release 12.8"]),
        Carried(recipe: "cuda", test: "nvidia-smi", contains: ["0x10de", "nvidia-smi"]),
    ]

    @Test("the tests prove the stack, and the composed images inherit every one", arguments: carried)
    func carriedTests(_ expected: Carried) throws {
        for name in [expected.recipe, "datascience-gpu"] {
            let recipe = try Self.load(name)
            let test = try #require(recipe.tests.first { $0.recipe == expected.recipe && $0.name == expected.test },
                                    "\(name) lacks test:\(expected.recipe)/\(expected.test)")
            for needle in expected.contains {
                #expect(test.run.contains(needle), "test:\(expected.recipe)/\(expected.test) does not contain '\(needle)'")
            }
        }
    }

    @Test("CUDA: the toolkit alone in the container, with the NVIDIA variables; the driver branch locked on the AMI only")
    func cudaTargets() throws {
        let recipe = try Self.load("cuda")
        let oci = recipe.steps(for: .oci).map(\.id)
        let ami = recipe.steps(for: .ami).map(\.id)
        #expect(oci.contains("cuda/cuda-repo-amd64") && ami.contains("cuda/cuda-repo-amd64"))
        #expect(!oci.contains("cuda/driver") && ami.contains("cuda/driver") && ami.contains("cuda/driver-pin"))
        let env = recipe.steps(for: .oci).flatMap { step -> [EnvVar] in
            if case .env(let vars) = step.action { return vars } else { return [] }
        }
        let names = Dictionary(env.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        #expect(names["NVIDIA_VISIBLE_DEVICES"] == "all")
        #expect(names["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility")
        #expect(names["NVIDIA_REQUIRE_CUDA"] == "cuda>=12.8")
        let script = try Self.userData(recipe)
        #expect(script.contains("Pin: version 570.*"))
        #expect(script.contains("cuda-drivers-570"))
    }

    @Test("AMI: the idle auto-stop gets N from the recipe, the data volume is declared where the unit looks, R and Julia libraries live on it")
    func amiStudentFeatures() throws {
        let recipe = try Self.load("datascience", overrides: ["idle_minutes": "25"])
        #expect(recipe.ami.dataVolume == DataVolume(sizeGB: 20, mount: "/data", device: "/dev/sdf"))
        let script = try Self.userData(recipe)
        #expect(script.contains(#"printf 'IDLE_MINUTES=%s\nJUPYTER_RUNTIME_DIR=/run/jupyter\n' "25""#))
        #expect(script.contains(#""/data" "/dev/sdf" "20" "1000:1000" >/etc/kiln/data-volume.conf"#))
        #expect(script.contains("systemctl enable kiln-idle-stop.timer kiln-data-volume.service"))
        #expect(script.contains("systemctl enable kiln-jupyter.service"))
        #expect(script.contains("kiln_env_step r/r-user-library R_LIBS_USER \"/data/R/library\""))
        #expect(script.contains("kiln_env_step julia/julia-user-depot-ami JULIA_DEPOT_PATH \"/data/julia:/opt/julia/depot:\""))
        // The helpers travel as text, so they are readable in `kiln render` and compress well.
        #expect(script.contains("cat >/usr/local/sbin/kiln-idle-stop <<'KILN_FILE_EOF'"))
        // The container keeps its home directory; the idle and volume helpers are AMI-only.
        let oci = recipe.steps(for: .oci).map(\.id)
        #expect(!oci.contains("base/idle-stop-files") && !oci.contains("base/data-volume-files"))
        #expect(oci.contains("julia/julia-user-depot-oci"))
    }

    @Test("the JupyterLab unit serves 127.0.0.1:8888 only, after the data volume, with the recipes' environment")
    func jupyterUnit() throws {
        let unit = try String(contentsOfFile: "\(repositoryRoot)/recipes/files/jupyter/kiln-jupyter.service", encoding: .utf8)
        #expect(unit.contains("--ServerApp.ip=127.0.0.1 --ServerApp.port=8888"))
        #expect(unit.contains("After=network-online.target kiln-data-volume.service"))
        #expect(unit.contains("EnvironmentFile=-/etc/environment"))
        #expect(unit.contains("Environment=JUPYTER_RUNTIME_DIR=/run/jupyter"))
    }

    @Test("the committed IJulia environment pins IJulia and lists every package it loads")
    func ijuliaEnvironment() throws {
        let dir = "\(repositoryRoot)/recipes/files/julia"
        let project = try String(contentsOfFile: dir + "/Project.toml", encoding: .utf8)
        #expect(project.contains(#"IJulia = "=1.34.4""#))
        let manifest = try String(contentsOfFile: dir + "/Manifest.toml", encoding: .utf8)
        #expect(manifest.contains(#"julia_version = "1.12.7""#))
        let recipe = try Self.load("julia")
        #expect(recipe.params["julia_version"] == "1.12.7")
        // Every dependency named in the manifest has its own entry, and every registered package a tree hash.
        let entries = Set(manifest.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("[[deps."), line.hasSuffix("]]") else { return nil }
            return String(line.dropFirst(7).dropLast(2))
        })
        for name in ["IJulia", "ZMQ", "ZeroMQ_jll", "Conda", "JSON", "PrecompileTools"] { #expect(entries.contains(name)) }
        for line in manifest.split(separator: "\n") where line.hasPrefix("deps = [") {
            let names = line.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            for name in names { #expect(entries.contains(name), "\(name) has no manifest entry") }
        }
    }
}

/// How `files` travel in the user-data: text as itself (so the standard recipes fit EC2's 16 KB limit
/// once compressed), anything else as base64; both reproduced byte for byte by bash.
@Suite("embedded files")
struct StandardRecipesEmbeddedFileTests {
    /// A file's bytes and whether they may travel as a heredoc.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let asText: Bool
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "text ending in a newline", bytes: Array("#!/bin/sh\necho \"$HOME\" `x` \\ 'q'\nKILN_FILE_EOF\n".utf8), asText: true),
        Case(name: "UTF-8 text", bytes: Array("größe: 42 µm\n".utf8), asText: true),
        Case(name: "text without a final newline", bytes: Array("no newline".utf8), asText: false),
        Case(name: "CRLF text", bytes: Array("a\r\nb\r\n".utf8), asText: false),
        Case(name: "binary with NUL", bytes: [0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01, 0x0a], asText: false),
        Case(name: "invalid UTF-8", bytes: [0xff, 0xfe, 0x0a], asText: false),
        Case(name: "empty", bytes: [], asText: false),
    ]

    @Test("text travels as a heredoc, anything else as base64, and bash writes the exact bytes", arguments: cases)
    func embed(_ c: Case) throws {
        let dir = try TempDir()
        let source = dir.path + "/source"
        #expect(FileManager.default.createFile(atPath: source, contents: Data(c.bytes)))
        var writer = ScriptWriter()
        try writer.embed(file: source, to: Shell.quote(dir.path + "/out/file"), mode: "0640", owner: "\(getuid()):\(getgid())")
        #expect(writer.text.contains("<<'KILN_FILE_EOF") == c.asText, "\(writer.text)")
        let script = try dir.write("embed.sh", "set -Eeuo pipefail\n" + writer.text)
        let result = try run("/bin/bash", [script])
        #expect(result.status == 0, "\(result.output)")
        let written = try #require(FileManager.default.contents(atPath: dir.path + "/out/file"))
        #expect(Array(written) == c.bytes)
    }
}

/// The AMI helpers the base recipe installs, run here for real.
@Suite("standard recipe helpers", .serialized)
struct StandardRecipesHelperTests {
    static let files = "\(repositoryRoot)/recipes/files/base"

    @Test("kiln-data-volume passes shellcheck")
    func dataVolumeLint() throws {
        guard let shellcheck = requireTool("shellcheck", package: "shellcheck") else { return }
        let check = try run(shellcheck, ["--shell=bash", "--severity=style", Self.files + "/kiln-data-volume"])
        #expect(check.status == 0, "shellcheck:\n\(check.output)")
    }

    /// Case for the idle check: its configuration, what the fake Jupyter server answers, and the line it must print.
    struct IdleCase: Sendable, CustomTestStringConvertible {
        let name: String
        let conf: String
        let kernels: String?
        let expect: String
        var testDescription: String { name }
    }

    static let idleCases: [IdleCase] = [
        IdleCase(name: "a busy kernel is activity", conf: "IDLE_MINUTES=30\n",
                 kernels: #"[{"id": "k1", "execution_state": "busy", "last_activity": "2020-01-01T00:00:00.000000Z"}]"#,
                 expect: "1 busy kernel(s)"),
        IdleCase(name: "N comes from the configuration", conf: "IDLE_MINUTES=45\n", kernels: "[]", expect: "idle_minutes=45"),
        IdleCase(name: "0 disables it", conf: "IDLE_MINUTES=0\n", kernels: nil, expect: "disabled (IDLE_MINUTES=0)"),
        IdleCase(name: "a malformed N does nothing", conf: "IDLE_MINUTES=soon\n", kernels: nil, expect: "is not a whole number; doing nothing"),
    ]

    @Test("kiln-idle-stop --status reads N and sees busy Jupyter kernels through the server's API", arguments: idleCases)
    func idleStop(_ c: IdleCase) throws {
        guard let python = requireTool("python3", package: "python3") else { return }
        let dir = try TempDir()
        let runtime = dir.path + "/runtime"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        var server: ServerProcess?
        if let kernels = c.kernels {
            // A stand-in Jupyter server: GET /api/kernels answers the file api/kernels.
            try dir.write("www/api/kernels", kernels)
            let port = try freeLoopbackPort()
            server = try ServerProcess(python, ["-m", "http.server", "--bind", "127.0.0.1", "--directory", dir.path + "/www", String(port)],
                                       port: port)
            try dir.write("runtime/jpserver-1.json", #"{"url": "http://127.0.0.1:\#(port)/", "token": "t0k3n"}"#)
        }
        defer { server?.stop() }
        let conf = try dir.write("idle-stop.conf", c.conf + "JUPYTER_RUNTIME_DIR=\(runtime)\n")
        let result = try runProgram(python, [Self.files + "/kiln-idle-stop", "--status"],
                                    environment: ["KILN_IDLE_STOP_CONF": conf, "KILN_IDLE_STOP_STATE": dir.path + "/state",
                                                  "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains(c.expect), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/state"), "--status must not record anything")
    }

    @Test("kiln-data-volume formats a blank volume once, mounts it by label, keeps its data on the next boot, and never formats a disk with a file system")
    func dataVolume() throws {
        guard getuid() == 0 else {
            Issue.record("needs root (loop devices and mount): run the tests as root, as CI does")
            return
        }
        guard let losetup = requireTool("losetup", package: "mount"),
              let mkfs = requireTool("mkfs.ext4", package: "e2fsprogs") else { return }
        let dir = try TempDir()
        let image = dir.path + "/volume.img", other = dir.path + "/other.img"
        for file in [image, other] {
            #expect(FileManager.default.createFile(atPath: file, contents: nil))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
            try handle.truncate(atOffset: 1 << 30)   // 1 GiB, sparse
            try handle.close()
        }
        let attach = try run(losetup, ["--find", "--show", image])
        try #require(attach.status == 0, "losetup: \(attach.output)")
        let loop = attach.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let attachOther = try run(losetup, ["--find", "--show", other])
        try #require(attachOther.status == 0, "losetup: \(attachOther.output)")
        let loopOther = attachOther.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let mount = dir.path + "/data"
        defer {
            _ = try? run("/bin/umount", [mount])
            _ = try? run(losetup, ["--detach", loop])
            _ = try? run(losetup, ["--detach", loopOther])
        }
        func boot(device: String) throws -> (status: Int32, output: String) {
            let conf = try dir.write("data-volume.conf", "MOUNT=\(mount)\nDEVICE=\(device)\nSIZE_GB=1\nOWNER=1000:1000\n")
            return try runProgram("/bin/bash", [Self.files + "/kiln-data-volume"],
                                  environment: ["KILN_DATA_VOLUME_CONF": conf, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
        }
        // A disk that already has a file system (a student's own, say) is never formatted.
        let format = try run(mkfs, ["-q", "-L", "someone-else", loopOther])
        try #require(format.status == 0, "\(format.output)")
        let refused = try boot(device: loopOther)
        #expect(refused.status == 0, "\(refused.output)")
        #expect(refused.output.contains("no data volume found"), "\(refused.output)")
        #expect(try run("/sbin/blkid", ["-s", "LABEL", "-o", "value", loopOther]).output.contains("someone-else"))

        // First boot: blank, so formatted with the label and mounted; the library directories are the user's.
        let first = try boot(device: loop)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("formatting blank \(loop)"), "\(first.output)")
        let mounted = try run("/bin/findmnt", ["-n", "-o", "SOURCE", mount])
        #expect(mounted.output.trimmingCharacters(in: .whitespacesAndNewlines) == loop)
        for path in [mount, mount + "/R/library", mount + "/julia"] {
            var info = stat()
            #expect(stat(path, &info) == 0 && info.st_uid == 1000 && info.st_gid == 1000, "\(path) is not 1000:1000")
        }
        try "keep me\n".write(toFile: mount + "/R/library/marker", atomically: true, encoding: .utf8)

        // Next boot: found by its label, mounted, not formatted again.
        #expect(try run("/bin/umount", [mount]).status == 0)
        let second = try boot(device: "/dev/sdz-absent")
        #expect(second.status == 0, "\(second.output)")
        #expect(!second.output.contains("formatting"), "\(second.output)")
        #expect(second.output.contains("mounting \(loop)"), "\(second.output)")
        #expect((try? String(contentsOfFile: mount + "/R/library/marker", encoding: .utf8)) == "keep me\n")
    }
}

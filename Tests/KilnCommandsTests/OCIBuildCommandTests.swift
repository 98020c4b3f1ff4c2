import ArgumentParser
import Foundation
import KilnArchive
import KilnTestSupport
import OCI
import OCIPipeline
import Sandbox
import Testing
@testable import KilnCommands

/// A Docker config.json with a login for `host`, as `docker login` writes it.
private func dockerConfig(in dir: TempDirectory, host: String, password: String) throws -> String {
    let auth = Data("AWS:\(password)".utf8).base64EncodedString()
    try dir.write("docker/config.json", #"{"auths": {"\#(host)": {"auth": "\#(auth)"}}}"#)
    return dir.path + "/docker"
}

/// Applies an image's layers from a layout to a fresh root, as a container runtime would.
private func rootFromLayout(_ layout: String, tag: String, into root: String) throws {
    let image = try ImageLayout.open(at: layout)
    let read = try image.read(tag: tag)
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    for path in read.layerPaths(in: image) {
        _ = try LayerExtractor.apply(layerAt: path, to: root)
    }
}

@Suite("kiln build --target oci, push and pull against docker-registry", .serialized)
struct OCIBuildCommandTests {
    static let recipe = """
    name: cmdtest
    version: "1.0"
    base:
      oci:
        layout: base-layout
        ref: busybox
    steps:
      - name: hello
        run: |
          mkdir -p /opt/cmd
          echo "built by kiln" > /opt/cmd/hello
    tests:
      - name: hello
        run: grep -q "built by kiln" /opt/cmd/hello
    oci:
      tags: ["1.0", latest]
    """

    @Test("build → push with docker config credentials → an unchanged re-push uploads nothing → pull gives the same digest")
    func buildPushPull() throws {
        let dir = try TempDirectory()
        try BusyboxLayout.make(at: dir.path + "/base-layout", scratch: dir.path + "/base-root")
        try dir.write("recipe.yaml", Self.recipe)
        let registry = try RegistryServer(password: "kiln-cmd-secret")
        defer { registry.stop() }
        let environment = ["DOCKER_CONFIG": try dockerConfig(in: dir, host: registry.host, password: "kiln-cmd-secret"),
                           "KILN_CACHE_DIR": dir.path + "/cache", "SOURCE_DATE_EPOCH": "1700000000",
                           "HOME": dir.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]

        let (status, first) = kiln(["build", "--target", "oci", "--push", "\(registry.host)/team/cmd",
                                                     "--json", "recipe.yaml"], in: dir.path, environment: environment)
        #expect(status == 0, "\(first.err)")
        #expect(!first.err.contains("kiln-cmd-secret"), "the registry password never reaches the output")
        let records = try JSONSerialization.jsonObject(with: Data(first.out.utf8)) as? [[String: Any]]
        let build = try #require(records?.first?["build"] as? [String: Any])
        let pushed = try #require(records?.first?["pushed"] as? [String: Any])
        let digest = try #require(build["manifestDigest"] as? String)
        #expect(pushed["manifestDigest"] as? String == digest)
        #expect(pushed["tags"] as? [String] == ["1.0", "latest"])
        #expect((pushed["blobsUploaded"] as? Int ?? 0) >= 3, "config and two layers")
        #expect(FileManager.default.fileExists(atPath: dir.path + "/out/cmdtest/index.json"), "default output is out/<recipe>")

        // skopeo, an independent client, sees both tags with kiln's digest.
        if let skopeo = requireProgram("skopeo", install: "apt-get install skopeo") {
            for tag in ["1.0", "latest"] {
                let inspect = try runProgram(skopeo, ["inspect", "--tls-verify=false", "--creds", "AWS:kiln-cmd-secret",
                                                      "docker://\(registry.host)/team/cmd:\(tag)"])
                #expect(inspect.status == 0, "\(inspect.output)")
                #expect(inspect.output.contains(digest))
            }
        }

        // An unchanged image, built and pushed again: every step cached, no blob sent.
        let (again, second) = kiln(["build", "--target", "oci", "--push", "\(registry.host)/team/cmd",
                                                     "--json", "recipe.yaml"], in: dir.path, environment: environment)
        #expect(again == 0, "\(second.err)")
        let secondRecord = try JSONSerialization.jsonObject(with: Data(second.out.utf8)) as? [[String: Any]]
        #expect((secondRecord?.first?["build"] as? [String: Any])?["stepsRun"] as? [String] == [])
        #expect((secondRecord?.first?["pushed"] as? [String: Any])?["blobsUploaded"] as? Int == 0)
        #expect((secondRecord?.first?["pushed"] as? [String: Any])?["bytesUploaded"] as? Int == 0)

        // kiln pull brings the same image back; its root has what the run step made.
        let (pulled, pull) = kiln(["pull", "\(registry.host)/team/cmd:1.0", "--output",
                                                    "oci-layout:\(dir.path)/pulled"], in: dir.path, environment: environment)
        #expect(pulled == 0, "\(pull.err)")
        let pulledImage = try ImageLayout.open(at: dir.path + "/pulled").read(tag: "1.0")
        #expect(pulledImage.descriptor.digest.description == digest)
        try rootFromLayout(dir.path + "/pulled", tag: "1.0", into: dir.path + "/root")
        #expect(try String(contentsOfFile: dir.path + "/root/opt/cmd/hello", encoding: .utf8) == "built by kiln\n")

        // A recipe on top of the pushed image (a registry base, pulled by kiln) pushed to another
        // repository of the same registry borrows the base's layers by cross-repository mount.
        try dir.write("derived/recipe.yaml", """
        name: derived
        version: "2"
        base:
          oci:
            image: \(registry.host)/team/cmd:1.0
        steps:
          - name: more
            run: echo more > /opt/cmd/more
        tests:
          - name: both
            run: test -f /opt/cmd/hello && test -f /opt/cmd/more
        """)
        let (derivedStatus, derived) = kiln(["build", "--target", "oci", "--push", "\(registry.host)/team/derived",
                                                              "--json", "derived/recipe.yaml"], in: dir.path, environment: environment)
        #expect(derivedStatus == 0, "\(derived.err)")
        let derivedRecord = try JSONSerialization.jsonObject(with: Data(derived.out.utf8)) as? [[String: Any]]
        let derivedPush = try #require(derivedRecord?.first?["pushed"] as? [String: Any])
        #expect(derivedPush["blobsMounted"] as? Int == 2, "the busybox layer and cmdtest's layer are mounted, not sent")
        let derivedBuild = try #require(derivedRecord?.first?["build"] as? [String: Any])
        #expect(derivedBuild["base"] as? String == digest, "the base resolved to the pushed image's manifest digest")
    }

    @Test("usage errors: --output must be oci-layout:DIR; OCI options are refused for AMI builds")
    func usageErrors() throws {
        let (a, first) = kiln(["build", "--target", "oci", "--output", "/tmp/x", "recipes/examples/tools.yaml"])
        #expect(a == 64)
        #expect(first.err.contains("oci-layout:DIR"))
        let (b, second) = kiln(["build", "--target", "ami", "--push", "example.org/x", "recipes/examples/tools.yaml"])
        #expect(b == 64)
        #expect(second.err.contains("--push applies to --target oci only"))
    }
}

/// The real thing, as the issue asks: a debootstrap bookworm base plus an apt step, built, pushed,
/// pulled back and run in the sandbox. The debootstrap base is cached in ~/.cache/kiln (shared with
/// scripts/main.sh), so only the first run on a machine builds it; the apt step always runs.
@Suite("a real image: debootstrap bookworm + apt, pushed, pulled and run", .serialized)
struct DebootstrapImageTests {
    @Test("debootstrap bookworm + apt-get install hello → push → pull → hello runs in the sandbox")
    func debootstrapAptPushRun() throws {
        guard requireProgram("debootstrap", install: "apt-get install debootstrap") != nil else { return }
        let dir = try TempDirectory()
        try dir.write("recipe.yaml", """
        name: bookworm-hello
        version: "1"
        base:
          oci:
            debootstrap: {suite: bookworm, mirror: "http://deb.debian.org/debian", variant: minbase}
        steps:
          - name: hello
            apt:
              packages: [hello]
        tests:
          - name: hello
            run: hello | grep -q "Hello, world!"
        """)
        let registry = try RegistryServer(password: "kiln-deb-secret")
        defer { registry.stop() }
        let process = ProcessInfo.processInfo.environment
        let environment = ["DOCKER_CONFIG": try dockerConfig(in: dir, host: registry.host, password: "kiln-deb-secret"),
                           "KILN_CACHE_DIR": BuildCache.defaultRoot(environment: process), "SOURCE_DATE_EPOCH": "1700000000",
                           "HOME": process["HOME"] ?? "/root", "PATH": process["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"]
        let (status, build) = kiln(["build", "--target", "oci", "--no-cache", "--push",
                                                     "\(registry.host)/debian/hello:1", "recipe.yaml"], in: dir.path, environment: environment)
        #expect(status == 0, "\(build.err.suffix(4000))")
        #expect(build.err.contains("Setting up hello"), "the apt step ran in the sandbox and its output streamed")

        let (pulled, pull) = kiln(["pull", "\(registry.host)/debian/hello:1", "--output",
                                                    "oci-layout:\(dir.path)/pulled"], in: dir.path, environment: environment)
        #expect(pulled == 0, "\(pull.err)")
        try rootFromLayout(dir.path + "/pulled", tag: "1", into: dir.path + "/root")
        let output = OutputLines()
        let result = try Sandbox.run(SandboxCommand(rootfs: dir.path + "/root", argv: ["/usr/bin/hello"],
                                                    environment: ["PATH=/usr/bin:/bin"])) { output.add($0) }
        #expect(result.succeeded)
        #expect(output.all == ["Hello, world!"])
    }
}

final class OutputLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

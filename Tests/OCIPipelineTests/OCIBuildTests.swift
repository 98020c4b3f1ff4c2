import Foundation
import KilnTestSupport
import OCI
import OCIPipeline
import Pipeline
import Testing

/// The recipe most tests build: a files step, an env step and two run steps over a busybox base.
func standardRecipe(second: String = "echo second > /second.txt") -> String {
    """
    name: pipetest
    version: "1.0"
    arch: amd64
    base:
      oci:
        layout: base-layout
        ref: busybox
    steps:
      - name: greet
        files:
          - src: files/hello.txt
            dest: /opt/hello.txt
            mode: "0640"
            owner: "1000:100"
          - src: files/tree
            dest: /opt/tree
      - name: greeting
        env:
          GREETING: hi $BASE
      - name: make
        run: |
          echo "made by $GREETING" > /made.txt
          rm /etc/motd-to-delete
          mkdir -p /var/kiln
          echo x > /var/kiln/x
          ln -s /made.txt /made-link
      - name: second
        run: |
          \(second)
    tests:
      - name: made
        run: grep -q "made by hi busybox" /made.txt
    oci:
      cmd: ["/bin/sh"]
      labels:
        org.opencontainers.image.source: https://example.org/kiln
    """
}

func writeStandardFiles(_ fixture: PipelineFixture, recipe: String = standardRecipe()) throws {
    try fixture.write("recipe.yaml", recipe)
    try fixture.write("files/hello.txt", "hello from files\n")
    try fixture.write("files/tree/a.txt", "a\n")
    try fixture.write("files/tree/sub/b.sh", "#!/bin/sh\necho b\n")
    chmod(fixture.dir.path + "/files/tree/sub/b.sh", 0o755)
}

@Suite("OCI build over a busybox base", .serialized)
struct OCIBuildTests {
    @Test("files, env and run steps become layers that umoci unpacks to the expected tree")
    func layersUnpackAsExpected() throws {
        let fixture = try PipelineFixture()
        try writeStandardFiles(fixture)
        let result = try fixture.build()
        #expect(result.stepsRun == ["pipetest/greet", "pipetest/make", "pipetest/second"])
        #expect(result.testsPassed == ["made"])
        #expect(result.layers.count == 4)  // base + 3 layer steps (env changes only the config)

        let root = try umociUnpack(layout: result.layout, tag: result.tag, into: fixture.dir.path)
        #expect(try String(contentsOfFile: root + "/opt/hello.txt", encoding: .utf8) == "hello from files\n")
        let hello = try #require(ownerAndMode(root + "/opt/hello.txt"))
        #expect(hello.uid == 1000 && hello.gid == 100 && hello.mode == 0o640)
        #expect(ownerAndMode(root + "/opt/tree/sub/b.sh")?.mode == 0o755)
        #expect(ownerAndMode(root + "/opt/tree/a.txt")?.mode == 0o644)
        #expect(try String(contentsOfFile: root + "/made.txt", encoding: .utf8) == "made by hi busybox\n")
        #expect(try String(contentsOfFile: root + "/second.txt", encoding: .utf8) == "second\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/made-link") == "/made.txt")
        #expect(!FileManager.default.fileExists(atPath: root + "/etc/motd-to-delete"), "the run step's rm must become a whiteout")
        #expect(FileManager.default.fileExists(atPath: root + "/bin/busybox"), "the base's files are there")
        #expect(!FileManager.default.fileExists(atPath: root + "/proc/self"), "nothing the sandbox mounted is in a layer")

        // The config and the manifest say what the image is.
        let layout = try ImageLayout.open(at: result.layout)
        let image = try layout.read(tag: result.tag)
        #expect(image.config.config?.env?.contains("GREETING=hi busybox") == true)
        #expect(image.config.config?.env?.contains("BASE=busybox") == true)
        #expect(image.config.config?.labels?["dev.kiln.recipe-hash"] == result.hash)
        #expect(image.config.created == "2023-11-14T22:13:20Z")
        #expect(image.config.rootfs.diffIDs.map(\.description) == result.layers.map(\.diffID))
        let annotations = image.manifest.annotations ?? [:]
        #expect(annotations["org.opencontainers.image.title"] == "pipetest")
        #expect(annotations["org.opencontainers.image.version"] == "1.0")
        #expect(annotations["org.opencontainers.image.source"] == "https://example.org/kiln")
        #expect(annotations["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z")
        #expect(annotations["dev.kiln.recipe-hash"] == result.hash)
        #expect(annotations["org.opencontainers.image.base.digest"] != nil)

        // skopeo reads the layout too.
        if let skopeo = requireProgram("skopeo", install: "apt-get install skopeo") {
            let inspect = try runProgram(skopeo, ["inspect", "oci:\(result.layout):\(result.tag)"])
            #expect(inspect.status == 0, "\(inspect.output)")
            #expect(inspect.output.contains(result.manifestDigest))
        }
    }

    @Test("an unchanged rebuild runs no step; a changed step runs with the steps after it only")
    func stepCache() throws {
        let fixture = try PipelineFixture()
        try writeStandardFiles(fixture)
        let first = try fixture.build()
        let second = try fixture.build()
        #expect(second.stepsRun.isEmpty)
        #expect(second.stepsCached == ["pipetest/greet", "pipetest/make", "pipetest/second"])
        #expect(second.manifestDigest == first.manifestDigest)

        try writeStandardFiles(fixture, recipe: standardRecipe(second: "echo changed > /second.txt"))
        let third = try fixture.build()
        #expect(third.stepsRun == ["pipetest/second"])
        #expect(third.stepsCached == ["pipetest/greet", "pipetest/make"])
        #expect(third.manifestDigest != first.manifestDigest)

        // A changed local file invalidates its files step and everything after it.
        try fixture.write("files/tree/a.txt", "a changed\n")
        let fourth = try fixture.build()
        #expect(fourth.stepsRun == ["pipetest/greet", "pipetest/make", "pipetest/second"])

        // --no-cache runs everything and still gives the same image.
        let fifth = try fixture.build(useCache: false)
        #expect(fifth.stepsRun.count == 3)
        #expect(fifth.manifestDigest == fourth.manifestDigest)
    }

    @Test("two builds on different days, with separate caches and touched sources, give byte-identical digests")
    func reproducible() throws {
        let fixture = try PipelineFixture()
        try writeStandardFiles(fixture)
        let first = try fixture.build(cache: fixture.dir.path + "/cache-a", output: fixture.dir.path + "/out-a")
        // "Another day": the source files get new mtimes; the run steps write files at a different time.
        for file in ["files/hello.txt", "files/tree/a.txt", "files/tree/sub/b.sh"] {
            let path = fixture.dir.path + "/" + file
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 86_400 * 3)], ofItemAtPath: path)
        }
        let second = try fixture.build(cache: fixture.dir.path + "/cache-b", output: fixture.dir.path + "/out-b")
        #expect(second.stepsRun.count == 3, "the second build used its own, empty cache")
        #expect(second.layers.map(\.digest) == first.layers.map(\.digest))
        #expect(second.configDigest == first.configDigest)
        #expect(second.manifestDigest == first.manifestDigest)
    }

    @Test("a failing run step stops the build with its output shown, writes no image, and keeps the cache")
    func failingStep() throws {
        let fixture = try PipelineFixture()
        try writeStandardFiles(fixture, recipe: standardRecipe(second: "echo boom-output-line; exit 3"))
        do {
            _ = try fixture.build()
            Issue.record("the build should have failed")
        } catch let error as OCIBuildError {
            #expect(error.isStepFailure)
            #expect(error.description.contains("pipetest/second"))
            #expect(error.description.contains("exit status 3"))
            #expect(error.description.contains("boom-output-line"))
        }
        #expect(fixture.lines.all.contains("boom-output-line"), "the step's output streams as it runs")
        #expect(!FileManager.default.fileExists(atPath: fixture.output + "/index.json"), "no image is written")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: fixture.cache + "/work")) ?? []).isEmpty,
                "the build's root is removed")

        // Fixing the step reuses everything before it.
        try writeStandardFiles(fixture)
        let fixed = try fixture.build()
        #expect(fixed.stepsCached == ["pipetest/greet", "pipetest/make"])
        #expect(fixed.stepsRun == ["pipetest/second"])
    }

    @Test("Ctrl-C during a run step kills the step's processes at once and writes no image")
    func cancelledStep() throws {
        let fixture = try PipelineFixture()
        let marker = "kiln-cancel-\(UInt32.random(in: 0...UInt32.max))"
        try writeStandardFiles(fixture, recipe: standardRecipe(second: "echo started-\(marker); sleep 300 # \(marker)"))
        let started = Date()
        #expect(throws: PipelineCancelled.self) { try fixture.build(cancelOnLine: "started-\(marker)") }
        #expect(Date().timeIntervalSince(started) < 60, "the step did not run to its end")
        let ps = try runProgram("/bin/ps", ["-eo", "args"])
        #expect(!ps.output.contains("sleep 300 # \(marker)") && !ps.output.contains("# \(marker)"),
                "no process of the step survives")
        #expect(!FileManager.default.fileExists(atPath: fixture.output + "/index.json"))
    }

    @Test("a failing test means no image is written")
    func failingTest() throws {
        let fixture = try PipelineFixture()
        try writeStandardFiles(fixture, recipe: standardRecipe().replacingOccurrences(
            of: #"grep -q "made by hi busybox" /made.txt"#, with: "echo test-says-no; test -e /nonexistent"))
        #expect(throws: OCIBuildError.self) { try fixture.build() }
        #expect(fixture.lines.all.contains("test-says-no"))
        #expect(!FileManager.default.fileExists(atPath: fixture.output + "/index.json"))
    }
}

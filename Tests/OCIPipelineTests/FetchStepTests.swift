import Foundation
import KilnTestSupport
import OCI
import OCIPipeline
import struct KilnCrypto.SHA256
import Testing

@Suite("fetch steps: verified downloads become layers without executing anything", .serialized)
struct FetchStepTests {
    /// A loopback HTTP server over a directory of downloads.
    static func serve(_ dir: String) throws -> ServerProcess {
        let port = try freeLoopbackPort()
        return try ServerProcess("/usr/bin/env", ["python3", "-m", "http.server", "--bind", "127.0.0.1", String(port),
                                                  "--directory", dir], port: port)
    }

    static func recipe(port: Int, toolSHA: String, bundleSHA: String) -> String {
        """
        name: fetchtest
        version: "1"
        base:
          oci:
            layout: base-layout
            ref: busybox
        steps:
          - name: tool
            fetch:
              url: http://127.0.0.1:\(port)/tool.sh
              sha256: \(toolSHA)
              dest: /usr/local/bin/tool
              mode: "0755"
              owner: "1000:100"
          - name: bundle
            fetch:
              url: http://127.0.0.1:\(port)/bundle.tar.gz
              sha256: \(bundleSHA)
              extract: /opt/bundle
              strip_components: 1
        tests:
          - name: tool-runs
            run: test "$(/usr/local/bin/tool)" = tool-ok && test -x /opt/bundle/bin/run
        """
    }

    @Test("a download is checked against its sha256, installed at dest or extracted with strip_components")
    func fetchLayers() throws {
        let fixture = try PipelineFixture()
        let downloads = fixture.dir.path + "/downloads"
        try fixture.write("downloads/tool.sh", "#!/bin/sh\necho tool-ok\n")
        try fixture.write("downloads/src/bundle-1.0/bin/run", "#!/bin/sh\necho run\n")
        try fixture.write("downloads/src/bundle-1.0/README", "bundle\n")
        chmod(downloads + "/src/bundle-1.0/bin/run", 0o755)
        let tar = try runProgram("/bin/tar", ["-C", downloads + "/src", "-czf", downloads + "/bundle.tar.gz", "bundle-1.0"])
        #expect(tar.status == 0)
        let server = try Self.serve(downloads)
        defer { server.stop() }
        let toolSHA = try SHA256.hash(fileAt: downloads + "/tool.sh").hex
        let bundleSHA = try SHA256.hash(fileAt: downloads + "/bundle.tar.gz").hex

        try fixture.write("recipe.yaml", Self.recipe(port: server.port, toolSHA: toolSHA, bundleSHA: bundleSHA))
        let result = try fixture.build()
        #expect(result.stepsRun == ["fetchtest/tool", "fetchtest/bundle"])
        #expect(result.testsPassed == ["tool-runs"])
        let root = try umociUnpack(layout: result.layout, tag: result.tag, into: fixture.dir.path)
        let tool = try #require(ownerAndMode(root + "/usr/local/bin/tool"))
        #expect(tool.uid == 1000 && tool.gid == 100 && tool.mode == 0o755)
        #expect(try String(contentsOfFile: root + "/opt/bundle/README", encoding: .utf8) == "bundle\n")
        #expect(ownerAndMode(root + "/opt/bundle/bin/run")?.mode == 0o755)
        #expect(!FileManager.default.fileExists(atPath: root + "/opt/bundle/bundle-1.0"))

        // A download whose bytes changed upstream is refused, naming both sums.
        try fixture.write("downloads/tool.sh", "#!/bin/sh\necho tampered\n")
        let tampered = try SHA256.hash(fileAt: downloads + "/tool.sh").hex
        do {
            _ = try fixture.build(useCache: false)
            Issue.record("a sha256 mismatch must fail the build")
        } catch {
            let text = "\(error)"
            #expect(text.contains(toolSHA) && text.contains(tampered), "\(text)")
            #expect(text.contains("tool.sh"))
        }
    }
}

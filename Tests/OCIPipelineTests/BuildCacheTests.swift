import Foundation
import KilnTestSupport
import OCIPipeline
import Testing

@Suite("the build cache survives a crash at any point", .serialized)
struct BuildCacheTests {
    @Test("a record whose blob is missing or torn, or garbage, is a miss and the step runs again; a killed build's root is swept")
    func crashStates() throws {
        let fixture = try PipelineFixture()
        try writeStandardFiles(fixture)
        let first = try fixture.build()
        let cache = try BuildCache(root: fixture.cache)
        let steps = fixture.cache + "/steps"
        let records = try FileManager.default.contentsOfDirectory(atPath: steps).sorted()
        #expect(records.count == 3)

        // Crash states: the blob of the `make` layer vanished, the `greet` record is half written.
        let make = try #require(first.layers.first { $0.createdBy == "pipetest/make" })
        try FileManager.default.removeItem(atPath: try cache.blobPath(make))
        for name in records {
            let path = steps + "/" + name
            let text = try String(contentsOfFile: path, encoding: .utf8)
            if text.contains("pipetest/greet") { try String(text.prefix(20)).write(toFile: path, atomically: false, encoding: .utf8) }
        }
        // A build killed mid-step left its root and a temporary blob behind.
        let abandoned = fixture.cache + "/work/pipetest-deadbeef"
        try FileManager.default.createDirectory(atPath: abandoned + "/root/etc", withIntermediateDirectories: true)
        try "999999\n".write(toFile: abandoned + "/.kiln-pid", atomically: true, encoding: .utf8)
        let strayTemp = fixture.cache + "/store/blobs/sha256/.tmp-crashed"
        FileManager.default.createFile(atPath: strayTemp, contents: Data("partial".utf8))

        let second = try fixture.build()
        #expect(second.stepsRun == ["pipetest/greet", "pipetest/make"])
        // They made the same bytes as before, so the step built on them is still valid.
        #expect(second.stepsCached == ["pipetest/second"])
        #expect(second.manifestDigest == first.manifestDigest, "the rebuilt layers are the same bytes")
        #expect(!FileManager.default.fileExists(atPath: abandoned), "a dead build's root is removed")
        #expect(FileManager.default.fileExists(atPath: strayTemp), "a fresh temporary blob may belong to a live build")

        // And the repaired cache serves everything again.
        let third = try fixture.build()
        #expect(third.stepsRun.isEmpty)
    }
}

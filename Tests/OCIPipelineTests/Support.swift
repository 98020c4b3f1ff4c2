import Foundation
import KilnArchive
import KilnTestSupport
import OCI
import OCIPipeline
import Pipeline
import Recipe
import Testing

/// A recipe directory with a busybox base layout (tag `busybox`) beside the recipe, and a private cache.
final class PipelineFixture: @unchecked Sendable {
    let dir: TempDirectory
    var cache: String { dir.path + "/cache" }
    var output: String { dir.path + "/out" }
    let lines = Lines()

    init() throws {
        dir = try TempDirectory()
        try BusyboxLayout.make(at: dir.path + "/base-layout", scratch: dir.path + "/base-root")
    }

    /// Writes `recipe.yaml` (and any extra files) into the fixture.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try dir.write(name, text) }

    /// Builds `recipe.yaml` with the given options.
    func build(cache: String? = nil, output: String? = nil, useCache: Bool = true, epoch: Int64? = 1_700_000_000,
               runTests: Bool = true, cancelOnLine: String? = nil) throws -> OCIBuildResult {
        let recipe = try RecipeLoader(overrides: [:], workingDirectory: dir.path).load("recipe.yaml")
        let hash = try RecipeHash.compute(recipe)
        let journal = try Journal(directory: dir.path + "/runs", buildID: "test-\(UUID().uuidString.prefix(6))", recipe: recipe.name)
        let context = PipelineContext(buildID: "test", journal: journal, progress: ProgressReporter(write: { _ in }))
        let sink = lines
        let options = OCIBuildOptions(output: output ?? self.output, cacheRoot: cache ?? self.cache, kilnVersion: "test",
                                      useCache: useCache, sourceDateEpoch: epoch, runTests: runTests,
                                      onOutput: { line in
                                          sink.add(line)
                                          // As the SignalTrap does on Ctrl-C.
                                          if line == cancelOnLine { context.cancel(signal: "SIGINT") }
                                      })
        return try OCIBuilder(options: options).build(recipe, hash: hash, context: context)
    }
}

/// Lines a build printed.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func add(_ line: String) { lock.lock(); stored.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return stored }
}

/// Unpacks an image from a layout with umoci (an independent reader) and returns the root's path.
func umociUnpack(layout: String, tag: String, into dir: String) throws -> String {
    guard let umoci = requireProgram("umoci", install: "apt-get install umoci") else { throw TestFailure("umoci missing") }
    let bundle = dir + "/bundle-\(UUID().uuidString.prefix(6))"
    let result = try runProgram(umoci, ["unpack", "--image", "\(layout):\(tag)", bundle])
    guard result.status == 0 else { throw TestFailure("umoci unpack failed: \(result.output)") }
    return bundle + "/rootfs"
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The owner and permission bits of a path (not following symlinks).
func ownerAndMode(_ path: String) -> (uid: UInt32, gid: UInt32, mode: UInt32)? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return (info.st_uid, info.st_gid, UInt32(info.st_mode) & 0o7777)
}

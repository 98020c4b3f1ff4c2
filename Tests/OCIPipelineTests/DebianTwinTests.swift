import Foundation
import KilnTestSupport
import OCIPipeline
import Pipeline
import Recipe
import Testing

/// The Debian twin of the standard data-science stack (recipes/examples/debian-datascience.yaml,
/// issue 6): a debootstrap bookworm root with Debian's R, IRkernel, ipykernel and Jupyter, built as
/// an OCI image with its tests run in the sandbox. One build; the debootstrap base comes from the
/// shared cache (~/.cache/kiln, as the other debootstrap tests and scripts/main.sh use it), the
/// steps run afresh. The apt step is the slow part: about 3.5 minutes here, 5 for the whole build.
@Suite("the Debian twin of the data-science stack", .serialized)
struct DebianTwinTests {
    static let recipePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("recipes/examples/debian-datascience.yaml").path

    @Test("debootstrap bookworm + Debian's R and Jupyter: R computes, python3 and ir kernels listed, notebooks execute, in the sandbox")
    func buildAndTest() throws {
        guard requireProgram("debootstrap", install: "apt-get install debootstrap") != nil else { return }
        let dir = try TempDirectory()
        let recipe = try RecipeLoader().load(Self.recipePath)
        let hash = try RecipeHash.compute(recipe)
        let journal = try Journal(directory: dir.path + "/runs", buildID: "twin-\(UUID().uuidString.prefix(6))", recipe: recipe.name)
        let context = PipelineContext(buildID: "twin", journal: journal, progress: ProgressReporter(write: { _ in }))
        let lines = Lines()
        let options = OCIBuildOptions(output: dir.path + "/out",
                                      cacheRoot: BuildCache.defaultRoot(environment: ProcessInfo.processInfo.environment),
                                      kilnVersion: "test", useCache: false, sourceDateEpoch: 1_700_000_000, runTests: true,
                                      onOutput: { lines.add($0) })
        let result = try OCIBuilder(options: options).build(recipe, hash: hash, context: context)

        // Built here, not taken from the step cache, and every test passed in the finished image.
        #expect(result.stepsRun.contains("debian-datascience/stack"))
        #expect(result.stepsRun.contains("debian-datascience/ir-kernel"))
        #expect(result.testsPassed == ["r-computes", "kernels", "notebooks"])
        #expect(result.platform == "linux/amd64")

        // What the tests printed from inside the sandbox: R's value and the kernelspec list.
        let output = lines.all
        #expect(output.contains { $0.contains("r-result 55") }, "R did not print its value:\n\(output.suffix(40).joined(separator: "\n"))")
        let kernels = output.compactMap { line -> String? in
            let words = line.split(separator: " ").filter { !$0.isEmpty && $0 != "|" }
            guard words.count >= 2, words[1].hasPrefix("/"), words[1].contains("/kernels/") else { return nil }
            return String(words[0])
        }
        #expect(Set(kernels).isSuperset(of: ["python3", "ir"]), "kernelspec list showed \(kernels)")
        #expect(output.contains { $0.contains("/usr/local/share/jupyter/kernels/ir") }, "the ir kernel is not registered system-wide")
    }
}

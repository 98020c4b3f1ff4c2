import Foundation
import Testing
@testable import Recipe

@Suite("recipes/schema.json")
struct SchemaTests {
    let schemaPath = "\(repositoryRoot)/recipes/schema.json"

    func schema() throws -> [String: Any] {
        let data = try #require(FileManager.default.contents(atPath: schemaPath))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Runs the jsonschema package over files; nil (with a recorded issue) when it is not installed.
    func check(_ files: [String]) throws -> [String: [String]]? {
        let probe = try run("/usr/bin/env", ["python3", "-c", "import jsonschema, yaml"])
        guard probe.status == 0 else {
            Issue.record("python3 needs jsonschema and PyYAML: pip install jsonschema pyyaml (scripts/setup.sh does)")
            return nil
        }
        let result = try run("/usr/bin/env", ["python3", "\(fixtures)/tools/schema_check.py", schemaPath] + files)
        #expect(result.status == 0, "\(result.output)")
        return try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: [String]]
    }

    @Test("the schema is valid draft 2020-12 and accepts every recipe in the repository")
    func acceptsRepository() throws {
        let files = repositoryRecipes()
        #expect(!files.isEmpty)
        guard let results = try check(files) else { return }
        for file in files {
            #expect(results[file] == [], "\(file): \(results[file] ?? [])")
        }
    }

    @Test("the schema rejects malformed recipes it can see", arguments: [
        "unknown-top-key.yaml", "unknown-nested-key.yaml", "fetch-no-sha.yaml", "fetch-bad-sha.yaml",
        "fetch-dest-and-extract.yaml", "bad-only.yaml", "int-out-of-range.yaml", "step-two-actions.yaml",
        "step-no-action.yaml", "bad-fingerprint.yaml", "missing-name.yaml", "bad-region.yaml", "bad-port.yaml",
        "unknown-compression.yaml", "wrong-type-name.yaml", "bad-env-name.yaml",
    ])
    func rejects(_ file: String) throws {
        let path = "\(fixtures)/invalid/\(file)"
        guard let results = try check([path]) else { return }
        #expect(results[path]?.isEmpty == false, "the schema accepted \(file)")
    }

    @Test("the schema's top-level keys are exactly the ones kiln reads")
    func topLevelKeys() throws {
        let properties = try #require(try schema()["properties"] as? [String: Any])
        #expect(Set(properties.keys) == Set(RecipeFile.topKeys))
    }
}

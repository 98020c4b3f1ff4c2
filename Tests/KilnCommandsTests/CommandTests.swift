import ArgumentParser
import Foundation
import Testing
@testable import KilnCommands
import Recipe

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// Captured stdout and stderr of an in-process command.
final class Captured: @unchecked Sendable {
    private let lock = NSLock()
    private var _out = ""
    private var _err = ""
    var out: String { lock.withLock { _out } }
    var err: String { lock.withLock { _err } }

    func context(in directory: String = repositoryRoot, environment: [String: String] = [:]) -> CommandContext {
        CommandContext(out: { s in self.lock.withLock { self._out += s } },
                       err: { s in self.lock.withLock { self._err += s } },
                       environment: environment, workingDirectory: directory, trapsSignals: false)
    }
}

/// Parses arguments as the real binary does and runs the command in-process.
/// Returns the exit code the binary would exit with.
@discardableResult
func kiln(_ arguments: [String], in directory: String = repositoryRoot, environment: [String: String] = [:],
          captured: Captured = Captured()) -> (Int32, Captured) {
    do {
        var command = try Kiln.parseAsRoot(arguments)
        guard let runnable = command as? ContextCommand else {
            try command.run()
            return (0, captured)
        }
        try runnable.run(context: captured.context(in: directory, environment: environment))
        return (0, captured)
    } catch {
        let code = Kiln.exitCode(for: error).rawValue
        if code != 0 {
            let message = Kiln.message(for: error)
            if !message.isEmpty { captured.context().err(message + "\n") }
        }
        return (code, captured)
    }
}

final class TempDir {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "kiln-cmd-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = (path as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

@Suite("kiln commands")
struct CommandTests {
    @Test("validate accepts the repository's recipes and prints each one's hash")
    func validateRepository() {
        let (code, io) = kiln(["validate", "recipes/"])
        #expect(code == 0, "\(io.err)")
        #expect(io.out.contains("ok      recipes/examples/tools.yaml  tools 2026.11  [ami, oci]  sha256:"))
        #expect(io.err.contains("recipes valid"))
    }

    @Test("validate reports FILE:LINE:COL and exits 1 on a malformed recipe")
    func validateError() throws {
        let dir = try TempDir()
        try dir.write("bad.yaml", "name: bad\nversion: \"1\"\nbase: {oci: scratch}\npackges: [git]\n")
        let (code, io) = kiln(["validate", "bad.yaml"], in: dir.path)
        #expect(code == 1)
        #expect(io.err.contains("bad.yaml:4:1: error: unknown key 'packges' in the recipe"))
        #expect(io.err.contains("0 of 1 recipes valid"))
    }

    @Test("validate --json reports problems as data")
    func validateJSON() throws {
        let dir = try TempDir()
        try dir.write("bad.yaml", "name: bad\nversion: \"1\"\nbase: {oci: scratch}\nsteps: [{name: x, fetch: {url: 'https://e.org/f', dest: /f}}]\n")
        try dir.write("good.yaml", "name: good\nversion: \"1\"\nbase: {oci: scratch}\n")
        let (code, io) = kiln(["validate", "--json", "."], in: dir.path)
        #expect(code == 1)
        struct Result: Decodable {
            struct Problem: Decodable { var file: String; var line: Int; var column: Int; var message: String }
            var path: String; var ok: Bool; var hash: String?; var errors: [Problem]?
        }
        let results = try JSONDecoder().decode([Result].self, from: Data(io.out.utf8))
        #expect(results.map(\.path) == ["./bad.yaml", "./good.yaml"])
        #expect(results[0].ok == false && results[0].errors?.first?.line == 4)
        #expect(results[0].errors?.first?.message.contains("missing 'sha256'") == true)
        #expect(results[1].ok && results[1].hash?.hasPrefix("sha256:") == true)
    }

    @Test("render --target ami prints the user-data script; --output writes the exact bytes")
    func renderAMI() throws {
        let dir = try TempDir()
        let (code, io) = kiln(["render", "--target", "ami", "recipes/examples/tools.yaml", "--output", dir.path + "/ud",
                               "--build-id", "b-42"])
        #expect(code == 0, "\(io.err)")
        #expect(io.out.hasPrefix("#!/bin/bash\n"))
        #expect(io.out.contains("readonly KILN_BUILD_ID=b-42"))
        #expect(io.err.contains("bytes (EC2 limit 16384)"))
        #expect(FileManager.default.contents(atPath: dir.path + "/ud") == Data(io.out.utf8))
    }

    @Test("render --target oci prints the layer plan; --json as data")
    func renderOCI() throws {
        let (code, io) = kiln(["render", "--target", "oci", "recipes/examples/notebook.yaml"])
        #expect(code == 0)
        #expect(io.out.contains("base: debootstrap bookworm"))
        #expect(io.out.contains("layer  1  apt"))
        #expect(io.out.contains("fetch download notebook/tini-source"))
        #expect(!io.out.contains("tools/cloud-only"))
        let (jsonCode, json) = kiln(["render", "--target", "oci", "--json", "--param", "course=x", "recipes/examples/notebook.yaml"])
        #expect(jsonCode == 0)
        let plan = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
        let entries = plan?["entries"] as? [[String: Any]]
        #expect(entries?.filter { $0["produces"] as? String == "layer" }.count == 10)
        #expect(plan?["platform"] as? String == "linux/amd64")
    }

    @Test("render for a target without a base says what to add")
    func renderMissingBase() throws {
        let dir = try TempDir()
        try dir.write("oci-only.yaml", "name: o\nversion: \"1\"\nbase: {oci: scratch}\n")
        let (code, io) = kiln(["render", "--target", "ami", "oci-only.yaml"], in: dir.path)
        #expect(code == 1)
        #expect(io.err.contains("has no AMI base"))
    }

    @Test("usage errors exit 64 with a message, never a crash", arguments: [
        ["render", "recipes/examples/tools.yaml"],                       // missing --target
        ["render", "--target", "vm", "recipes/examples/tools.yaml"],     // bad target
        ["validate", "--endpoint-url", "localhost:5000", "recipes"],     // bad endpoint
        ["validate", "no/such/dir"],                                     // missing path
        ["render", "--target", "oci", "--output", "x", "recipes/examples/tools.yaml"],
        ["validate", "--param", "novalue", "recipes"],
        ["frobnicate"],
    ])
    func usage(_ arguments: [String]) {
        let (code, io) = kiln(arguments)
        #expect(code == 64, "\(arguments): \(io.err)")
        #expect(!io.err.isEmpty)
    }

    @Test("plan marks recipes whose hash is in the catalog as built, and the rest (and their children) as changed")
    func plan() throws {
        let dir = try TempDir()
        try dir.write("recipes/a.yaml", "name: a\nversion: \"1\"\nbase: {oci: scratch, ami: {ssm: /x}}\n")
        try dir.write("recipes/b.yaml", "name: b\nversion: \"1\"\nextends: [a]\nsteps: [{name: s, run: 'true'}]\n")
        let (first, io) = kiln(["plan", "--json"], in: dir.path)
        #expect(first == 0, "\(io.err)")
        struct Output: Decodable {
            struct Row: Decodable { var name: String; var hash: String; var built: Bool; var extends: [String] }
            struct Item: Decodable { var recipe: String; var name: String; var target: String }
            struct Matrix: Decodable { var include: [Item] }
            var recipes: [Row]; var changed: [String]; var matrix: Matrix
        }
        let before = try JSONDecoder().decode(Output.self, from: Data(io.out.utf8))
        #expect(before.changed == ["a", "b"])
        #expect(before.matrix.include.count == 4)
        #expect(before.recipes[1].extends == ["a"])

        // Record both as built: nothing changed.
        let hashes = before.recipes.map { "{\"recipe\": \"\($0.name)\", \"hash\": \"\($0.hash)\"}" }
        try dir.write("images/catalog.json", "{\"format\": 1, \"images\": [\(hashes.joined(separator: ","))]}")
        let (_, io2) = kiln(["plan", "--json"], in: dir.path)
        #expect(try JSONDecoder().decode(Output.self, from: Data(io2.out.utf8)).changed == [])

        // Change the parent: it and its child are changed again.
        try dir.write("recipes/a.yaml", "name: a\nversion: \"1\"\nbase: {oci: scratch, ami: {ssm: /y}}\n")
        let (_, io3) = kiln(["plan", "--json"], in: dir.path)
        #expect(try JSONDecoder().decode(Output.self, from: Data(io3.out.utf8)).changed == ["a", "b"])
        let (_, text) = kiln(["plan"], in: dir.path)
        #expect(text.out.contains("changed  recipes/a.yaml"))
        #expect(text.err.contains("2 of 2 recipes need building"))
    }

    @Test("plan rejects a malformed catalog with a message naming it")
    func badCatalog() throws {
        let dir = try TempDir()
        try dir.write("recipes/a.yaml", "name: a\nversion: \"1\"\nbase: {oci: scratch}\n")
        try dir.write("images/catalog.json", "{\"images\": [")
        let (code, io) = kiln(["plan"], in: dir.path)
        #expect(code == 1)
        #expect(io.err.contains("images/catalog.json:1:1: error: not a valid catalog"))
    }

    @Test("the repository's catalog parses")
    func repositoryCatalog() throws {
        let (code, io) = kiln(["plan", "--json"])
        #expect(code == 0, "\(io.err)")
    }

    @Test("every subcommand's help has an example", arguments: ["validate", "render", "plan"])
    func help(_ name: String) throws {
        let help = Kiln.helpMessage(for: try #require(Kiln.configuration.subcommands.first { $0._commandName == name }))
        #expect(help.contains("Examples:"))
        #expect(help.contains("kiln \(name)"))
        #expect(help.contains("--region") && help.contains("--json") && help.contains("--endpoint-url"))
    }

    @Test("--version prints kiln's version")
    func version() {
        #expect(Kiln.configuration.version == Kiln.version)
        let (code, _) = kiln(["--version"])
        #expect(code == 0)
    }
}

@Suite("validate: shell syntax")
struct ShellSyntaxTests {
    @Test("a syntax error in a run script is reported at its line in the recipe")
    func runScript() throws {
        let dir = try TempDir()
        try dir.write("s.yaml", """
        name: s
        version: "1"
        base: {oci: scratch}
        steps:
          - name: ok
            run: echo fine
          - name: broken
            run: |
              echo one
              if true; then
                echo two
              echo three
        tests:
          - name: quote
            run: echo "unterminated
        """)
        let (code, io) = kiln(["validate", "s.yaml"], in: dir.path)
        #expect(code == 1)
        #expect(io.err.contains("s.yaml:12:7: error: shell syntax error in step 's/broken': syntax error: unexpected end of file"), "\(io.err)")
        #expect(io.err.contains("s.yaml:15:10: error: shell syntax error in test 's/quote': unexpected EOF while looking for matching"), "\(io.err)")
        #expect(!io.err.contains("/bin/"))
    }
}

import Foundation
import Testing
@testable import Recipe

/// One malformed recipe under Fixtures/invalid and the first diagnostic it must produce.
struct Malformed: CustomTestStringConvertible, Sendable {
    var file: String
    var at: String          // "LINE:COL", or "OTHERFILE:LINE:COL" when the problem is in another file
    var message: String     // a substring of the message
    var hint: String? = nil // a substring of the hint

    var testDescription: String { file }
}

let malformed: [Malformed] = [
    Malformed(file: "bad-yaml.yaml", at: "6:1", message: "invalid YAML: did not find expected ',' or '}'"),
    Malformed(file: "tab-indent.yaml", at: "4:1", message: "tab character in indentation", hint: "spaces"),
    Malformed(file: "duplicate-key.yaml", at: "4:1", message: "duplicate key 'name'", hint: "already set at line 1"),
    Malformed(file: "unknown-top-key.yaml", at: "4:1", message: "unknown key 'stepz' in the recipe", hint: "did you mean 'steps'?"),
    Malformed(file: "unknown-nested-key.yaml", at: "7:7", message: "unknown key 'packges' in 'apt'", hint: "did you mean 'packages'?"),
    Malformed(file: "wrong-type-name.yaml", at: "1:7", message: "'name' must be a string, found a list"),
    Malformed(file: "missing-name.yaml", at: "1:1", message: "the recipe is missing 'name'", hint: "name: my-image"),
    Malformed(file: "missing-version.yaml", at: "1:1", message: "the recipe is missing 'version'", hint: "quoted"),
    Malformed(file: "bad-name.yaml", at: "1:7", message: "'name' must be lowercase letters, digits and '-'"),
    Malformed(file: "missing-base.yaml", at: "1:1", message: "recipe 'nobase' has no base", hint: "base: {oci: scratch}"),
    Malformed(file: "fetch-no-sha.yaml", at: "7:7", message: "'fetch' is missing 'sha256'", hint: "sha256sum"),
    Malformed(file: "fetch-bad-sha.yaml", at: "8:15", message: "'sha256' must be 64 lowercase hexadecimal digits, found 63 characters"),
    Malformed(file: "fetch-dest-and-extract.yaml", at: "7:7", message: "exactly one of 'dest' (a file path) or 'extract'"),
    Malformed(file: "cycle-a.yaml", at: "cycle-b.yaml:5:5", message: "extends cycle: cycle-a → cycle-b → cycle-a"),
    Malformed(file: "cycle-b.yaml", at: "cycle-a.yaml:4:11", message: "extends cycle: cycle-b → cycle-a → cycle-b"),
    Malformed(file: "extends-missing.yaml", at: "4:11", message: "extended recipe 'jupyterr' not found", hint: "looked for jupyterr.yaml"),
    Malformed(file: "unknown-param.yaml", at: "10:13", message: "unknown parameter 'julia_versoin'", hint: "did you mean 'julia_version'?"),
    Malformed(file: "unclosed-param.yaml", at: "6:16", message: "'${{' is not closed by '}}'"),
    Malformed(file: "step-no-action.yaml", at: "5:5", message: "step 'nothing' does nothing", hint: "run, apt, pip, fetch, files, env"),
    Malformed(file: "step-two-actions.yaml", at: "7:5", message: "step 'both' has both 'run' and 'apt'", hint: "split it"),
    Malformed(file: "duplicate-step.yaml", at: "7:11", message: "step 'a' is defined twice", hint: "first one is at line 5"),
    Malformed(file: "bad-only.yaml", at: "6:11", message: "'only' must be one of ami, oci, found 'docker'"),
    Malformed(file: "bad-bool.yaml", at: "5:9", message: "'spot' must be true or false"),
    Malformed(file: "int-out-of-range.yaml", at: "5:19", message: "'root_volume_gb' must be between 8 and 16384, found 4"),
    Malformed(file: "bad-region.yaml", at: "5:12", message: "'europe' is not an AWS region name"),
    Malformed(file: "bad-account.yaml", at: "6:15", message: "'12345' is not a 12-digit AWS account ID", hint: "quote account IDs"),
    Malformed(file: "files-missing-src.yaml", at: "7:14", message: "'files/does-not-exist.conf' does not exist", hint: "relative to the recipe's directory"),
    Malformed(file: "bad-image-ref.yaml", at: "4:16", message: "'image' is not an image reference", hint: "@sha256:"),
    Malformed(file: "empty.yaml", at: "1:1", message: "the recipe is empty"),
    Malformed(file: "top-level-list.yaml", at: "1:1", message: "must be a YAML mapping of keys to values, found a list"),
    Malformed(file: "builtin-param.yaml", at: "5:3", message: "'version' is a built-in parameter"),
    Malformed(file: "apt-repo-no-key.yaml", at: "9:11", message: "an apt repository is missing 'key'", hint: "fingerprint"),
    Malformed(file: "bad-fingerprint.yaml", at: "14:26", message: "full 40-hex-digit fingerprint", hint: "gpg --show-keys"),
    Malformed(file: "bad-env-name.yaml", at: "7:7", message: "'1PATH' is not a valid environment variable name"),
    Malformed(file: "platform-mismatch.yaml", at: "1:1", message: "oci.platform 'linux/amd64' does not match the recipe's arch 'arm64'"),
    Malformed(file: "reserved-tag.yaml", at: "6:5", message: "tag 'kiln:build-id' uses a reserved prefix"),
    Malformed(file: "ami-base-two-sources.yaml", at: "5:5", message: "takes only one of 'id', 'ssm' or 'name', found id and ssm"),
    Malformed(file: "ami-name-without-owners.yaml", at: "5:5", message: "'base.ami' is missing 'owners'"),
    Malformed(file: "bad-port.yaml", at: "5:10", message: "'http' is not a port"),
    Malformed(file: "bad-mode.yaml", at: "10:13", message: "'mode' must be an octal mode"),
    Malformed(file: "relative-dest.yaml", at: "9:13", message: "'dest' must be an absolute path"),
    Malformed(file: "steps-not-list.yaml", at: "5:3", message: "'steps' must be a list of steps, found a mapping"),
    Malformed(file: "unknown-compression.yaml", at: "5:16", message: "'compression' must be one of gzip, zstd, found 'zstandard'"),
    Malformed(file: "user-on-apt.yaml", at: "6:5", message: "'user' applies only to 'run' steps"),
]

@Suite("Malformed recipes")
struct MalformedRecipeTests {
    @Test("each malformed recipe is rejected at the right line with a clear message", arguments: malformed)
    func rejected(_ case_: Malformed) throws {
        let path = "\(fixtures)/invalid/\(case_.file)"
        let error = try #require(loadError(path))
        let first = try #require(error.diagnostics.first)
        let parts = case_.at.split(separator: ":")
        let expectedFile = parts.count == 3 ? "\(fixtures)/invalid/\(parts[0])" : path
        #expect(first.position.file == expectedFile)
        #expect("\(first.position.line):\(first.position.column)" == parts.suffix(2).joined(separator: ":"))
        #expect(first.message.contains(case_.message), "message was: \(first.message)")
        if let hint = case_.hint {
            #expect(first.hint?.contains(hint) == true, "hint was: \(first.hint ?? "none")")
        }
        // The printed form is what compilers and editors understand.
        #expect(first.description.hasPrefix("\(first.position.file):\(first.position.line):\(first.position.column): error: "))
    }

    @Test("every fixture file has an expectation, and there are at least 25")
    func everyFixtureCovered() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(fixtures)/invalid").filter { $0.hasSuffix(".yaml") }
        #expect(Set(files) == Set(malformed.map(\.file)))
        #expect(malformed.count >= 25)
    }

    @Test("problems in one file are all reported, in file order")
    func severalProblems() throws {
        let dir = try TempDir()
        let path = try dir.write("many.yaml", """
        name: many
        version: "1"
        base: {oci: scratch}
        steps:
          - name: a
            runn: "true"
          - name: b
            fetch: {url: "https://example.org/x", sha256: "abc", dest: /x}
        ami:
          spot: perhaps
        """)
        let error = try #require(loadError(path))
        #expect(error.diagnostics.map(\.position.line) == [6, 5, 8, 10])
    }

    @Test("an unknown --param is an error naming the declared parameters")
    func unknownOverride() throws {
        let error = try #require(loadError("\(repositoryRoot)/recipes/examples/notebook.yaml", overrides: ["cours": "x"]))
        #expect(error.diagnostics[0].message.contains("no parameter 'cours'"))
        #expect(error.diagnostics[0].hint?.contains("course") == true)
    }

    @Test("a file that is not UTF-8 is reported, not crashed on")
    func notUTF8() throws {
        let dir = try TempDir()
        let path = dir.path + "/latin1.yaml"
        _ = FileManager.default.createFile(atPath: path, contents: Data([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xe9, 0xff, 0x0a]))
        let error = try #require(loadError(path))
        #expect(error.diagnostics[0].message.contains("UTF-8"))
    }

    @Test("a missing recipe file is reported with its path")
    func missingFile() throws {
        let error = try #require(loadError("/nonexistent/recipe.yaml"))
        #expect(error.diagnostics[0].position.file == "/nonexistent/recipe.yaml")
        #expect(error.diagnostics[0].message.contains("cannot read"))
    }
}

import Foundation
import Testing
import KilnArchive
import KilnTestSupport
@testable import Recipe

/// Every recipe in the repository (standard recipes and examples).
func repositoryRecipes() -> [String] {
    let dir = "\(repositoryRoot)/recipes"
    return (FileManager.default.subpaths(atPath: dir) ?? [])
        .filter { $0.hasSuffix(".yaml") }.sorted().map { "\(dir)/\($0)" }
}

func render(_ path: String, buildID: String = "b-123", logURL: String? = nil) throws -> String {
    let recipe = try RecipeLoader().load(path)
    return try UserDataRenderer.render(recipe, hash: try RecipeHash.compute(recipe),
                                       context: InstanceContext(buildID: buildID, logURL: logURL, kilnVersion: "test"))
}

@Suite("AMI user-data")
struct UserDataTests {
    @Test("every repository recipe with an AMI base renders a script that passes bash -n and shellcheck",
          arguments: repositoryRecipes())
    func lint(_ path: String) throws {
        let recipe = try RecipeLoader().load(path)
        guard recipe.base.ami != nil else { return }
        let script = try render(path)
        let dir = try TempDir()
        let file = try dir.write("user-data.sh", script)
        let bash = try run("/bin/bash", ["-n", file])
        #expect(bash.status == 0, "bash -n: \(bash.output)")
        guard let shellcheck = requireTool("shellcheck", package: "shellcheck") else { return }
        let check = try run(shellcheck, ["--shell=bash", "--severity=style", file])
        #expect(check.status == 0, "shellcheck:\n\(check.output)")
        // Each run step's own script is valid bash too.
        for step in recipe.steps(for: .ami) {
            if case .run(let run) = step.action {
                let stepFile = try dir.write("step.sh", run.script)
                let result = try runProgram("/bin/bash", ["-n", stepFile])
                #expect(result.status == 0, "\(step.id): \(result.output)")
            }
        }
    }

    @Test("the script is strict, framed by markers, and stops at the first failure naming the step")
    func structure() throws {
        let script = try render("\(repositoryRoot)/recipes/examples/notebook.yaml")
        #expect(script.hasPrefix("#!/bin/bash\n"))
        #expect(script.contains("set -Eeuo pipefail"))
        #expect(script.contains("readonly KILN_BUILD_ID=b-123"))
        #expect(script.contains("kiln_marker \"step-begin $id\""))
        #expect(script.contains("kiln_fail \"$id\" \"$rc\" \"$seconds\""))
        // Steps run in order, each stopping the run on failure; tests come after every step.
        let calls = script.split(separator: "\n").filter { $0.hasPrefix("  kiln_step ") }.map(String.init)
        #expect(calls.count == 15)  // 10 steps (env steps run inline) and 5 tests
        #expect(calls.allSatisfy { $0.hasSuffix("|| return") })
        #expect(calls.first?.contains("tools/tools") == true)
        #expect(calls.firstIndex { $0.contains("test:") } == 10)
        // Target limits: the ami-only step is in, the oci-only step is out.
        #expect(script.contains("tools/cloud-only"))
        #expect(!script.contains("tools/container-only"))
        // Parameters were substituted with the child's override.
        #expect(script.contains("echo \"course=stat102\" > /etc/kiln-course"))
        // A dead-man timer at the recipe's timeout.
        #expect(script.contains("readonly KILN_TIMEOUT_MINUTES=45"))
        #expect(script.contains("shutdown -P \"+${KILN_TIMEOUT_MINUTES}\""))
    }

    @Test("the image is cleaned for students before power-off, only on success")
    func cleanImage() throws {
        let script = try render("\(repositoryRoot)/recipes/examples/tools.yaml")
        let clean = try #require(script.range(of: "kiln_clean_image() {")).upperBound
        let body = String(script[clean...].prefix(while: { $0 != "}" }))
        for required in ["cloud-init clean --logs --seed", "rm -f /etc/ssh/ssh_host_*", "truncate -s 0 /etc/machine-id",
                         "/var/lib/dbus/machine-id", ".bash_history", "unset HISTFILE", "apt-get clean",
                         "/var/lib/apt/lists/*", "rm -rf /tmp/*", "/var/tmp/*",
                         "rm -rf \"$KILN_DIR\" \"$KILN_LOG\"", "/var/lib/cloud/instance", "KILN_LOG_URL=''"] {
            #expect(body.contains(required), "clean-up lacks: \(required)")
        }
        // Cleaning happens on success only, after the uploads, and before power-off.
        let success = try #require(script.range(of: "if [ \"$kiln_status\" -eq 0 ] && ! kiln_clean_image; then"))
        let logUpload = try #require(script.range(of: "kiln_upload \"$KILN_LOG\" \"$KILN_LOG_URL\""))
        let resultUpload = try #require(script.range(of: "kiln_upload \"$KILN_RESULT\" \"$KILN_RESULT_URL\""))
        let off = try #require(script.range(of: "poweroff || shutdown -P now"))
        // The log goes up first (cleaning deletes it), the result after cleaning (which can fail the build).
        #expect(logUpload.lowerBound < success.lowerBound)
        #expect(success.lowerBound < resultUpload.lowerBound && resultUpload.lowerBound < off.lowerBound)
        #expect(script.contains("if [ \"$kiln_status\" -eq 0 ] && ! kiln_clean_image; then"))
    }

    @Test("presigned URLs are quoted, and never echoed into the log")
    func urls() throws {
        let url = "https://bucket.s3.amazonaws.com/logs/b-123.log?X-Amz-Signature=abc&X-Amz-Credential=AKIDEXAMPLE%2F20261121"
        let script = try render("\(repositoryRoot)/recipes/examples/tools.yaml", logURL: url)
        #expect(script.contains("KILN_LOG_URL='\(url)'"))
        #expect(!script.contains("echo \"$KILN_LOG_URL") && !script.contains("set -x"))
    }

    @Test("user-data over 16 KB is sent gzip-compressed; too large even compressed is a clear error")
    func sizeLimit() throws {
        let dir = try TempDir()
        // Compressible: a long but repetitive script.
        let lines = (0..<2000).map { "echo line \($0 % 10)" }.joined(separator: "\n")
        let big = try dir.write("big.yaml", "name: big\nversion: \"1\"\nbase: {ami: {ssm: /x}}\nsteps:\n  - name: s\n    run: |\n"
                                + lines.split(separator: "\n").map { "      \($0)" }.joined(separator: "\n") + "\n")
        let script = try render(big)
        #expect(script.utf8.count > UserDataRenderer.ec2Limit)
        let payload = try UserDataRenderer.payload(script)
        #expect(payload.compressed && payload.bytes.count <= UserDataRenderer.ec2Limit)
        #expect(Array(payload.bytes.prefix(2)) == [0x1f, 0x8b])
        #expect(try Gzip.decompress(payload.bytes) == Array(script.utf8))

        // Incompressible: a large random file embedded through `files`.
        var random = SystemRandomNumberGenerator()
        let noise = Data((0..<40_000).map { _ in UInt8.random(in: 0...255, using: &random) })
        #expect(FileManager.default.createFile(atPath: dir.path + "/noise.bin", contents: noise))
        let huge = try dir.write("huge.yaml", "name: huge\nversion: \"1\"\nbase: {ami: {ssm: /x}}\nsteps:\n  - name: f\n    files: [{src: noise.bin, dest: /opt/noise.bin}]\n")
        #expect(throws: RecipeError.self) { try UserDataRenderer.payload(try render(huge)) }
        do {
            _ = try UserDataRenderer.payload(try render(huge))
        } catch let error as RecipeError {
            #expect(error.description.contains("over EC2's 16384-byte limit"))
            #expect(error.diagnostics[0].hint?.contains("fetch") == true)
        }
    }

    @Test("a user script containing the heredoc delimiter is still embedded intact")
    func delimiterCollision() throws {
        let dir = try TempDir()
        let path = try dir.write("d.yaml", "name: d\nversion: \"1\"\nbase: {ami: {ssm: /x}}\nsteps:\n  - name: s\n    run: |\n      cat <<KILN_STEP_01_EOF\n      hi\n      KILN_STEP_01_EOF\n")
        let script = try render(path)
        #expect(script.contains("<<'KILN_STEP_01_EOF_2'"))
        let file = try dir.write("ud.sh", script)
        #expect(try run("/bin/bash", ["-n", file]).status == 0)
    }
}

@Suite("Shell quoting")
struct ShellQuoteTests {
    static let words = ["plain", "with space", "it's", "$HOME", "`cmd`", "a\"b", "new\nline", "", "ünï ✓", "\\back"]

    @Test("quoted words read back exactly through bash", arguments: words)
    func roundTrip(_ word: String) throws {
        let result = try run("/bin/bash", ["-c", "printf '%s' \(Shell.quote(word))"])
        #expect(result.output == word)
    }

    struct EnvCase: Sendable {
        var value: String
        var expected: String
    }

    static let envCases: [EnvCase] = [
        EnvCase(value: "/opt/bin:$PATH", expected: "/opt/bin:/usr/bin"),
        EnvCase(value: "${HOME}/x", expected: "/home/k/x"),
        EnvCase(value: "$UNSET_VAR-end", expected: "-end"),
        EnvCase(value: "cost $5 `date` \"q\" \\n $(id)", expected: "cost $5 `date` \"q\" \\n $(id)"),
        EnvCase(value: "${HOME:-x}", expected: "${HOME:-x}"),
    ]

    @Test("env values expand $VAR and ${VAR} and nothing else", arguments: envCases)
    func envExpansion(_ c: EnvCase) throws {
        let script = "set -u; PATH=/usr/bin; HOME=/home/k; v=\(Shell.quoteExpandingVariables(c.value)); printf '%s' \"$v\""
        let result = try run("/bin/bash", ["-c", script])
        #expect(result.status == 0)
        #expect(result.output == c.expected)
    }
}

import ArgumentParser
import Foundation
import KilnTestSupport
import Testing
@testable import KilnCommands

/// ci/kiln.yml, parsed by Python's YAML loader (PyYAML) and handed over as JSON.
private func loadWorkflow() throws -> [String: Any] {
    let path = repositoryRoot + "/ci/kiln.yml"
    guard let python = requireProgram("python3", install: "apt-get install python3 python3-yaml") else {
        throw TestSupportError("python3 is missing")
    }
    let script = """
        import json, sys, yaml
        print(json.dumps(yaml.safe_load(open(sys.argv[1])), default=str))
        """
    let (status, output) = try runProgram(python, ["-c", script, path])
    guard status == 0 else { throw TestSupportError("ci/kiln.yml is not valid YAML (or PyYAML is missing: pip install pyyaml):\n\(output)") }
    guard let workflow = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
        throw TestSupportError("ci/kiln.yml is not a mapping")
    }
    return workflow
}

/// Every `run:` script of every job's steps, with the job's name.
private func runScripts(_ workflow: [String: Any]) -> [(job: String, script: String)] {
    let jobs = workflow["jobs"] as? [String: Any] ?? [:]
    return jobs.sorted { $0.key < $1.key }.flatMap { name, job -> [(job: String, script: String)] in
        let steps = (job as? [String: Any])?["steps"] as? [[String: Any]] ?? []
        return steps.compactMap { $0["run"] as? String }.map { (name, $0) }
    }
}

/// `kiln SUBCOMMAND --option …` invocations in a shell script (continuation lines joined, comments dropped).
func kilnInvocations(in script: String) throws -> [(subcommand: String, options: [String])] {
    let joined = script.replacingOccurrences(of: "\\\n", with: " ")
    let lines = joined.split(separator: "\n").map { line in
        line.trimmingCharacters(in: .whitespaces).hasPrefix("#") ? "" : String(line)
    }
    let regex = try NSRegularExpression(pattern: #"(?:^|[\s;&|(])(?:\./|/\S*/)?kiln\s+([a-z][a-z-]*)([^|;&\n]*)"#)
    var found: [(String, [String])] = []
    for line in lines {
        let range = NSRange(line.startIndex..., in: line)
        for match in regex.matches(in: line, range: range) {
            guard let sub = Range(match.range(at: 1), in: line), let rest = Range(match.range(at: 2), in: line) else { continue }
            let options = line[rest].split(whereSeparator: \.isWhitespace)
                .filter { $0.hasPrefix("--") }
                .map { String($0.split(separator: "=").first ?? $0) }
            found.append((String(line[sub]), options))
        }
    }
    return found
}

@Suite("ci/kiln.yml")
struct CIWorkflowTests {
    @Test("is valid YAML and runs on pushes to recipes/**, weekly, and by hand")
    func triggers() throws {
        let workflow = try loadWorkflow()
        // YAML 1.1 reads the key `on` as true.
        let on = try #require((workflow["on"] ?? workflow["true"] ?? workflow["True"]) as? [String: Any])
        let push = try #require(on["push"] as? [String: Any])
        #expect(push["paths"] as? [String] == ["recipes/**"])
        let schedule = try #require(on["schedule"] as? [[String: Any]])
        let cron = try #require(schedule.first?["cron"] as? String)
        let fields = cron.split(separator: " ")
        #expect(fields.count == 5)
        // Weekly: a fixed minute and hour, any day of the month and month, one day of the week.
        #expect(fields.count == 5 && fields[2] == "*" && fields[3] == "*" && Int(fields[4]).map { (0...6).contains($0) } == true,
                "the schedule \(cron) is not weekly")
        #expect(on.keys.contains("workflow_dispatch"))
    }

    @Test("asks for an OIDC token (id-token: write) wherever it assumes the AWS role")
    func permissions() throws {
        let workflow = try loadWorkflow()
        let top = try #require(workflow["permissions"] as? [String: String])
        #expect(top["id-token"] == "write")
        #expect(top["contents"] == "read")
        let jobs = try #require(workflow["jobs"] as? [String: Any])
        var assuming = 0
        for (name, value) in jobs {
            let job = try #require(value as? [String: Any])
            let steps = job["steps"] as? [[String: Any]] ?? []
            let assumes = steps.contains { step in
                (step["uses"] as? String)?.hasPrefix("aws-actions/configure-aws-credentials@") == true
                    && ((step["with"] as? [String: Any])?["role-to-assume"] as? String)?.contains("KILN_ROLE_ARN") == true
            }
            if assumes { assuming += 1 }
            // Job-level permissions replace the workflow's: they must keep id-token.
            if let permissions = job["permissions"] as? [String: String], assumes {
                #expect(permissions["id-token"] == "write", "job \(name) assumes the role without id-token: write")
            }
        }
        #expect(assuming >= 3, "plan, build and publish assume the role")
        let publish = try #require(jobs["publish"] as? [String: Any])
        let permissions = try #require(publish["permissions"] as? [String: String])
        #expect(permissions["contents"] == "write" && permissions["pull-requests"] == "write")
        let uses = (publish["steps"] as? [[String: Any]] ?? []).compactMap { $0["uses"] as? String }
        #expect(uses.contains { $0.hasPrefix("peter-evans/create-pull-request@") })
    }

    @Test("every kiln subcommand and option it runs exists in kiln")
    func commandsExist() throws {
        let workflow = try loadWorkflow()
        // Read at run time, so commands other work adds (publish, gc) count once they are registered.
        let subcommands = Dictionary(uniqueKeysWithValues: Kiln.configuration.subcommands.map { ($0._commandName, $0) })
        var called: Set<String> = []
        for (job, script) in runScripts(workflow) {
            for (name, options) in try kilnInvocations(in: script) {
                called.insert(name)
                let command = try #require(subcommands[name], "job \(job) runs `kiln \(name)`, which is not a subcommand of kiln (\(subcommands.keys.sorted()))")
                let help = command.helpMessage(columns: 1000)
                for option in options {
                    #expect(help.contains(option), "job \(job): `kiln \(name)` has no option \(option)")
                }
            }
        }
        #expect(called.isSuperset(of: ["plan", "build", "publish", "doctor"]), "the workflow runs \(called.sorted())")
        let scripts = runScripts(workflow).map(\.script).joined(separator: "\n")
        #expect(scripts.contains("--target ami") && scripts.contains("--target oci"))
        #expect(scripts.contains("kiln plan --json"))
    }

    @Test("the build matrix is kiln plan --json's, and uses only keys its items have")
    func matrixKeys() throws {
        let text = try String(contentsOfFile: repositoryRoot + "/ci/kiln.yml", encoding: .utf8)
        #expect(text.contains("fromJSON(needs.plan.outputs.matrix)"))
        let regex = try NSRegularExpression(pattern: #"\$\{\{[^}]*\bmatrix\.([a-z]+)\b"#)
        let used = Set(regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        })
        #expect(used.isSuperset(of: ["recipe", "target", "name"]))

        let dir = try TempDir()
        try dir.write("recipes/one.yaml", "name: one\nversion: \"1\"\nbase: {oci: scratch}\n")
        let (code, io) = kiln(["plan", "--json", "recipes"], in: dir.path)
        #expect(code == 0, "\(io.err)")
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(io.out.utf8)) as? [String: Any])
        let items = try #require((plan["matrix"] as? [String: Any])?["include"] as? [[String: Any]])
        let item = try #require(items.first)
        #expect(Set(item.keys).isSuperset(of: used), "the workflow uses matrix keys \(used.sorted()); plan gives \(item.keys.sorted())")
        #expect(item["target"] as? String == "oci")
    }

    @Test("invocations are found through ./, sudo, continuation lines and pipes; comments are not", arguments: [
        ("./kiln plan --json \"${since[@]}\" recipes > plan.json", ["plan"]),
        ("sudo -E ./kiln build --target oci \\\n  --push \"$r\" x.yaml | tee out.json", ["build"]),
        ("# kiln gc is not run here\necho kiln-plan-1", []),
        ("kiln doctor && kiln publish --dry-run", ["doctor", "publish"]),
    ])
    func invocationParsing(script: String, expected: [String]) throws {
        #expect(try kilnInvocations(in: script).map(\.subcommand) == expected)
    }
}

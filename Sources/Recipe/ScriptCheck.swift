import Foundation

/// Checks the shell syntax of every `run` script and test with `bash -n`, before anything is
/// built, and maps bash's line numbers back to the recipe file.
public enum ScriptCheck {
    /// Syntax errors as diagnostics; empty when every script parses (or when bash is not at `bash`).
    public static func syntaxErrors(_ recipe: ResolvedRecipe, bash: String = "/bin/bash") -> [Diagnostic] {
        guard FileManager.default.isExecutableFile(atPath: bash) else { return [] }
        var scripts: [(String, SourcePosition, String)] = []
        for step in recipe.steps {
            if case .run(let run) = step.action { scripts.append((run.script, run.scriptStart, "step '\(step.id)'")) }
        }
        for test in recipe.tests { scripts.append((test.run, test.scriptStart, "test '\(test.recipe)/\(test.name)'")) }
        var diagnostics: [Diagnostic] = []
        for (script, start, what) in scripts {
            guard let message = check(script, bash: bash) else { continue }
            var position = start
            // bash -n reports "bash: line N: message"; N counts from the script's first line
            // (one past the last line for an unexpected end of file).
            if let range = message.range(of: "line "), let n = Int(message[range.upperBound...].prefix(while: \.isNumber)) {
                let lines = script.split(separator: "\n", omittingEmptySubsequences: false).count
                position.line += min(n, max(1, lines - (script.hasSuffix("\n") ? 1 : 0))) - 1
            }
            let text = message.split(separator: "\n").map { line in
                line.replacingOccurrences(of: #"^.*?line \d+: "#, with: "", options: .regularExpression)
            }.joined(separator: "; ")
            diagnostics.append(Diagnostic(position, "shell syntax error in \(what): \(text)",
                                          hint: "kiln runs scripts with bash; check quotes and if/fi, do/done pairs"))
        }
        return diagnostics
    }

    /// bash's complaint about a script, or nil when it parses.
    static func check(_ script: String, bash: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bash)
        process.arguments = ["-n"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = output
        do { try process.run() } catch { return nil }
        input.fileHandleForWriting.write(Data(script.utf8))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus != 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: [" ", "\n"])
    }
}

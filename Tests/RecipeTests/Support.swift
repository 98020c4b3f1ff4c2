import Foundation
import Testing
import KilnTestSupport
@testable import Recipe

/// The fixtures directory beside this file.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

/// The repository root (for the recipes under recipes/).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// The shared temporary directory (KilnTestSupport).
typealias TempDir = TempDirectory

/// Loads a recipe and returns its error, failing the test when it loads.
func loadError(_ path: String, overrides: [String: String] = [:],
               sourceLocation: SourceLocation = #_sourceLocation) -> RecipeError? {
    do {
        _ = try RecipeLoader(overrides: overrides).load(path)
        Issue.record("expected \(path) to be rejected", sourceLocation: sourceLocation)
        return nil
    } catch let error as RecipeError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Runs a program and returns its exit status and combined output.
func run(_ executable: String, _ arguments: [String], stdin: String? = nil) throws -> (status: Int32, output: String) {
    try runProgram(executable, arguments, stdin: stdin)
}

/// The path of a program on PATH, or a recorded failure naming the Debian package to install.
func requireTool(_ name: String, package: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    requireProgram(name, install: "apt-get install \(package)", sourceLocation: sourceLocation)
}

import Foundation
import Testing

/// A fresh temporary directory, removed when `body` returns.
@discardableResult
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-archive-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// The result of running a tool.
struct ToolResult {
    var status: Int32
    var stdout: [UInt8]
    var stderr: String
    var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs `executable` with `arguments`, feeding `stdin`, and collects its output (through temporary
/// files, so large outputs cannot deadlock). Fails with the package to install when the tool is missing.
func run(_ executable: String, _ arguments: [String], stdin: [UInt8] = [], package: String) throws -> ToolResult {
    try #require(FileManager.default.isExecutableFile(atPath: executable),
                 "\(executable) is missing: install the \(package) package")
    return try withTemporaryDirectory { dir in
        let inPath = dir + "/stdin", outPath = dir + "/stdout", errPath = dir + "/stderr"
        try Data(stdin).write(to: URL(fileURLWithPath: inPath))
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        process.waitUntilExit()
        return ToolResult(status: process.terminationStatus,
                          stdout: [UInt8](try Data(contentsOf: URL(fileURLWithPath: outPath))),
                          stderr: String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self))
    }
}

/// Deterministic bytes that do not repeat in short blocks.
func pseudoRandomBytes(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

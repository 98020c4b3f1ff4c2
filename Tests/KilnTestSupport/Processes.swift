import Foundation
import Testing

/// Runs a program to completion and returns its exit status and combined output.
public func runProgram(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       stdin: String? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let input = Pipe()
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try process.run()
    if let stdin {
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The path of a program on PATH, or nil after recording a failure that names what to install.
public func requireProgram(_ name: String, install: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    Issue.record("'\(name)' is not installed: \(install)", sourceLocation: sourceLocation)
    return nil
}

/// A free TCP port on 127.0.0.1 (bound and released; the caller starts its server on it at once).
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSupportError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw TestSupportError("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:port.
public func isListening(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// A failure of the test harness itself.
public struct TestSupportError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}

/// A server process a test started; stopped with SIGKILL when the value goes away (children of
/// `swift test` inherit a blocked SIGTERM, so a polite terminate() would hang).
public final class ServerProcess: @unchecked Sendable {
    /// The process.
    public let process: Process
    /// The port it listens on.
    public let port: Int
    /// Its output, for failure messages.
    public let logPath: String

    /// Starts `executable` and waits (polling, up to `timeout`) until it accepts connections on `port`.
    public init(_ executable: String, _ arguments: [String], port: Int, environment: [String: String] = [:],
                timeout: TimeInterval = 30) throws {
        self.port = port
        logPath = NSTemporaryDirectory() + "kiln-server-\(port)-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while !isListening(port: port) {
            guard process.isRunning, Date() < deadline else {
                let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                kill(process.processIdentifier, SIGKILL)
                throw TestSupportError("\(executable) did not start listening on port \(port):\n\(output.suffix(2000))")
            }
            usleep(50_000)
        }
    }

    /// Stops the server now.
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

/// A server that picks its own port and prints it on its first line of output (the loopback Python
/// servers of the tests); stopped with SIGKILL when the value goes away.
public final class PortPrintingServer: @unchecked Sendable {
    /// The process.
    public let process = Process()
    /// The port it printed.
    public let port: Int

    /// Starts `python3 script arguments…` and reads its port.
    public init(python script: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while let byte = try pipe.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line += byte
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            kill(process.processIdentifier, SIGKILL)
            throw TestSupportError("\((script as NSString).lastPathComponent) did not start (is python3 installed?)")
        }
        self.port = port
    }

    /// `http://127.0.0.1:PORT`.
    public var url: String { "http://127.0.0.1:\(port)" }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

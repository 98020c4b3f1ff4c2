import Foundation
import ArgumentParser
import Recipe

/// What a command needs from the outside world, injected so that tests run commands in-process:
/// where output goes, the environment, and the working directory.
public final class CommandContext: @unchecked Sendable {
    /// Writes to standard output.
    public let out: @Sendable (String) -> Void
    /// Writes to standard error.
    public let err: @Sendable (String) -> Void
    /// The process environment.
    public let environment: [String: String]
    /// The directory relative paths are taken from.
    public let workingDirectory: String
    /// Whether builds take over SIGINT and SIGTERM (the real process); in-process tests turn it off, since
    /// signals are process-wide and other tests raise them.
    public let trapsSignals: Bool

    /// Creates a context.
    public init(out: @escaping @Sendable (String) -> Void, err: @escaping @Sendable (String) -> Void,
                environment: [String: String], workingDirectory: String, trapsSignals: Bool = true) {
        self.out = out
        self.err = err
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.trapsSignals = trapsSignals
    }

    /// The real process: stdout, stderr, the environment and the current directory.
    public static var standard: CommandContext {
        CommandContext(
            out: { text in FileHandle.standardOutput.write(Data(text.utf8)) },
            err: { text in FileHandle.standardError.write(Data(text.utf8)) },
            environment: ProcessInfo.processInfo.environment,
            workingDirectory: FileManager.default.currentDirectoryPath)
    }

    /// A path made absolute against the working directory.
    func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : (workingDirectory as NSString).appendingPathComponent(path)
    }

    /// Prints a recipe error's diagnostics to stderr and returns the exit code for recipe problems.
    func report(_ error: RecipeError) -> ExitCode {
        err(error.description + "\n")
        return ExitCode(1)
    }
}

/// Options every subcommand accepts.
public struct GlobalOptions: ParsableArguments {
    /// The AWS region to build in (default: AWS_REGION, AWS_DEFAULT_REGION, or the profile's).
    @Option(help: "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's region).")
    public var region: String?

    /// The AWS shared-config profile.
    @Option(help: "AWS profile from ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE or 'default').")
    public var profile: String?

    /// An endpoint URL for every AWS service (e.g. a local moto server).
    @Option(name: .customLong("endpoint-url"), help: "Send every AWS request to this URL (e.g. a local test server).")
    public var endpointURL: String?

    /// Machine-readable output.
    @Flag(help: "Print machine-readable JSON on stdout.")
    public var json = false

    /// More detail on stderr.
    @Flag(name: [.short, .long], help: "Print more detail about what kiln is doing.")
    public var verbose = false

    /// Creates the options (argument parsing fills them in).
    public init() {}

    /// Checks values that can be checked without AWS.
    public func validate() throws {
        if let endpointURL, !(endpointURL.hasPrefix("http://") || endpointURL.hasPrefix("https://")) {
            throw ValidationError("--endpoint-url must start with http:// or https://, got '\(endpointURL)'")
        }
        if let region, region.isEmpty || region.contains(" ") {
            throw ValidationError("--region must be a region name like us-east-1")
        }
    }
}

/// A command that runs against an injected context; `run()` uses the real process.
public protocol ContextCommand: ParsableCommand {
    /// Runs the command.
    func run(context: CommandContext) throws
}

extension ContextCommand {
    /// Runs with the real stdout, stderr and environment.
    public func run() throws {
        try run(context: .standard)
    }
}

/// Parses `--param name=value` options.
func parseParams(_ values: [String]) throws -> [String: String] {
    var params: [String: String] = [:]
    for value in values {
        guard let eq = value.firstIndex(of: "="), eq != value.startIndex else {
            throw ValidationError("--param takes name=value, got '\(value)'")
        }
        params[String(value[..<eq])] = String(value[value.index(after: eq)...])
    }
    return params
}

/// Encodes a value as pretty, sorted JSON text with a trailing newline.
func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
}

/// Finds recipe files: files as given, directories searched recursively for `*.yaml` / `*.yml`.
func recipePaths(_ paths: [String], context: CommandContext) throws -> [String] {
    var found: [String] = []
    let fm = FileManager.default
    for path in paths {
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: context.absolute(path), isDirectory: &isDirectory) else {
            throw ValidationError("no such file or directory: \(path)")
        }
        if !isDirectory.boolValue {
            found.append(path)
            continue
        }
        let children = (fm.subpaths(atPath: context.absolute(path)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .filter { !$0.split(separator: "/").contains { $0.hasPrefix(".") } }
            .sorted()
        found += children.map { path.hasSuffix("/") ? path + $0 : path + "/" + $0 }
    }
    return found
}

/// GlobalOptions holds only strings and flags once parsed; closures that make AWS clients later
/// (a registry base pulled mid-build) capture it.
extension GlobalOptions: @unchecked Sendable {}

/// The one error type of the OCI pipeline: what failed, and what to do about it.
public struct OCIBuildError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        case noBase(recipe: String)
        case stepFailed(step: String, status: String, lastLines: [String])
        case testFailed(test: String, status: String, lastLines: [String])
        case download(url: String, reason: String)
        case checksum(url: String, expected: String, actual: String)
        case base(String)
        case invalid(String)
        case io(operation: String, path: String, reason: String)
    }

    private let code: Code
    private init(_ code: Code) { self.code = code }

    static func noBase(recipe: String) -> OCIBuildError { .init(.noBase(recipe: recipe)) }
    static func stepFailed(_ step: String, status: String, lastLines: [String]) -> OCIBuildError {
        .init(.stepFailed(step: step, status: status, lastLines: lastLines))
    }
    static func testFailed(_ test: String, status: String, lastLines: [String]) -> OCIBuildError {
        .init(.testFailed(test: test, status: status, lastLines: lastLines))
    }
    static func download(_ url: String, _ reason: String) -> OCIBuildError { .init(.download(url: url, reason: reason)) }
    static func checksum(_ url: String, expected: String, actual: String) -> OCIBuildError {
        .init(.checksum(url: url, expected: expected, actual: actual))
    }
    static func base(_ text: String) -> OCIBuildError { .init(.base(text)) }
    static func invalid(_ text: String) -> OCIBuildError { .init(.invalid(text)) }
    static func io(_ operation: String, _ path: String, _ reason: String) -> OCIBuildError {
        .init(.io(operation: operation, path: path, reason: reason))
    }

    /// True when a `run`, `apt` or `pip` step (or a test) exited non-zero: the recipe's fault, not kiln's.
    public var isStepFailure: Bool {
        switch code {
        case .stepFailed, .testFailed: return true
        default: return false
        }
    }

    /// A sentence for people: what failed and what to do.
    public var description: String {
        switch code {
        case let .noBase(recipe):
            return "recipe '\(recipe)' has no OCI base; add 'base: {oci: …}' (image, layout, debootstrap or scratch)"
        case let .stepFailed(step, status, lines):
            return "step \(step) failed (\(status)); its output is above"
                + (lines.isEmpty ? "" : ", ending:\n" + lines.map { "  | " + $0 }.joined(separator: "\n"))
                + "\nfix the step and build again: the steps before it are cached"
        case let .testFailed(test, status, lines):
            return "test '\(test)' failed in the finished image (\(status)); no image was written"
                + (lines.isEmpty ? "" : ", its output ended:\n" + lines.map { "  | " + $0 }.joined(separator: "\n"))
        case let .download(url, reason):
            return "download of \(url) failed: \(reason); check the URL and the network"
        case let .checksum(url, expected, actual):
            return "\(url) has sha256 \(actual), but the recipe expects \(expected); "
                + "if the new file is trusted, update the recipe's sha256"
        case let .base(text), let .invalid(text):
            return text
        case let .io(operation, path, reason):
            return "\(operation) '\(path)' failed: \(reason); check the path, its permissions and free disk space"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one error type of Sandbox: what could not be set up or run, the system's message, and what to do.
public struct SandboxError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        /// The command is malformed (empty argv, relative paths, characters overlayfs cannot take…).
        case invalidCommand(String)
        /// A system call made by kiln itself (before or after the sandbox) failed.
        case system(function: String, errno: Int32, path: String)
        /// A setup step inside the sandbox failed (reported by the trampoline through its status pipe).
        case setup(step: String, errno: Int32)
        /// argv[0] was not found inside the root.
        case commandNotFound(name: String, searched: [String])
        /// The sandbox's init died without reporting the command's end.
        case initDied(String)
        /// This host cannot run the sandbox.
        case unsupported([String])
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    /// A sentence for people: what failed, the system's message, and what to do.
    public var description: String {
        switch code {
        case let .invalidCommand(text):
            return "invalid sandbox command: \(text)"
        case let .system(function, err, path):
            return "\(function)(\"\(path)\") failed: \(String(cString: strerror(err))); check the path and its permissions"
        case let .setup(step, err):
            return "sandbox setup failed: \(step): \(String(cString: strerror(err))); "
                + "run `kiln doctor` to see what this host lacks (namespaces, overlayfs, permissions)"
        case let .commandNotFound(name, searched):
            let places = name.contains("/") ? "" : " (searched \(searched.joined(separator: ":")))"
            return "command not found in the sandbox: '\(name)'\(places); install it in an earlier step "
                + "or use its absolute path"
        case let .initDied(text):
            return "the sandbox's init \(text) before the command ended; was kiln's sandbox killed?"
        case let .unsupported(problems):
            return "this host cannot run kiln's sandbox: " + problems.joined(separator: "; ")
        }
    }

    static func invalidCommand(_ text: String) -> SandboxError { .init(.invalidCommand(text)) }

    static func system(_ function: String, errno: Int32, path: String) -> SandboxError {
        .init(.system(function: function, errno: errno, path: path))
    }

    static func setup(step: String, errno: Int32) -> SandboxError { .init(.setup(step: step, errno: errno)) }

    static func commandNotFound(_ name: String, searched: [String]) -> SandboxError {
        .init(.commandNotFound(name: name, searched: searched))
    }

    static func initDied(_ text: String) -> SandboxError { .init(.initDied(text)) }

    static func unsupported(_ problems: [String]) -> SandboxError { .init(.unsupported(problems)) }
}

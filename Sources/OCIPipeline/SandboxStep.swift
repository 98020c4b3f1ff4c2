import Foundation
import Pipeline
import Sandbox

/// One script run in the namespace sandbox over the build's root, its changes captured by an overlay.
struct SandboxStep {
    /// How a run ended.
    struct Outcome {
        /// nil on success; else "exit status N" or "killed by signal N".
        var failure: String?
        /// The overlay upper directory holding the script's changes.
        var upper: String?
        /// The last lines the script printed, for the error message.
        var lastLines: [String]
    }

    /// Runs `script` (bash -Eeuo pipefail when the root has bash, else sh -eu) as root or `user`.
    static func run(script: String, root: RootFS, env: [String], user: String?, workdir: String?, capture: String,
                    context: PipelineContext, output: @escaping @Sendable (String) -> Void) throws -> Outcome {
        var environment = env
        var uid: UInt32 = 0, gid: UInt32 = 0, home = "/root", name = "root"
        if let user {
            let resolved = try root.user(user)
            (uid, gid, home, name) = (resolved.uid, resolved.gid, resolved.home, resolved.name)
        }
        // A login-like environment: scripts written for a shell session expect USER and LOGNAME.
        for variable in ["USER", "LOGNAME"] where !environment.contains(where: { $0.hasPrefix(variable + "=") }) {
            environment.append("\(variable)=\(name)")
        }
        if !environment.contains(where: { $0.hasPrefix("PATH=") }) { environment.append("PATH=\(RootFS.defaultPath)") }
        environment = RootFS.setting("HOME", home, in: environment)
        let argv: [String]
        if root.hasBash {
            argv = ["/bin/bash", "-c", script]
        } else {
            // busybox and other minimal roots: sh has no -E and maybe no pipefail.
            let body = script.hasPrefix("set -Eeuo pipefail\n") ? String(script.dropFirst("set -Eeuo pipefail\n".count)) : script
            argv = ["/bin/sh", "-euc", body]
        }
        try? FileManager.default.removeItem(atPath: capture)
        try BuildCache.makeDirectory(capture)
        let tail = LineTail(limit: 20)
        let command = SandboxCommand(rootfs: root.path, argv: argv, environment: environment,
                                     workingDirectory: workdir ?? (user == nil ? "/" : home), uid: uid, gid: gid,
                                     hostname: "kiln", captureDirectory: capture)
        // Ctrl-C or SIGTERM (caught by the build's SignalTrap) stops the step at once.
        let result: SandboxResult
        do {
            result = try Sandbox.run(command, isCancelled: { context.isCancelled }) { line in
                tail.add(line)
                output(line)
            }
        } catch {
            try context.checkCancelled()  // a sandbox killed on Ctrl-C is a cancellation, not a failure
            throw error
        }
        try context.checkCancelled()
        let failure: String?
        if result.succeeded {
            failure = nil
        } else if let signal = result.signal {
            failure = "killed by signal \(signal)"
        } else {
            failure = "exit status \(result.exitStatus ?? -1)"
        }
        return Outcome(failure: failure, upper: result.upperDirectory, lastLines: tail.lines)
    }
}

/// The last few lines of a stream, kept for error messages.
final class LineTail: @unchecked Sendable {
    private let limit: Int
    private let lock = NSLock()
    private var buffer: [String] = []

    init(limit: Int) { self.limit = limit }

    func add(_ line: String) {
        lock.lock(); defer { lock.unlock() }
        buffer.append(line)
        if buffer.count > limit { buffer.removeFirst(buffer.count - limit) }
    }

    var lines: [String] {
        lock.lock(); defer { lock.unlock() }
        return buffer
    }
}

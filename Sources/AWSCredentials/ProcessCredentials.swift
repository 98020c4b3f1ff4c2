import Foundation
import SigV4
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `credential_process`: runs the profile's command and reads credentials from its standard output.
///
/// Spec: AWS SDKs and Tools Reference Guide, "Process credential provider"
/// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html). The command runs
/// through `/bin/sh -c` with the injected environment; it must exit 0 and print
/// `{"Version": 1, "AccessKeyId": …, "SecretAccessKey": …, "SessionToken": …, "Expiration": …}`
/// (the last two optional). Its output is never put in a message.
struct ProcessCredentials {
    var command: String
    var profile: String
    var environment: [String: String]
    var timeout: Duration = .seconds(60)

    func fetch(now: Date) throws -> Credentials {
        let result = try run()
        guard result.status == 0 else {
            var message = "the command exited with status \(result.status)"
            let stderr = String(decoding: result.stderr, as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if !stderr.isEmpty { message += " (standard error: \(stderr.prefix(300)))" }
            throw CredentialsError.process(profile: profile, message + "; run it by hand to see what is wrong")
        }
        let fail = { (message: String) in CredentialsError.process(profile: profile, message + expected) }
        let object = try CredentialsJSON.object(result.stdout, fail: fail)
        guard let version = object["Version"] as? Int, version == 1 else {
            throw fail("the JSON's Version must be 1")
        }
        let credentials = try CredentialsJSON.credentials(object, tokenField: "SessionToken",
                                                          source: "credential_process (profile \(profile))", fail: fail)
        if let expiration = credentials.expiration, expiration <= now {
            throw CredentialsError.process(profile: profile, "it returned credentials that expired at \(expiration)")
        }
        return credentials
    }

    private var expected: String {
        "; it must print {\"Version\": 1, \"AccessKeyId\": …, \"SecretAccessKey\": …, \"SessionToken\": …, \"Expiration\": …}"
    }

    /// Runs the command and collects both output streams. The child gets an empty signal mask and default
    /// signal handlers (a test runner's blocked SIGTERM is not inherited) and stays in kiln's process group,
    /// as in the SDKs, so a helper can still prompt on the terminal (an MFA code) and Ctrl-C reaches it.
    /// At `timeout` kiln stops reading, even if a grandchild still holds the pipe, and kills the child with
    /// SIGKILL.
    func run() throws -> (status: Int32, stdout: [UInt8], stderr: [UInt8]) {
        let child = try ChildProcess(arguments: ["/bin/sh", "-c", command], environment: environment,
                                     fail: { CredentialsError.process(profile: profile, $0) })
        let outcome = child.collect(timeout: timeout)
        if outcome.timedOut {
            throw CredentialsError.process(profile: profile, "the command did not finish within \(timeout) and was killed")
        }
        return (outcome.status, outcome.stdout, outcome.stderr)
    }
}

/// A child started with posix_spawn, its standard output and error on pipes.
private struct ChildProcess {
    /// The most of each stream kept; a credential document is a few KiB.
    static let outputCap = 1 << 20

    let pid: pid_t
    let stdoutFD: Int32
    let stderrFD: Int32

    init(arguments: [String], environment: [String: String], fail: (String) -> CredentialsError) throws {
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        guard pipe(&stdoutPipe) == 0 else { throw fail("pipe failed: \(String(cString: strerror(errno)))") }
        guard pipe(&stderrPipe) == 0 else {
            close(stdoutPipe[0])
            close(stdoutPipe[1])
            throw fail("pipe failed: \(String(cString: strerror(errno)))")
        }
        for fd in stdoutPipe + stderrPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }

        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        var attributes: posix_spawnattr_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard result == 0 else {
            close(stdoutPipe[0])
            close(stderrPipe[0])
            throw fail("cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        self.pid = pid
        stdoutFD = stdoutPipe[0]
        stderrFD = stderrPipe[0]
    }

    /// Reads both streams to their end and waits for the child, killing it at the deadline.
    func collect(timeout: Duration) -> (status: Int32, stdout: [UInt8], stderr: [UInt8], timedOut: Bool) {
        let deadline = ContinuousClock.now + timeout
        var output: [Int32: [UInt8]] = [stdoutFD: [], stderrFD: []]
        var open = [stdoutFD, stderrFD]
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                timedOut = true
                break
            }
            var descriptors = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), Int32(clamping: milliseconds(remaining) + 1))
            if ready < 0 && errno != EINTR { break }
            for descriptor in descriptors where descriptor.revents != 0 {
                let n = read(descriptor.fd, &buffer, buffer.count)
                if n > 0 {
                    let kept = max(0, min(n, Self.outputCap - (output[descriptor.fd]?.count ?? 0)))
                    output[descriptor.fd]?.append(contentsOf: buffer[0..<kept])
                } else if n == 0 || errno != EINTR {
                    open.removeAll { $0 == descriptor.fd }
                }
            }
        }
        close(stdoutFD)
        close(stderrFD)

        // The streams are closed; wait for the child itself, still bounded by the deadline.
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        var reaped = false
        while true {
            let waited = waitpid(pid, &status, timedOut ? 0 : WNOHANG)
            if waited == pid {
                reaped = true
                break
            }
            if waited < 0 {
                if errno == EINTR { continue }
                break  // someone else reaped it: its status is unknown
            }
            if ContinuousClock.now >= deadline {
                timedOut = true
                kill(pid, SIGKILL)
            } else {
                usleep(5_000)
            }
        }
        let exitStatus: Int32 = !reaped ? -1 : (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, output[stdoutFD] ?? [], output[stderrFD] ?? [], timedOut)
    }

    private func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}

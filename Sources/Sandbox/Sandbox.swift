#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSandbox

/// A command to run in the sandbox.
public struct SandboxCommand: Sendable {
    /// The PATH of the default environment (Debian's default for root).
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The root directory (left untouched when `captureDirectory` is set).
    public var rootfs: String
    /// The command; argv[0] is an absolute path inside the root, or a name searched on the PATH of
    /// `environment` (inside the root).
    public var argv: [String]
    /// The environment, "NAME=value"; by default a PATH and HOME=/root (no TERM).
    public var environment: [String]
    /// The working directory inside the root.
    public var workingDirectory: String
    /// The numeric user the command runs as inside the sandbox.
    public var uid: UInt32
    /// The numeric group the command runs as inside the sandbox (no supplementary groups).
    public var gid: UInt32
    /// The host name inside the sandbox (a UTS namespace of its own).
    public var hostname: String
    /// When set, the root is the lower layer of an overlay whose upper directory,
    /// `captureDirectory/upper`, receives the command's changes; the directory is created if missing,
    /// and `upper` must not exist or be empty.
    public var captureDirectory: String?

    /// A command with kiln's defaults: root user, "/" as working directory, host name "kiln".
    public init(rootfs: String, argv: [String],
                environment: [String] = ["PATH=\(SandboxCommand.defaultPath)", "HOME=/root"],
                workingDirectory: String = "/", uid: UInt32 = 0, gid: UInt32 = 0, hostname: String = "kiln",
                captureDirectory: String? = nil) {
        self.rootfs = rootfs
        self.argv = argv
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.uid = uid
        self.gid = gid
        self.hostname = hostname
        self.captureDirectory = captureDirectory
    }
}

/// How a sandboxed command ended.
public struct SandboxResult: Sendable, Hashable {
    /// The exit status; nil when the command was killed by a signal.
    public var exitStatus: Int32?
    /// The signal that killed the command, if one did.
    public var signal: Int32?
    /// `captureDirectory/upper` when capturing: only the command's file system changes, in overlayfs
    /// upper format (deletions as character devices 0/0, opaque directories by the
    /// `trusted.overlay.opaque` xattr, or `user.overlay.opaque` when rootless).
    public var upperDirectory: String?
    /// Whether the command exited with status 0.
    public var succeeded: Bool { exitStatus == 0 }

    /// Makes a result (for comparisons in tests).
    public init(exitStatus: Int32?, signal: Int32?, upperDirectory: String?) {
        self.exitStatus = exitStatus
        self.signal = signal
        self.upperDirectory = upperDirectory
    }
}

/// Runs commands in a Linux namespace sandbox: new mount, PID, UTS and IPC namespaces (and a user
/// namespace mapping the requested uid/gid to the caller when kiln does not run as root), the root
/// entered with pivot_root (chroot where the host's root cannot be pivoted), a fresh /proc, a /dev with
/// the host's null, zero, full, random, urandom and tty, the host's /etc/resolv.conf bound read-only,
/// and the host's network. The command keeps Docker's default capabilities except CAP_MKNOD (no
/// CAP_SYS_ADMIN, CAP_NET_ADMIN…: the bounding set is reduced, so root inside cannot mount, reconfigure
/// the shared host network or create device nodes), and /proc/sys and /proc/sysrq-trigger are read-only.
///
/// With a capture directory the root is the lower layer of an overlay (`redirect_dir=nofollow`,
/// `metacopy` and `index` off, so the upper directory is plain data): the root stays untouched and
/// `captureDirectory/upper` holds exactly the command's changes. Mount points the root lacks (/proc,
/// /dev, /etc/resolv.conf) come from a second lower layer, `captureDirectory/scaffold`, whose
/// directories copy the root's metadata, so they never land in the upper directory. Without a capture
/// directory the command changes the root itself, and missing mount points are created in it.
///
/// Rootless (kiln not root): the user namespace maps only the requested uid and gid, to the caller's own
/// ids, so a command that changes owners to other ids fails, files land in the upper directory owned by
/// the caller; whiteouts are still character devices 0/0, opaque directories carry `user.overlay.opaque`.
///
/// Cancellation: every process of the sandbox has PR_SET_PDEATHSIG(SIGKILL) tied to its parent, and
/// the sandbox's init is PID 1 of its PID namespace, so when kiln dies (SIGINT, SIGTERM, a crash) the
/// monitor dies, then init, and the kernel kills everything left in the namespace. `run` blocks the
/// calling thread until the command ends: the death signal is tied to that thread, which therefore
/// must not exit first (call `run` from a thread that waits for it, as it does).
public enum Sandbox {
    /// Runs the command; its stdout and stderr (merged) are delivered line by line to `onOutput` as they come.
    ///
    /// `isCancelled` is polled (every 200 ms, and whenever output arrives): once it returns true, the
    /// sandbox's monitor is killed, which takes its PID namespace — every process of the command —
    /// with it, and `run` returns the command as killed by SIGKILL.
    public static func run(_ command: SandboxCommand, isCancelled: (@Sendable () -> Bool)? = nil,
                           onOutput: @escaping @Sendable (String) -> Void) throws -> SandboxResult {
        let problems = supportProblems(needingOverlay: command.captureDirectory != nil)
        guard problems.isEmpty else { throw SandboxError.unsupported(problems) }
        let plan = try SandboxPlan(command, rootless: geteuid() != 0)

        let strings = CStrings()
        let argv = strings.list(command.argv)
        let envp = strings.list(command.environment)
        let searchPath = strings.list(plan.searchPath)
        var spec = kiln_sandbox_spec()
        spec.root = strings.string(plan.root)
        spec.overlay_options = plan.overlayOptions.map { strings.string($0) }
        spec.rootless = plan.rootless ? 1 : 0
        spec.argv = argv
        spec.envp = envp
        spec.search_path = searchPath
        spec.cwd = strings.string(command.workingDirectory)
        spec.uid = command.uid
        spec.gid = command.gid
        spec.hostname = strings.string(command.hostname)
        spec.resolv_conf = plan.resolvConf.map { strings.string($0) }

        var outputFD: Int32 = -1
        var statusFD: Int32 = -1
        let pid = kiln_sandbox_spawn(&spec, &outputFD, &statusFD)
        guard pid > 0 else { throw SandboxError.system("fork", errno: errno, path: plan.root) }
        defer {
            close(outputFD)
            close(statusFD)
        }
        let outputError = streamLines(from: outputFD, to: onOutput, isCancelled: isCancelled, monitor: pid)
        let messages = readMessages(from: statusFD)
        var monitorStatus: Int32 = 0
        while waitpid(pid, &monitorStatus, 0) < 0 {
            guard errno == EINTR else { break }
        }
        if let outputError { throw outputError }
        return try result(of: messages, monitorStatus: monitorStatus, plan: plan, command: command)
    }

    /// What this host lacks to run the sandbox (empty when fine): for `kiln doctor` and clear errors.
    public static func checkSupport() -> [String] {
        supportProblems(needingOverlay: true)
    }

    private static func supportProblems(needingOverlay: Bool) -> [String] {
        #if os(Linux)
        var problems: [String] = []
        let rootless = geteuid() != 0
        var namespaces = ["mnt": "mount", "pid": "PID", "uts": "UTS", "ipc": "IPC"]
        if rootless { namespaces["user"] = "user" }
        for (file, name) in namespaces.sorted(by: { $0.key < $1.key }) where access("/proc/self/ns/\(file)", F_OK) != 0 {
            problems.append("the kernel lacks \(name) namespaces (/proc/self/ns/\(file) is missing)")
        }
        if needingOverlay, let filesystems = readSmallFile("/proc/filesystems"), !filesystems.contains("\toverlay\n"),
           access("/sys/module/overlay", F_OK) != 0, !overlayModuleInstalled() {
            problems.append("overlayfs is not available (run `modprobe overlay` as root, or install the kernel's modules)")
        }
        if rootless {
            if let value = readSmallFile("/proc/sys/user/max_user_namespaces"),
               Int(value.trimmed()) == 0 {
                problems.append("user namespaces are disabled (sysctl user.max_user_namespaces=0); run kiln as root "
                                + "or raise the limit")
            }
            if let value = readSmallFile("/proc/sys/kernel/unprivileged_userns_clone"),
               value.trimmed() == "0" {
                problems.append("unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone=0); "
                                + "run kiln as root or set it to 1")
            }
            if let value = readSmallFile("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
               value.trimmed() == "1" {
                problems.append("AppArmor restricts unprivileged user namespaces "
                                + "(sysctl kernel.apparmor_restrict_unprivileged_userns=1); run kiln as root or allow it")
            }
        }
        return problems
        #else
        return ["kiln's sandbox needs Linux (namespaces and overlayfs)"]
        #endif
    }

    /// Whether the running kernel's overlay module is installed (the first mount loads it).
    private static func overlayModuleInstalled() -> Bool {
        var names = utsname()
        guard uname(&names) == 0 else { return false }
        let release = withUnsafeBytes(of: names.release) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        let directory = "/lib/modules/\(release)/kernel/fs/overlayfs"
        return ["overlay.ko", "overlay.ko.xz", "overlay.ko.zst", "overlay.ko.gz"].contains {
            access(directory + "/" + $0, F_OK) == 0
        }
    }

    /// Reads the command's output until every writer is gone and hands over complete lines (long lines
    /// in 64 KiB pieces); returns a read error instead of throwing so the caller still reaps the sandbox.
    private static func streamLines(from fd: Int32, to onOutput: @Sendable (String) -> Void,
                                    isCancelled: (@Sendable () -> Bool)?, monitor: pid_t) -> SandboxError? {
        let limit = 64 * 1024
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: limit)
        var killed = false
        while true {
            if let isCancelled, !killed {
                if isCancelled() {
                    kill(monitor, SIGKILL)
                    killed = true
                } else {
                    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    if poll(&poller, 1, 200) == 0 { continue }
                }
            }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, limit) }
            if n < 0 {
                if errno == EINTR { continue }
                return SandboxError.system("read", errno: errno, path: "the sandbox's output pipe")
            }
            if n == 0 { break }
            var start = 0
            for i in 0..<n where buffer[i] == UInt8(ascii: "\n") {
                pending.append(contentsOf: buffer[start..<i])
                onOutput(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
                start = i + 1
            }
            pending.append(contentsOf: buffer[start..<n])
            while pending.count >= limit {
                onOutput(String(decoding: pending[..<limit], as: UTF8.self))
                pending.removeFirst(limit)
            }
        }
        if !pending.isEmpty { onOutput(String(decoding: pending, as: UTF8.self)) }
        return nil
    }

    /// The messages the trampoline sent on the status pipe, read until every writer is gone.
    private static func readMessages(from fd: Int32) -> [kiln_sandbox_message] {
        var messages: [kiln_sandbox_message] = []
        let size = MemoryLayout<kiln_sandbox_message>.size
        while true {
            var message = kiln_sandbox_message()
            var got = 0
            while got < size {
                let n = withUnsafeMutableBytes(of: &message) { read(fd, $0.baseAddress! + got, size - got) }
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return messages }
                got += n
            }
            messages.append(message)
        }
    }

    /// The result, or the error the messages describe.
    private static func result(of messages: [kiln_sandbox_message], monitorStatus: Int32, plan: SandboxPlan,
                               command: SandboxCommand) throws -> SandboxResult {
        for message in messages {
            let step = withUnsafeBytes(of: message.step) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            switch Int(message.kind) {
            case Int(KILN_SANDBOX_ERROR): throw SandboxError.setup(step: step, errno: message.value)
            case Int(KILN_SANDBOX_NOT_FOUND): throw SandboxError.commandNotFound(step, searched: plan.searchPath)
            default: continue
            }
        }
        if let exit = messages.first(where: { Int($0.kind) == Int(KILN_SANDBOX_EXIT) }) {
            let (status, signal) = decode(exit.value)
            return SandboxResult(exitStatus: status, signal: signal, upperDirectory: plan.upperDirectory)
        }
        if let died = messages.first(where: { Int($0.kind) == Int(KILN_SANDBOX_INIT_DIED) }) {
            throw SandboxError.initDied(describe(died.value))
        }
        throw SandboxError.initDied("(its monitor \(describe(monitorStatus)))")
    }

    /// A wait status as (exit status, signal).
    static func decode(_ status: Int32) -> (Int32?, Int32?) {
        let signal = status & 0x7F
        return signal == 0 ? ((status >> 8) & 0xFF, nil) : (nil, signal)
    }

    private static func describe(_ status: Int32) -> String {
        let (exit, signal) = decode(status)
        if let signal { return "was killed by signal \(signal)" }
        return "exited with status \(exit ?? -1)"
    }
}

/// NUL-terminated copies of Swift strings for the C spec; freed in deinit.
private final class CStrings {
    private var owned: [UnsafeMutablePointer<CChar>] = []
    private var lists: [UnsafeMutablePointer<UnsafePointer<CChar>?>] = []

    func string(_ text: String) -> UnsafePointer<CChar> {
        let copy = strdup(text)!
        owned.append(copy)
        return UnsafePointer(copy)
    }

    /// A NULL-terminated array of strings.
    func list(_ texts: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let array = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: texts.count + 1)
        for (i, text) in texts.enumerated() { array[i] = string(text) }
        array[texts.count] = nil
        lists.append(array)
        return UnsafePointer(array)
    }

    deinit {
        owned.forEach { free($0) }
        lists.forEach { $0.deallocate() }
    }
}

/// The first 64 KiB of a small file (under /proc), or nil.
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 64 * 1024)
    let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard n >= 0 else { return nil }
    return String(decoding: bytes[..<n], as: UTF8.self)
}

extension String {
    /// The string without leading and trailing spaces and newlines.
    func trimmed() -> String {
        let blanks: Set<Character> = [" ", "\n", "\t"]
        return String(self.drop(while: { blanks.contains($0) }).reversed().drop(while: { blanks.contains($0) }).reversed())
    }
}

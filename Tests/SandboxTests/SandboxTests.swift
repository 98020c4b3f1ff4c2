import Foundation
import KilnTestSupport
import Sandbox
import Testing

/// Lines delivered by `Sandbox.run`, collected across threads.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []

    func append(_ line: String) { lock.withLock { collected.append(line) } }
    var all: [String] { lock.withLock { collected } }
}

/// A busybox root in a fresh temporary directory.
func busyboxRoot() throws -> (TempDirectory, String) {
    let dir = try TempDirectory()
    let root = dir.path + "/root"
    try BusyboxRoot.make(at: root)
    return (dir, root)
}

/// Runs `script` with /bin/sh in the sandbox and returns the result and its output lines.
func runShell(_ script: String, root: String, capture: String? = nil, uid: UInt32 = 0, gid: UInt32 = 0,
              workingDirectory: String = "/", hostname: String = "kiln",
              onLine: (@Sendable (String) -> Void)? = nil) throws -> (SandboxResult, [String]) {
    let lines = Lines()
    let command = SandboxCommand(rootfs: root, argv: ["/bin/sh", "-c", script], workingDirectory: workingDirectory,
                                 uid: uid, gid: gid, hostname: hostname, captureDirectory: capture)
    let result = try Sandbox.run(command) { line in
        lines.append(line)
        onLine?(line)
    }
    return (result, lines.all)
}

@Test func hostSupportsTheSandbox() {
    #expect(Sandbox.checkSupport() == [])
}

/// Scripts and how they end: (script, exit status, signal).
let endings: [(String, Int32?, Int32?)] = [
    ("exit 0", 0, nil),
    ("exit 3", 3, nil),
    ("false", 1, nil),
    ("kill -KILL $$", nil, 9),
    ("kill -TERM $$", nil, 15),
]

@Test(arguments: endings)
func exitStatusAndSignal(script: String, status: Int32?, signal: Int32?) throws {
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    let (result, _) = try runShell(script, root: root)
    #expect(result.exitStatus == status)
    #expect(result.signal == signal)
    #expect(result.succeeded == (status == 0))
    #expect(result.upperDirectory == nil)
}

@Test func outputStreamsInOrderWithStderrMerged() throws {
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    let (result, lines) = try runShell("echo one; echo two >&2; printf 'three\\nfour'; echo >&2; echo five >&2",
                                       root: root)
    #expect(result.exitStatus == 0)
    #expect(lines == ["one", "two", "three", "four", "five"])
}

@Test func outputIsDeliveredWhileTheCommandRuns() throws {
    // The command waits (up to 20 s) for a file that the host creates only once it has seen "ready".
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    let go = root + "/tmp/go"
    let script = "echo ready; i=0; while [ ! -e /tmp/go ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; "
        + "[ -e /tmp/go ] && echo saw-go"
    let (result, lines) = try runShell(script, root: root) { line in
        if line == "ready" { _ = FileManager.default.createFile(atPath: go, contents: nil) }
    }
    #expect(result.exitStatus == 0)
    #expect(lines == ["ready", "saw-go"])
}

@Test func insideTheSandbox() throws {
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    let script = """
        echo pid=$$
        echo host=$(hostname)
        echo procs=$(ls /proc | grep -c '^[0-9]')
        test -r /proc/self/status && echo proc=mounted
        echo x > /dev/null && echo devnull=writable
        head -c 4 /dev/zero | wc -c
        test -c /dev/urandom && echo urandom=char
        echo resolv=$(sha256sum < /etc/resolv.conf)
        echo ids=$(id -u):$(id -g):$(id -G)
        echo cwd=$(pwd)
        echo home=$HOME path=$PATH term=${TERM:-unset}
        test -d /dev/pts && test -d /dev/shm && test -L /dev/fd && test -L /dev/stdin && test -L /dev/stdout \\
            && test -L /dev/stderr && echo dev=complete
        echo through-dev-stdout > /dev/stdout
        """
    let (result, lines) = try runShell(script, root: root, uid: 1000, gid: 1000, workingDirectory: "/home/kiln",
                                       hostname: "kiln-test")
    #expect(result.exitStatus == 0, "\(lines)")
    #expect(lines.contains("pid=2"))  // the shell is the first child of the namespace's init
    #expect(lines.contains("host=kiln-test"))
    let procs = lines.first { $0.hasPrefix("procs=") }.flatMap { Int($0.dropFirst(6)) }
    #expect(procs.map { $0 < 10 } == true, "processes visible in /proc: \(String(describing: procs))")
    #expect(lines.contains("proc=mounted"))
    #expect(lines.contains("devnull=writable"))
    #expect(lines.contains("4"))
    #expect(lines.contains("urandom=char"))
    let hostResolv = try runProgram("/usr/bin/sha256sum", ["/etc/resolv.conf"]).output.prefix(64)
    #expect(lines.contains { $0.hasPrefix("resolv=\(hostResolv)") }, "\(lines)")
    #expect(lines.contains("ids=1000:1000:1000"))
    #expect(lines.contains("cwd=/home/kiln"))
    #expect(lines.contains("home=/root path=\(SandboxCommand.defaultPath) term=unset"))
    #expect(lines.contains("dev=complete"))
    #expect(lines.last == "through-dev-stdout")
    // The host's hostname is untouched.
    #expect(try runProgram("/bin/hostname", []).output.trimmingCharacters(in: .whitespacesAndNewlines) != "kiln-test")
}

@Test func rootInsideHasLimitedPowers() throws {
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    let script = """
        echo uid=$(id -u)
        grep -E '^Cap(Eff|Bnd):' /proc/self/status | tr '\\t' ' '
        mount -t tmpfs kiln /tmp 2>/dev/null && echo mount=allowed || echo mount=denied
        (echo x > /proc/sys/kernel/hostname) 2>/dev/null && echo sysctl=writable || echo sysctl=read-only
        mknod /tmp/disk b 8 0 2>/dev/null && echo mknod=allowed || echo mknod=denied
        """
    let (result, lines) = try runShell(script, root: root)
    #expect(result.exitStatus == 0, "\(lines)")
    // Docker's default capabilities without CAP_MKNOD.
    #expect(lines == ["uid=0", "CapEff: 00000000a00425fb", "CapBnd: 00000000a00425fb", "mount=denied",
                      "sysctl=read-only", "mknod=denied"])
}

@Test func resolvConfIsReadOnlyAndTheHostIsUntouched() throws {
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    let before = try Data(contentsOf: URL(fileURLWithPath: "/etc/resolv.conf"))
    let (result, lines) = try runShell("echo nameserver 6.6.6.6 > /etc/resolv.conf || echo refused", root: root)
    #expect(result.exitStatus == 0)
    #expect(lines.last == "refused")
    #expect(try Data(contentsOf: URL(fileURLWithPath: "/etc/resolv.conf")) == before)
}

@Test func captureHoldsExactlyTheCommandsChanges() throws {
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    let files = FileManager.default
    try files.createDirectory(atPath: root + "/data", withIntermediateDirectories: true)
    for name in ["keep", "modify", "chmod", "delete"] {
        try "\(name)\n".write(toFile: root + "/data/\(name).txt", atomically: false, encoding: .utf8)
    }
    try files.createDirectory(atPath: root + "/olddir/sub", withIntermediateDirectories: true)
    try "x\n".write(toFile: root + "/olddir/sub/x", atomically: false, encoding: .utf8)
    try files.createDirectory(atPath: root + "/replace", withIntermediateDirectories: true)
    try "a\n".write(toFile: root + "/replace/a", atomically: false, encoding: .utf8)
    let rootBefore = try describeTree(at: root)
    let capture = dir.path + "/capture"

    let script = """
        set -e
        echo added > /data/added.txt
        echo changed > /data/modify.txt
        chmod 600 /data/chmod.txt
        rm /data/delete.txt
        rm -r /olddir
        rm -r /replace; mkdir /replace; echo new > /replace/new
        """
    let (result, lines) = try runShell(script, root: root, capture: capture)
    #expect(result.exitStatus == 0, "\(lines)")
    let upper = try #require(result.upperDirectory)
    #expect(upper == capture + "/upper")
    // overlayfs bookkeeping xattrs other than opaque are not changes.
    let described = try describeTree(at: upper, times: false,
                                     ignoringXattrs: ["trusted.overlay.origin", "trusted.overlay.impure"])
    let opaque = "trusted.overlay.opaque=" + Array("y".utf8).map { String(format: "%02x", $0) }.joined()
    func file(_ text: String) throws -> String {
        let sha = try runProgram("/usr/bin/env", ["python3", "-c",
                                                   "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())",
                                                   text]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        return "\(text.utf8.count) \(sha)"
    }
    #expect(described == [
        "data d 0o755 0:0",
        "data/added.txt f 0o644 0:0 \(try file("added\n"))",
        "data/chmod.txt f 0o600 0:0 \(try file("chmod\n"))",
        // overlayfs makes whiteouts hard links of one shared inode: a layer writer must not turn them
        // into tar hard links.
        "data/delete.txt c 0o0 0:0 0,0 link#0",
        "data/modify.txt f 0o644 0:0 \(try file("changed\n"))",
        "olddir c 0o0 0:0 0,0 link#0",
        "replace d 0o755 0:0 \(opaque)",
        "replace/new f 0o644 0:0 \(try file("new\n"))",
    ].sorted(), "\(described)")
    #expect(try describeTree(at: root) == rootBefore, "the rootfs changed")
}

/// Malformed commands, refused before anything runs: (name, how to break the command, what the error says).
let invalidCommands: [(String, @Sendable (inout SandboxCommand, String) throws -> Void, String)] = [
    ("empty argv", { command, _ in command.argv = [] }, "argv is empty"),
    ("relative working directory", { command, _ in command.workingDirectory = "tmp" }, "is not an absolute path"),
    ("missing root", { command, dir in command.rootfs = dir + "/nowhere" }, "is not a directory"),
    ("environment entry without =", { command, _ in command.environment = ["PATH"] }, "is not NAME=value"),
    ("overlay-unsafe capture path", { command, dir in command.captureDirectory = dir + "/a:b" }, "overlayfs cannot take"),
    ("capture with a used upper directory", { command, dir in
        try FileManager.default.createDirectory(atPath: dir + "/used/upper/leftover", withIntermediateDirectories: true)
        command.captureDirectory = dir + "/used"
    }, "is not empty"),
]

@Test(arguments: invalidCommands.map(\.0))
func invalidCommandIsRefused(name: String) throws {
    let (_, breakCommand, message) = try #require(invalidCommands.first { $0.0 == name })
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    var command = SandboxCommand(rootfs: root, argv: ["/bin/sh", "-c", "touch /ran"])
    try breakCommand(&command, dir.path)
    let error = #expect(throws: SandboxError.self) { _ = try Sandbox.run(command) { _ in } }
    #expect(error.map(String.init(describing:))?.contains(message) == true, "\(String(describing: error))")
    #expect(!FileManager.default.fileExists(atPath: root + "/ran"))
}

@Test func failingCommandStillDeliversItsOutput() throws {
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    let (result, lines) = try runShell("echo before-failing; echo why >&2; exit 7", root: root)
    #expect(result.exitStatus == 7)
    #expect(!result.succeeded)
    #expect(lines == ["before-failing", "why"])
}

@Test(arguments: ["no-such-command", "/bin/no-such-command"])
func commandNotFound(name: String) throws {
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    let error = #expect(throws: SandboxError.self) {
        _ = try Sandbox.run(SandboxCommand(rootfs: root, argv: [name])) { _ in }
    }
    let text = error.map(String.init(describing:)) ?? ""
    #expect(text.contains("command not found in the sandbox: '\(name)'"), "\(text)")
}

@Test func setupFailureNamesTheStep() throws {
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    let error = #expect(throws: SandboxError.self) {
        _ = try Sandbox.run(SandboxCommand(rootfs: root, argv: ["/bin/true"], workingDirectory: "/no/such/dir")) { _ in }
    }
    let text = error.map(String.init(describing:)) ?? ""
    #expect(text.contains("chdir to the working directory /no/such/dir: No such file or directory"), "\(text)")
}

@Test func noProcessOutlivesTheRun() throws {
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    let marker = String(800_000 + Int.random(in: 0..<100_000))
    // Background processes that keep the output pipe open and ignore SIGHUP/SIGTERM.
    let script = "trap '' HUP TERM; sleep \(marker) & sleep \(marker) > /dev/null 2>&1 & echo started; exit 0"
    let (result, lines) = try runShell(script, root: root)
    #expect(result.exitStatus == 0)
    #expect(lines == ["started"])
    let deadline = Date().addingTimeInterval(10)
    var survivors: [String] = []
    repeat {
        survivors = processes(withArgument: marker)
        if survivors.isEmpty { break }
        usleep(20_000)
    } while Date() < deadline
    #expect(survivors.isEmpty, "processes left behind: \(survivors)")
}

/// The pids of the host's processes whose command line has `argument`.
func processes(withArgument argument: String) -> [String] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.filter { $0.allSatisfy(\.isNumber) }.filter { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == argument }
    }
}

// MARK: - Rootless: the user-namespace path, proven as an unprivileged user

/// Set in the environment of the test binary re-executed as nobody: the directory to work in.
private let rootlessDriverVariable = "KILN_SANDBOX_ROOTLESS_DRIVER"

/// The rootless path. Run as root, this test re-executes its own test binary as uid/gid 65534 with
/// `setpriv --reuid=65534 --regid=65534 --clear-groups` and only this test selected; the copy sees
/// `KILN_SANDBOX_ROOTLESS_DRIVER` and runs a captured command in the sandbox, which must then create a
/// user namespace (kiln is not root), and prints what it saw on `driver:` lines.
@Test func rootlessSandboxAsAnUnprivilegedUser() throws {
    let environment = ProcessInfo.processInfo.environment
    if let work = environment[rootlessDriverVariable] {
        try rootlessDriver(work: work)
        return
    }
    try #require(getuid() == 0, "the rootless test starts as root and drops to nobody")
    guard let setpriv = requireProgram("setpriv", install: "apt-get install util-linux") else { return }
    let work = try TempDirectory()
    try BusyboxRoot.make(at: work.path + "/root")
    try "lower\n".write(toFile: work.path + "/root/etc/motd", atomically: false, encoding: .utf8)
    let chown = try runProgram("/bin/chown", ["-R", "65534:65534", work.path])
    try #require(chown.status == 0, "\(chown.output)")
    let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let result = try runProgram(setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", binary,
                                          "--testing-library", "swift-testing",
                                          "--filter", "rootlessSandboxAsAnUnprivilegedUser"],
                                environment: ["PATH": "/usr/bin:/bin", "HOME": work.path,
                                              rootlessDriverVariable: work.path])
    let lines = result.output.split(separator: "\n").filter { $0.hasPrefix("driver: ") }.map { String($0.dropFirst(8)) }
    #expect(result.status == 0, "\(result.output.suffix(3000))")
    #expect(lines.contains("outer-uid=65534"), "\(result.output.suffix(3000))")
    #expect(lines.contains("uid=0 gid=0"))          // root inside, mapped to nobody outside
    #expect(lines.contains("pid=2"))
    #expect(lines.contains("host=rootless"))
    #expect(lines.contains("status=0"))
    // The captured changes, owned by nobody on the host; the deletion is a whiteout (char 0/0).
    #expect(lines.contains("upper: etc d 0o755 65534:65534"), "\(lines)")
    #expect(lines.contains("upper: etc/motd c 0o0 65534:65534 0,0 link#0"), "\(lines)")
    #expect(lines.contains { $0.hasPrefix("upper: new f 0o644 65534:65534 6 ") }, "\(lines)")
    #expect(lines.filter { $0.hasPrefix("upper: ") }.count == 3, "\(lines)")
    #expect(FileManager.default.fileExists(atPath: work.path + "/root/etc/motd"))
}

/// The unprivileged half of `rootlessSandboxAsAnUnprivilegedUser`.
private func rootlessDriver(work: String) throws {
    print("driver: outer-uid=\(getuid())")
    let script = "echo uid=$(id -u) gid=$(id -g); echo pid=$$; echo host=$(hostname); echo added > /new; rm /etc/motd"
    let lines = Lines()
    let result = try Sandbox.run(SandboxCommand(rootfs: work + "/root", argv: ["/bin/sh", "-c", script],
                                                hostname: "rootless", captureDirectory: work + "/capture")) {
        lines.append($0)
    }
    for line in lines.all { print("driver: \(line)") }
    print("driver: status=\(result.exitStatus.map(String.init) ?? "signal \(result.signal ?? 0)")")
    for line in try describeTree(at: try #require(result.upperDirectory), times: false,
                                 ignoringXattrs: ["user.overlay.origin", "user.overlay.impure"]) {
        print("driver: upper: \(line)")
    }
}

// MARK: - Mount points the root lacks or links elsewhere

@Test func captureWithASymlinkedResolvConfStaysClean() throws {
    // Ubuntu-style: /etc/resolv.conf links to a file that does not exist in the image; /etc has an
    // unusual mode, which a copy-up of /etc must keep.
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    try FileManager.default.createSymbolicLink(atPath: root + "/etc/resolv.conf",
                                               withDestinationPath: "../run/systemd/resolve/stub-resolv.conf")
    try FileManager.default.setAttributes([.posixPermissions: 0o750], ofItemAtPath: root + "/etc")
    let rootBefore = try describeTree(at: root)
    let capture = dir.path + "/capture"

    let (quiet, quietLines) = try runShell("cat /etc/resolv.conf > /dev/null && ls -d /proc/1 /dev/null", root: root,
                                           capture: capture)
    #expect(quiet.exitStatus == 0, "\(quietLines)")
    #expect(try describeTree(at: capture + "/upper") == [], "mount points landed in the upper directory")

    try FileManager.default.removeItem(atPath: capture)
    let (result, lines) = try runShell("echo hello > /etc/new", root: root, capture: capture)
    #expect(result.exitStatus == 0, "\(lines)")
    let upper = try describeTree(at: try #require(result.upperDirectory), times: false,
                                 ignoringXattrs: ["trusted.overlay.origin", "trusted.overlay.impure"])
    #expect(upper.count == 2, "\(upper)")
    #expect(upper.first == "etc d 0o750 0:0", "\(upper)")
    #expect(upper.last?.hasPrefix("etc/new f 0o644 0:0 6 ") == true, "\(upper)")
    #expect(try describeTree(at: root) == rootBefore, "the rootfs changed")
}

// MARK: - Cancellation

/// Set in the environment of the test binary re-executed to be killed: the root to run in, a marker.
private let killedDriverVariable = "KILN_SANDBOX_KILLED_DRIVER"

/// Kills the process that called `Sandbox.run` (as SIGINT or SIGTERM would end kiln) and checks that the
/// sandbox's processes die with it: this test re-executes its own test binary, whose copy runs
/// `sleep MARKER` in the sandbox and prints `driver: started` once the command runs.
@Test func sandboxDiesWithKiln() throws {
    let environment = ProcessInfo.processInfo.environment
    if let value = environment[killedDriverVariable] {
        let parts = value.split(separator: "|").map(String.init)
        let command = SandboxCommand(rootfs: parts[0], argv: ["/bin/sh", "-c", "echo started; sleep \(parts[1]); echo late"])
        _ = try Sandbox.run(command) { line in
            FileHandle.standardOutput.write(Data("driver: \(line)\n".utf8))  // unbuffered
        }
        return
    }
    let (dir, root) = try busyboxRoot()
    defer { withExtendedLifetime(dir) {} }
    let marker = String(700_000 + Int.random(in: 0..<100_000))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    process.arguments = ["--testing-library", "swift-testing", "--filter", "sandboxDiesWithKiln"]
    process.environment = ["PATH": "/usr/bin:/bin", killedDriverVariable: "\(root)|\(marker)"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    var seen = ""
    while !seen.contains("driver: started\n") {
        let chunk = pipe.fileHandleForReading.availableData  // what is there, blocking only while nothing is
        if chunk.isEmpty { break }
        seen += String(decoding: chunk, as: UTF8.self)
    }
    // "started" comes just before the sleep: wait for it to run.
    var running = processes(withArgument: marker)
    let started = Date().addingTimeInterval(10)
    while running.isEmpty, seen.contains("driver: started"), Date() < started {
        usleep(20_000)
        running = processes(withArgument: marker)
    }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    #expect(seen.contains("driver: started"), "\(seen)")
    #expect(!running.isEmpty, "the sandboxed sleep was not running before the kill")
    let deadline = Date().addingTimeInterval(10)
    var survivors = processes(withArgument: marker)
    while !survivors.isEmpty, Date() < deadline {
        usleep(20_000)
        survivors = processes(withArgument: marker)
    }
    #expect(survivors.isEmpty, "processes outlived kiln: \(survivors)")
}

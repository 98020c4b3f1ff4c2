import AWSCore
import Foundation

/// Plays the EC2 build instance of kiln's AMI pipeline against moto, through the instance protocol
/// (docs/instance-protocol.md): it watches moto for instances that enter `running`, reads each one's
/// user-data (`DescribeInstanceAttribute`), and runs it for real as root in a bubblewrap sandbox —
/// the host's `/usr` read-only, a per-instance writable root (with its own `/etc`, `/var`, `/root`,
/// `/tmp`), a tmpfs `/run`, the host's network (the script uploads to moto's S3 through presigned
/// URLs on 127.0.0.1), its own PID, UTS and IPC namespaces; as root, without the capabilities that
/// reach beyond it (mounts, modules, raw I/O). `poweroff`, `halt` and `shutdown` are stubs first on
/// PATH that record their calls, and `$KILN_CONSOLE` is a file the simulator reads; when the script powers off (or exits), the simulator stops the instance in
/// moto (or terminates it, if its `InstanceInitiatedShutdownBehavior` is `terminate`), as EC2 would.
///
/// Only one simulator should watch a moto server at a time: every simulator plays every instance
/// it sees.
public final class InstanceSimulator: @unchecked Sendable {
    /// What the simulated instance does once it is running.
    public enum Behaviour: String, Sendable, Hashable {
        /// Runs the user-data as cloud-init would, then stops when it powers off or exits.
        case run
        /// Does nothing: the instance stays `running` (as when the user-data hangs before reporting).
        case neverReport
        /// Stops the instance without running anything (a crash or a failed boot).
        case crash
    }

    /// What happened to one instance.
    public struct Play: Sendable {
        /// The instance's ID.
        public var instanceID: String
        /// Its region.
        public var region: String
        /// The behaviour it was played with.
        public var behaviour: Behaviour
        /// The user-data as run (base64-decoded and, if it was gzip-compressed, decompressed); nil
        /// when it was not read (`.neverReport`, `.crash`) or the instance had none.
        public var userData: String?
        /// Whether the user-data arrived gzip-compressed.
        public var wasGzipped: Bool = false
        /// The script's exit status; nil when it did not run, was not a `#!` script, or did not exit
        /// by itself within `poweroffGrace` after powering off (or the simulator was stopped).
        public var exitStatus: Int32?
        /// Whether the script powered off (`poweroff`, `halt`, or `shutdown` with `now` or `+0`).
        public var poweredOff: Bool = false
        /// What the script appended to `$KILN_CONSOLE`.
        public var console: String = ""
        /// The stub calls, one per line as made (`shutdown -P +60`, `poweroff`).
        public var calls: [String] = []
        /// The script's stdout and stderr (cloud-init's output log).
        public var output: String = ""
        /// The EC2 call that ended the instance (`StopInstances`, `TerminateInstances`), or nil.
        public var endedWith: String?
        /// The state moto showed (`terminated`, `stopped`, …) when someone else ended the instance
        /// while its script ran; the script was killed then, as on EC2.
        public var endedFromOutside: String?
        /// What went wrong in the simulator itself, if anything.
        public var error: String?
    }

    private let engine: Engine

    /// Creates a simulator for `moto`, watching `regions`. Throws when bubblewrap is not installed.
    public init(moto: MotoServer, regions: [String] = ["us-east-1"], behaviour: Behaviour = .run) throws {
        guard let bwrap = InstanceSimulator.locate("bwrap") else {
            throw TestSupportError("bubblewrap is not installed: apt-get install bubblewrap")
        }
        engine = try Engine(moto: moto, regions: regions, behaviour: behaviour, bwrap: bwrap)
    }

    deinit {
        engine.stop()
        // Now, not when the engine goes: its threads may release it only after the test run ended.
        try? FileManager.default.removeItem(atPath: engine.directory.path)
    }

    /// The behaviour of instances seen from now on (those already seen keep theirs).
    public var behaviour: Behaviour {
        get { engine.locked { engine.behaviour } }
        set { engine.locked { engine.behaviour = newValue } }
    }

    /// How long a script may keep running after it powered off before it is killed (as a real
    /// power-off would); 2 s by default.
    public var poweroffGrace: TimeInterval {
        get { engine.locked { engine.poweroffGrace } }
        set { engine.locked { engine.poweroffGrace = newValue } }
    }

    /// How long a script may run at all before it is killed and its instance stopped (the dead-man
    /// timer, shortened); 300 s by default.
    public var maxRunTime: TimeInterval {
        get { engine.locked { engine.maxRunTime } }
        set { engine.locked { engine.maxRunTime = newValue } }
    }

    /// Starts watching moto (a background thread polls `DescribeInstances` about every 200 ms).
    public func start() { engine.start() }

    /// Stops watching and kills any script still running (its instance is left as it is in moto).
    /// The records stay readable; the sandboxes' files stay until the simulator goes away.
    public func stop() { engine.stop() }

    /// The IDs of the instances handled so far, in the order their handling finished (for `.run`:
    /// the script ended and the instance was stopped; `.neverReport`: seen; `.crash`: stopped).
    public var played: [String] { engine.locked { engine.played } }

    /// The record of one instance, once it has been played.
    public func play(of instanceID: String) -> Play? { engine.locked { engine.plays[instanceID] } }

    /// What the instance has appended to `$KILN_CONSOLE` so far (live while its script runs).
    public func console(of instanceID: String) -> String {
        if let play = engine.locked({ engine.plays[instanceID] }) { return play.console }
        let path = engine.directory.path + "/\(instanceID)/sim/console"
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// The host directory that was the instance's `/` (its `/etc`, `/var/lib/kiln`, the build log),
    /// for checks after the play; nil for an instance whose script did not run. It is removed when
    /// the simulator goes away.
    public func rootDirectory(of instanceID: String) -> String? {
        let path = engine.directory.path + "/\(instanceID)/root"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// Failures of the simulator's own calls to moto (polling, reading user-data, stopping).
    public var errors: [String] { engine.locked { engine.errors } }

    /// Waits (polling) until `instanceID` has been played; false after `timeout` seconds.
    public func waitUntilPlayed(_ instanceID: String, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if engine.locked({ engine.played.contains(instanceID) }) { return true }
            if Date() >= deadline { return false }
            usleep(50_000)
        }
    }

    /// Where a program is on PATH (or in the usual system directories).
    static func locate(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for dir in path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/bin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// The simulator's state and threads, kept apart from `InstanceSimulator` so that the threads never
/// hold the public object (whose `deinit` stops them).
private final class Engine: @unchecked Sendable {
    let lock = NSLock()
    let regions: [String]
    let bwrap: String
    let directory: TempDirectory
    let clients: [String: AWSClient]
    let ec2 = QueryProtocol(version: "2016-11-15")

    // Guarded by `lock`.
    var behaviour: InstanceSimulator.Behaviour
    var poweroffGrace: TimeInterval = 2
    var maxRunTime: TimeInterval = 300
    var seen: Set<String> = []
    var played: [String] = []
    var plays: [String: InstanceSimulator.Play] = [:]
    var errors: [String] = []
    var running: [String: Process] = [:]
    var stopping = false
    var started = false
    var hostCount = 0

    /// Entered by the poll thread and by each play thread; waited on by `stop()`.
    let threads = DispatchGroup()

    init(moto: MotoServer, regions: [String], behaviour: InstanceSimulator.Behaviour, bwrap: String) throws {
        self.regions = regions
        self.behaviour = behaviour
        self.bwrap = bwrap
        directory = try TempDirectory()
        var clients: [String: AWSClient] = [:]
        for region in regions {
            clients[region] = try AWSClient(service: "ec2", config: AWSConfig(
                region: region, credentials: MotoCredentials(), endpointURL: moto.url, maxAttempts: 3, baseDelay: 0.05))
        }
        self.clients = clients
    }

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    func start() {
        let go = locked { () -> Bool in
            guard !started, !stopping else { return false }
            started = true
            return true
        }
        guard go else { return }
        threads.enter()
        let thread = Thread { [self] in
            pollLoop()
            threads.leave()
        }
        thread.name = "InstanceSimulator.poll"
        thread.start()
    }

    func stop() {
        let processes = locked { () -> [Process] in
            stopping = true
            return Array(running.values)
        }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        threads.wait()
    }

    var isStopping: Bool { locked { stopping } }

    func record(_ message: String) {
        locked {
            if !stopping, errors.count < 100 { errors.append(message) }
        }
    }

    // MARK: Watching moto

    func pollLoop() {
        while !isStopping {
            for region in regions {
                guard let client = clients[region] else { continue }
                do {
                    for id in try runningInstances(client) {
                        let (new, behaviour) = locked { (seen.insert(id).inserted, self.behaviour) }
                        if new { handle(id, region: region, client: client, behaviour: behaviour) }
                    }
                } catch {
                    record("DescribeInstances in \(region): \(error)")
                }
            }
            for _ in 0..<4 where !isStopping { usleep(50_000) }
        }
    }

    /// The IDs of the instances in state `running`.
    func runningInstances(_ client: AWSClient) throws -> [String] {
        try ec2.paginate(client, "DescribeInstances", [("Filter.1.Name", "instance-state-name"),
                                                       ("Filter.1.Value.1", "running")]) { xml in
            xml.items("reservationSet").flatMap { $0.items("instancesSet") }.compactMap { instance in
                instance.find("instanceState")?.string("name") == "running" ? instance.string("instanceId") : nil
            }
        }
    }

    func handle(_ id: String, region: String, client: AWSClient, behaviour: InstanceSimulator.Behaviour) {
        var play = InstanceSimulator.Play(instanceID: id, region: region, behaviour: behaviour)
        switch behaviour {
        case .neverReport:
            finish(play)
        case .crash:
            end(&play, client: client, action: "StopInstances")
            finish(play)
        case .run:
            threads.enter()
            let thread = Thread { [self, play] in
                var play = play
                run(&play, client: client)
                finish(play)
                threads.leave()
            }
            thread.name = "InstanceSimulator.\(id)"
            thread.start()
        }
    }

    func finish(_ play: InstanceSimulator.Play) {
        locked {
            plays[play.instanceID] = play
            played.append(play.instanceID)
        }
    }

    /// Stops (or terminates) the instance in moto, as EC2 does when the instance powers off.
    func end(_ play: inout InstanceSimulator.Play, client: AWSClient, action: String) {
        guard !isStopping else { return }
        do {
            _ = try ec2.call(client, action, [("InstanceId.1", play.instanceID)])
            play.endedWith = action
        } catch {
            play.error = "\(action): \(error)"
            record("\(action) \(play.instanceID): \(error)")
        }
    }

    /// The instance's state name in moto, or nil when moto does not list it.
    func state(of id: String, client: AWSClient) throws -> String? {
        let xml = try ec2.call(client, "DescribeInstances", [("InstanceId.1", id)])
        return xml.find("instanceState")?.string("name")
    }

    /// One attribute's `<value>`, or nil.
    func attribute(_ name: String, of id: String, client: AWSClient) throws -> String? {
        let xml = try ec2.call(client, "DescribeInstanceAttribute", [("InstanceId", id), ("Attribute", name)])
        guard let value = xml.child(name)?.string("value"), !value.isEmpty else { return nil }
        return value
    }

    // MARK: Running the user-data

    func run(_ play: inout InstanceSimulator.Play, client: AWSClient) {
        let id = play.instanceID
        // What cloud-init would run: the user-data, base64-decoded, gunzipped if it has gzip's magic.
        var bytes: [UInt8]
        var shutdownBehaviour = "stop"
        do {
            let text = try attribute("userData", of: id, client: client) ?? ""
            guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
                throw TestSupportError("the user-data is not base64")
            }
            bytes = Array(data)
            if bytes.starts(with: [0x1f, 0x8b]) {
                bytes = try gunzip(bytes, in: directory.path + "/\(id)")
                play.wasGzipped = true
            }
            if let value = try? attribute("instanceInitiatedShutdownBehavior", of: id, client: client) {
                shutdownBehaviour = value
            }
        } catch {
            play.error = "reading the user-data: \(error)"
            record("\(id): reading the user-data: \(error)")
            end(&play, client: client, action: "StopInstances")
            return
        }
        play.userData = String(decoding: bytes, as: UTF8.self)
        let action = shutdownBehaviour == "terminate" ? "TerminateInstances" : "StopInstances"
        // cloud-init runs only a user-data script (`#!`); anything else leaves the instance running.
        guard bytes.starts(with: Array("#!".utf8)) else {
            play.error = "the user-data is not a script (no #!): nothing runs and the instance stays running"
            return
        }
        let instance = directory.path + "/\(id)"
        do {
            try prepare(instance, id: id, script: bytes)
            try sandbox(&play, instance: instance, client: client)
        } catch {
            play.error = "running the user-data: \(error)"
            record("\(id): running the user-data: \(error)")
        }
        play.console = (try? String(contentsOfFile: instance + "/sim/console", encoding: .utf8)) ?? ""
        play.calls = ((try? String(contentsOfFile: instance + "/sim/calls", encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
        play.output = (try? String(contentsOfFile: instance + "/output", encoding: .utf8)) ?? ""
        play.poweredOff = FileManager.default.fileExists(atPath: instance + "/sim/poweroff")
        if play.endedFromOutside == nil { end(&play, client: client, action: action) }
    }

    func gunzip(_ bytes: [UInt8], in dir: String) throws -> [UInt8] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let input = dir + "/user-data.gz", output = dir + "/user-data"
        try Data(bytes).write(to: URL(fileURLWithPath: input))
        let gzip = FileManager.default.isExecutableFile(atPath: "/bin/gzip") ? "/bin/gzip" : "/usr/bin/gzip"
        let result = try runProgram("/bin/sh", ["-c", "\"$0\" -dc <\"$1\" >\"$2\"", gzip, input, output])
        guard result.status == 0 else { throw TestSupportError("gzip -d failed: \(result.output)") }
        return Array(try Data(contentsOf: URL(fileURLWithPath: output)))
    }

    /// Lays out the instance's writable root, its simulator directory and the stubs.
    func prepare(_ instance: String, id: String, script: [UInt8]) throws {
        let fm = FileManager.default
        let root = instance + "/root", sim = instance + "/sim", stubs = instance + "/stubs"
        func mkdir(_ path: String, _ mode: Int = 0o755) throws {
            try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
            try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
        func write(_ path: String, _ text: String, _ mode: Int = 0o644) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
        for dir in ["etc/ssh", "etc/profile.d", "var/lib/dbus", "var/log", "var/cache", "var/lib/cloud/scripts", "var/lib/cloud/data",
                    "home", "srv", "opt", "mnt", "media"] {
            try mkdir(root + "/" + dir)
        }
        try mkdir(root + "/tmp", 0o1777)
        try mkdir(root + "/var/tmp", 0o1777)
        try mkdir(root + "/root", 0o700)
        try mkdir(sim)
        try mkdir(stubs)

        // /etc: what programs need from the host (no secrets: no shadow, no keys), then the files an
        // EC2 instance has and the clean-up empties or removes.
        let etc = ["passwd", "group", "hosts", "nsswitch.conf", "resolv.conf", "host.conf", "os-release",
                   "alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "pam.conf", "pam.d", "security",
                   "login.defs", "profile", "bash.bashrc", "environment", "localtime", "timezone",
                   "mime.types", "ssl/certs", "ssl/openssl.cnf", "ca-certificates.conf", "gai.conf", "services",
                   "protocols"]
            .map { "etc/" + $0 }.filter { fm.fileExists(atPath: "/" + $0) || (try? fm.destinationOfSymbolicLink(atPath: "/" + $0)) != nil }
        // tar keeps symbolic links (os-release, alternatives), modes and the paths below /etc.
        let copy = try runProgram("/bin/sh", ["-c", #"tar -C / -cf - "$@" | tar -C "$0" -xpf -"#, root] + etc)
        guard copy.status == 0 else { throw TestSupportError("copying /etc: \(copy.output)") }
        let users = (try? String(contentsOfFile: "/etc/passwd", encoding: .utf8)) ?? "root:x:0:0:root:/root:/bin/bash\n"
        let shadow = users.split(separator: "\n").compactMap { $0.split(separator: ":").first }
            .map { "\($0):*:19000:0:99999:7:::\n" }.joined()
        try write(root + "/etc/shadow", shadow, 0o640)
        let hostNumber = locked { () -> Int in hostCount += 1; return hostCount }
        let hostname = "ip-10-0-\(hostNumber / 250)-\(hostNumber % 250 + 4)"
        try write(root + "/etc/hostname", hostname + "\n")
        let machineID = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() + "\n"
        try write(root + "/etc/machine-id", machineID, 0o444)
        try write(root + "/var/lib/dbus/machine-id", machineID, 0o444)
        try write(root + "/etc/ssh/ssh_host_ed25519_key",
                  "-----BEGIN OPENSSH PRIVATE KEY-----\nkiln-instance-simulator-fake-host-key\n-----END OPENSSH PRIVATE KEY-----\n",
                  0o600)
        try write(root + "/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAAkilnfake root@\(hostname)\n")

        // cloud-init's layout: the script in the instance's directory, `instance` pointing at it.
        let cloud = root + "/var/lib/cloud/instances/\(id)"
        try mkdir(cloud + "/scripts")
        try Data(script).write(to: URL(fileURLWithPath: cloud + "/user-data.txt"))
        try Data(script).write(to: URL(fileURLWithPath: cloud + "/scripts/part-001"))
        try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: cloud + "/scripts/part-001")
        try fm.createSymbolicLink(atPath: root + "/var/lib/cloud/instance", withDestinationPath: "/var/lib/cloud/instances/\(id)")
        try write(root + "/var/lib/cloud/data/instance-id", id + "\n")

        // The simulator's directory: console, stub calls, the power-off marker.
        try write(sim + "/console", "", 0o644)
        try write(sim + "/calls", "", 0o644)
        // Stubs, first on PATH. A scheduled shutdown (`-P +N`, the dead-man timer) only records its
        // call; `shutdown now`/`+0`, `poweroff` and `halt` power off (the marker file).
        try write(stubs + "/poweroff", """
            #!/bin/sh
            echo "poweroff${*:+ $*}" >>/kiln-sim/calls
            : >/kiln-sim/poweroff
            """, 0o755)
        try write(stubs + "/halt", """
            #!/bin/sh
            echo "halt${*:+ $*}" >>/kiln-sim/calls
            : >/kiln-sim/poweroff
            """, 0o755)
        try write(stubs + "/shutdown", """
            #!/bin/sh
            echo "shutdown${*:+ $*}" >>/kiln-sim/calls
            when=+1
            for arg in "$@"; do
              case "$arg" in
                -c|--cancel|-k|-r|--reboot) exit 0 ;;
                -*) ;;
                *) when=$arg; break ;;
              esac
            done
            case "$when" in now|+0) : >/kiln-sim/poweroff ;; esac
            exit 0
            """, 0o755)
    }

    /// The capabilities root keeps in the sandbox: what provisioning needs (files, users, `runuser`),
    /// without those that could reach the host (mounts, modules, raw devices, the clock, rebooting).
    static let droppedCapabilities = ["CAP_SYS_ADMIN", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_BOOT",
                                      "CAP_SYS_TIME", "CAP_SYS_PTRACE", "CAP_NET_ADMIN", "CAP_MKNOD",
                                      "CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_SYSLOG", "CAP_WAKE_ALARM",
                                      "CAP_BLOCK_SUSPEND", "CAP_LINUX_IMMUTABLE", "CAP_SYS_PACCT",
                                      "CAP_AUDIT_CONTROL"]

    /// Clears the signal mask, restores SIGPIPE and SIGXFSZ, and executes its arguments.
    static let unblockSignals = """
        use POSIX (); POSIX::sigprocmask(POSIX::SIG_SETMASK(), POSIX::SigSet->new) or die "sigprocmask: $!";
        $SIG{$_} = "DEFAULT" for qw(PIPE XFSZ); exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\\n";
        """

    /// Runs the script in bubblewrap until it exits, powers off (plus the grace), or runs too long.
    func sandbox(_ play: inout InstanceSimulator.Play, instance: String, client: AWSClient) throws {
        let fm = FileManager.default
        var arguments = ["--bind", instance + "/root", "/", "--ro-bind", "/usr", "/usr"]
        for top in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
            let path = "/" + top
            if let target = try? fm.destinationOfSymbolicLink(atPath: path) {
                arguments += ["--symlink", target, path]
            } else if fm.fileExists(atPath: path) {
                arguments += ["--ro-bind", path, path]
            }
        }
        arguments += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/run",
                      "--bind", instance + "/sim", "/kiln-sim", "--ro-bind", instance + "/stubs", "/kiln-stubs",
                      "--chdir", "/", "--share-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                      "--hostname", (try? String(contentsOfFile: instance + "/root/etc/hostname", encoding: .utf8))?
                          .trimmingCharacters(in: .whitespacesAndNewlines) ?? "ip-10-0-0-4",
                      "--die-with-parent"]
        if getuid() == 0 {
            for capability in Engine.droppedCapabilities { arguments += ["--cap-drop", capability] }
        }
        let id = play.instanceID
        arguments.append("--")
        // Children of `swift test` inherit blocked signals (SIGTERM among them), which would break
        // `timeout` and `kill` in the script; perl-base (Essential in Debian) clears the mask first.
        if fm.isExecutableFile(atPath: "/usr/bin/perl") { arguments += ["/usr/bin/perl", "-e", Engine.unblockSignals] }
        arguments.append("/var/lib/cloud/instances/\(id)/scripts/part-001")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: bwrap)
        process.arguments = arguments
        // cloud-init's environment, reduced; KILN_CONSOLE points at the simulator's console file.
        process.environment = ["PATH": "/kiln-stubs:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                               "HOME": "/root", "LANG": "C.UTF-8", "KILN_CONSOLE": "/kiln-sim/console"]
        _ = fm.createFile(atPath: instance + "/output", contents: nil)
        guard let output = FileHandle(forWritingAtPath: instance + "/output") else {
            throw TestSupportError("cannot write \(instance)/output")
        }
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice

        let (grace, limit) = locked { (poweroffGrace, maxRunTime) }
        let started = try locked { () -> Bool in
            guard !stopping else { return false }
            try process.run()
            running[id] = process
            return true
        }
        guard started else { return }
        defer { _ = locked { running.removeValue(forKey: id) } }

        let deadline = Date().addingTimeInterval(limit)
        var poweredOffAt: Date?
        var nextStateCheck = Date().addingTimeInterval(0.5)
        var killed = false
        while process.isRunning {
            if isStopping || Date() >= deadline {
                if Date() >= deadline { play.error = "the script ran longer than \(Int(limit)) s and was killed" }
                killed = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            if Date() >= nextStateCheck {
                // Stopped or terminated by someone else (kiln's timeout, its clean-up): the machine is gone.
                nextStateCheck = Date().addingTimeInterval(0.5)
                if let state = try? state(of: id, client: client), !["pending", "running"].contains(state) {
                    play.endedFromOutside = state
                    killed = true
                    kill(process.processIdentifier, SIGKILL)
                    break
                }
            }
            if poweredOffAt == nil, fm.fileExists(atPath: instance + "/sim/poweroff") { poweredOffAt = Date() }
            if let poweredOffAt, Date().timeIntervalSince(poweredOffAt) >= grace {
                // A real power-off ends everything: kill the sandbox (its PID namespace goes with it).
                killed = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            usleep(50_000)
        }
        process.waitUntilExit()
        if !killed, process.terminationReason == .exit { play.exitStatus = process.terminationStatus }
        let text = (try? String(contentsOfFile: instance + "/output", encoding: .utf8)) ?? ""
        if text.hasPrefix("bwrap: ") {
            play.exitStatus = nil
            throw TestSupportError("bubblewrap could not make the sandbox (as root, or with unprivileged user namespaces): "
                                   + (text.split(separator: "\n").first.map(String.init) ?? ""))
        }
    }
}

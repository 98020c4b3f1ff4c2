import AWSCore
import EC2
import Foundation
import KilnTestSupport
import S3
import Testing

/// The instance simulator against moto: it plays launched instances by running their user-data in a
/// bubblewrap sandbox, through the instance protocol (docs/instance-protocol.md). One moto for the
/// suite, reset by each test, which starts its own simulator (a simulator plays every instance it
/// sees, so the tests take turns).
@Suite(.serialized, .moto) struct InstanceSimulatorTests {
    /// moto, a running simulator, and clients for launching and checking.
    struct Harness {
        let moto: MotoServer
        let simulator: InstanceSimulator
        let ec2: EC2Client
        let s3: S3Client
        let imageID: String

        init(behaviour: InstanceSimulator.Behaviour = .run) throws {
            moto = try #require(MotoScope.current, "the suite must carry the .moto trait")
            try moto.reset()
            simulator = try InstanceSimulator(moto: moto, behaviour: behaviour)
            let config = AWSConfig(region: "us-east-1", credentials: MotoCredentials(), endpointURL: moto.url, maxAttempts: 1)
            ec2 = try EC2Client(config: config)
            s3 = try S3Client(config: config)
            imageID = try #require(try ec2.describeImages(owners: ["amazon"]).first?.imageID)
            simulator.start()
        }

        /// Launches a build instance with this user-data and returns its ID.
        func launch(_ userData: [UInt8], shutdown: ShutdownBehavior = .stop) throws -> String {
            let reservation = try ec2.runInstances(RunInstancesRequest(
                imageID: imageID, instanceType: "t3.micro", userData: userData,
                instanceInitiatedShutdownBehavior: shutdown))
            return try #require(reservation.instances.first?.instanceID)
        }

        func state(_ id: String) throws -> InstanceStateName? {
            try ec2.describeInstances(instanceIDs: [id]).first?.state.name
        }

        /// Waits for the play and fails the test with what the simulator knows when it does not come.
        func waitForPlay(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> InstanceSimulator.Play {
            let done = simulator.waitUntilPlayed(id, timeout: 20)
            #expect(done, "\(id) was not played; simulator errors: \(simulator.errors)", sourceLocation: sourceLocation)
            return try #require(simulator.play(of: id), sourceLocation: sourceLocation)
        }
    }

    /// A user-data script that follows the protocol's shape: dead-man timer, markers on the console
    /// and in the log, the /etc writes and clean-up of a build, uploads of the log and the result
    /// record through presigned URLs, then power-off. `fail` makes its one step fail with exit 3.
    static func protocolScript(build: String, logURL: String, resultURL: String, fail: Bool = false) -> String {
        let status = fail ? "failed" : "succeeded"
        let exitCode = fail ? 3 : 0
        let failedStep = fail ? #""sim/hello""# : "null"
        let result = #"{"protocol":1,"build_id":"\#(build)","status":"\#(status)","exit_code":\#(exitCode),"failed_step":\#(failedStep),"steps":[{"id":"sim/hello","seconds":0,"exit_code":\#(exitCode)}]}"#
        let resultMarker = fail ? "::kiln:: result build=\(build) status=failed exit=3 step=sim/hello"
                                : "::kiln:: result build=\(build) status=succeeded exit=0"
        return """
            #!/bin/bash
            set -Eeuo pipefail
            umask 022
            readonly KILN_BUILD_ID='\(build)'
            readonly KILN_LOG=/var/log/kiln-build.log KILN_RESULT=/run/kiln-result.json
            KILN_CONSOLE=${KILN_CONSOLE:-/dev/console}
            KILN_LOG_URL='\(logURL)'
            KILN_RESULT_URL='\(resultURL)'

            shutdown -P +60
            console() { if [ -w "$KILN_CONSOLE" ]; then printf '%s\\n' "$*" >>"$KILN_CONSOLE"; fi; }
            marker() { echo "::kiln:: $*"; console "::kiln:: $*"; }
            mkdir -p /var/lib/kiln/steps
            : >"$KILN_LOG"; chmod 0600 "$KILN_LOG"
            set +e
            {
              marker "build-begin $KILN_BUILD_ID"
              marker "step-begin sim/hello"
              echo "hello from $(hostname) as $(id -un), pid $$"
              echo 'export COURSE_HOME=/srv/course' >/etc/profile.d/kiln-env.sh
              echo 'COURSE_HOME="/srv/course"' >>/etc/environment
              if \(fail ? "false" : "true"); then
                marker "step-end sim/hello seconds=0"
              else
                marker "step-failed sim/hello exit=3 seconds=0"
              fi
            } 2>&1 | sed "s/^/$(date -u +%Y-%m-%dT%H:%M:%SZ) /" >>"$KILN_LOG"
            printf '%s\\n' '\(result)' >"$KILN_RESULT"
            curl -fsS -X PUT --upload-file "$KILN_LOG" "$KILN_LOG_URL"
            if [ \(exitCode) -eq 0 ]; then
              rm -f /etc/ssh/ssh_host_*
              : >/etc/machine-id
              rm -rf /var/lib/kiln
            fi
            curl -fsS -X PUT --upload-file "$KILN_RESULT" "$KILN_RESULT_URL"
            console '\(resultMarker)'
            rm -f "$KILN_RESULT"
            sync; poweroff || shutdown -P now
            exit \(exitCode)
            """
    }

    @Test("a protocol script runs in the sandbox, uploads its log and result to S3, marks the console and stops the instance")
    func playsProtocolScript() throws {
        let h = try Harness()
        try h.s3.createBucket("kiln-sim-logs")
        let logURL = try h.s3.presignedURL(method: "PUT", bucket: "kiln-sim-logs", key: "b-sim-1/build.log", expires: 600)
        let resultURL = try h.s3.presignedURL(method: "PUT", bucket: "kiln-sim-logs", key: "b-sim-1/result.json", expires: 600)
        let script = Self.protocolScript(build: "b-sim-1", logURL: logURL, resultURL: resultURL)
        let id = try h.launch(Array(script.utf8))

        let play = try h.waitForPlay(id)
        #expect(h.simulator.played.contains(id))
        #expect(play.error == nil)
        #expect(play.exitStatus == 0, "output:\n\(play.output)")
        #expect(play.poweredOff)
        #expect(!play.wasGzipped)
        #expect(play.userData == script)
        #expect(play.calls == ["shutdown -P +60", "poweroff"])
        #expect(play.endedWith == "StopInstances")
        #expect(try h.state(id) == .stopped)

        let console = h.simulator.console(of: id)
        #expect(console == """
            ::kiln:: build-begin b-sim-1
            ::kiln:: step-begin sim/hello
            ::kiln:: step-end sim/hello seconds=0
            ::kiln:: result build=b-sim-1 status=succeeded exit=0

            """)

        let log = String(decoding: try h.s3.getObject(bucket: "kiln-sim-logs", key: "b-sim-1/build.log").body, as: UTF8.self)
        let lines = log.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 1).last.map(String.init) ?? "" }
        #expect(lines.count == 4, "\(log)")
        #expect(lines.first == "::kiln:: build-begin b-sim-1")
        #expect(lines.contains { $0.hasPrefix("hello from ip-10-0-") && $0.contains("as root, pid ") }, "\(log)")
        #expect(lines.last == "::kiln:: step-end sim/hello seconds=0")
        let result = String(decoding: try h.s3.getObject(bucket: "kiln-sim-logs", key: "b-sim-1/result.json").body, as: UTF8.self)
        #expect(result.hasPrefix(#"{"protocol":1,"build_id":"b-sim-1","status":"succeeded","exit_code":0,"failed_step":null"#), "\(result)")

        // The clean-up ran on the instance's own /etc, not the host's.
        let root = try #require(h.simulator.rootDirectory(of: id))
        #expect(try String(contentsOfFile: root + "/etc/machine-id", encoding: .utf8).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: root + "/etc/ssh/ssh_host_ed25519_key"))
        #expect(try String(contentsOfFile: root + "/etc/profile.d/kiln-env.sh", encoding: .utf8) == "export COURSE_HOME=/srv/course\n")
        #expect(!FileManager.default.fileExists(atPath: "/etc/profile.d/kiln-env.sh"))
        #expect(!FileManager.default.fileExists(atPath: root + "/var/lib/kiln"))
        #expect(!FileManager.default.fileExists(atPath: root + "/run/kiln-result.json"))
        #expect(h.simulator.errors.isEmpty, "\(h.simulator.errors)")
    }

    @Test("a failing script still powers off and stops; one that just exits 1 is stopped too")
    func failingScriptsStop() throws {
        let h = try Harness()
        try h.s3.createBucket("kiln-sim-logs")
        let logURL = try h.s3.presignedURL(method: "PUT", bucket: "kiln-sim-logs", key: "b-sim-2/build.log", expires: 600)
        let resultURL = try h.s3.presignedURL(method: "PUT", bucket: "kiln-sim-logs", key: "b-sim-2/result.json", expires: 600)
        let failing = try h.launch(Array(Self.protocolScript(build: "b-sim-2", logURL: logURL, resultURL: resultURL, fail: true).utf8))
        let exiting = try h.launch(Array("#!/bin/bash\necho '::kiln:: build-begin b-sim-3' >>\"$KILN_CONSOLE\"\nexit 1\n".utf8))

        let play = try h.waitForPlay(failing)
        #expect(play.exitStatus == 3, "output:\n\(play.output)")
        #expect(play.poweredOff)
        #expect(play.calls == ["shutdown -P +60", "poweroff"])
        #expect(try h.state(failing) == .stopped)
        #expect(h.simulator.console(of: failing).hasSuffix("""
            ::kiln:: step-failed sim/hello exit=3 seconds=0
            ::kiln:: result build=b-sim-2 status=failed exit=3 step=sim/hello

            """))
        let result = String(decoding: try h.s3.getObject(bucket: "kiln-sim-logs", key: "b-sim-2/result.json").body, as: UTF8.self)
        #expect(result.contains(#""status":"failed","exit_code":3,"failed_step":"sim/hello""#), "\(result)")
        // Nothing was cleaned after the failure.
        let root = try #require(h.simulator.rootDirectory(of: failing))
        #expect(FileManager.default.fileExists(atPath: root + "/etc/ssh/ssh_host_ed25519_key"))
        #expect(FileManager.default.fileExists(atPath: root + "/var/lib/kiln/steps"))

        let exited = try h.waitForPlay(exiting)
        #expect(exited.exitStatus == 1)
        #expect(!exited.poweredOff)
        #expect(exited.calls.isEmpty)
        #expect(exited.console == "::kiln:: build-begin b-sim-3\n")
        #expect(try h.state(exiting) == .stopped)
    }

    @Test("neverReport leaves the instance running; crash stops it without running anything; terminate is honoured")
    func behaviours() throws {
        let h = try Harness(behaviour: .neverReport)
        let script = Array("#!/bin/bash\necho ran >>\"$KILN_CONSOLE\"\npoweroff\n".utf8)
        let silent = try h.launch(script)
        let play = try h.waitForPlay(silent)
        #expect(play.behaviour == .neverReport)
        #expect(play.userData == nil && play.exitStatus == nil && play.endedWith == nil)
        usleep(600_000)   // a few polls later, still running and untouched
        #expect(try h.state(silent) == .running)
        #expect(h.simulator.console(of: silent).isEmpty)
        #expect(h.simulator.played.filter { $0 == silent }.count == 1)

        h.simulator.behaviour = .crash
        let crashed = try h.launch(script)
        let crash = try h.waitForPlay(crashed)
        #expect(crash.behaviour == .crash && crash.endedWith == "StopInstances")
        #expect(crash.exitStatus == nil && crash.calls.isEmpty)
        #expect(h.simulator.console(of: crashed).isEmpty)
        #expect(h.simulator.rootDirectory(of: crashed) == nil)
        #expect(try h.state(crashed) == .stopped)

        h.simulator.behaviour = .run
        let terminating = try h.launch(script, shutdown: .terminate)
        let terminated = try h.waitForPlay(terminating)
        #expect(terminated.console == "ran\n")
        #expect(terminated.endedWith == "TerminateInstances")
        #expect(try h.state(terminating) == .terminated)
        #expect(try h.state(silent) == .running)
    }

    @Test("an instance terminated from outside while its script runs has the script killed")
    func terminatedFromOutside() throws {
        let h = try Harness()
        let id = try h.launch(Array("#!/bin/bash\necho started >>\"$KILN_CONSOLE\"\nsleep 60\necho finished >>\"$KILN_CONSOLE\"\npoweroff\n".utf8))
        let deadline = Date().addingTimeInterval(20)
        while h.simulator.console(of: id).isEmpty, Date() < deadline { usleep(50_000) }
        #expect(h.simulator.console(of: id) == "started\n")
        _ = try h.ec2.terminateInstances(instanceIDs: [id])
        let play = try h.waitForPlay(id)
        #expect(play.endedFromOutside == "terminated")
        #expect(play.endedWith == nil && play.exitStatus == nil && !play.poweredOff)
        #expect(play.console == "started\n")
        #expect(h.simulator.errors.isEmpty, "\(h.simulator.errors)")
    }

    @Test("gzip-compressed user-data is decompressed and run")
    func gzippedUserData() throws {
        let h = try Harness()
        let dir = try TempDirectory()
        let script = "#!/bin/bash\nset -eu\necho '::kiln:: step-begin sim/gzip' >>\"$KILN_CONSOLE\"\n"
            + "echo \"# \(String(repeating: "padding ", count: 200))\" >/dev/null\npoweroff\n"
        let plain = try dir.write("user-data", script)
        let compressed = try runProgram("/bin/sh", ["-c", "gzip -9nc \"$0\" >\"$0.gz\"", plain])
        #expect(compressed.status == 0, "\(compressed.output)")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: plain + ".gz")))
        #expect(bytes.starts(with: [0x1F, 0x8B]) && bytes.count < script.utf8.count)

        let id = try h.launch(bytes)
        let play = try h.waitForPlay(id)
        #expect(play.wasGzipped)
        #expect(play.userData == script)
        #expect(play.exitStatus == 0, "output:\n\(play.output)")
        #expect(play.console == "::kiln:: step-begin sim/gzip\n")
        #expect(try h.state(id) == .stopped)
    }

    @Test("the sandbox cannot write to the host: /usr is read-only, /etc is the instance's own, mounts are refused")
    func cannotEscape() throws {
        let fm = FileManager.default
        #expect(!fm.fileExists(atPath: "/usr/kiln-escape") && !fm.fileExists(atPath: "/etc/kiln-escape"),
                "leftovers of an earlier run make this test meaningless")
        let h = try Harness()
        let script = """
            #!/bin/bash
            say() { echo "$*" >>"$KILN_CONSOLE"; }
            if touch /usr/kiln-escape 2>/dev/null; then say "usr writable"; else say "usr read-only"; fi
            if echo escaped >/etc/kiln-escape; then say "etc written"; fi
            if mount -o remount,rw /usr 2>/dev/null; then say "remounted"; else say "remount refused"; fi
            if mount -t tmpfs tmpfs /mnt 2>/dev/null; then say "mounted"; else say "mount refused"; fi
            if touch /usr/kiln-escape 2>/dev/null; then say "usr writable"; fi
            say "$(grep SigBlk /proc/self/status)"
            say "pid $$ sees $(ls /proc | grep -c '^[0-9]') processes"
            poweroff
            """
        let id = try h.launch(Array(script.utf8))
        let play = try h.waitForPlay(id)
        #expect(play.exitStatus == 0, "output:\n\(play.output)")
        let console = play.console.split(separator: "\n").map(String.init)
        #expect(Array(console.prefix(4)) == ["usr read-only", "etc written", "remount refused", "mount refused"], "\(console)")
        // Nothing blocked (children of `swift test` inherit a blocked SIGTERM; the sandbox clears it).
        #expect(console.dropLast().last == "SigBlk:\t0000000000000000", "\(console)")
        // Its own PID namespace: bubblewrap's init, the script, and the pipeline's ls and grep.
        let seen = console.last.flatMap { $0.split(separator: " ").dropLast().last }.flatMap { Int($0) }
        #expect(seen.map { (2...8).contains($0) } == true, "\(console)")
        #expect(!fm.fileExists(atPath: "/usr/kiln-escape"))
        #expect(!fm.fileExists(atPath: "/etc/kiln-escape"))
        let root = try #require(h.simulator.rootDirectory(of: id))
        #expect(try String(contentsOfFile: root + "/etc/kiln-escape", encoding: .utf8) == "escaped\n")
        #expect(try h.state(id) == .stopped)
    }
}

import Foundation
import Testing
import KilnCrypto
import KilnTestSupport
@testable import Recipe

/// A loopback HTTP server (Fixtures/tools/loopback_server.py) serving `root` and taking PUT uploads.
final class LoopbackServer {
    let server: PortPrintingServer
    let root: String

    init(root: String) throws {
        self.root = root
        server = try PortPrintingServer(python: "\(fixtures)/tools/loopback_server.py", [root])
    }

    var url: String { server.url }
}

/// Runs a rendered user-data script as root in a throwaway overlay of the host's root filesystem
/// (its own mount and PID namespaces; `poweroff` and `shutdown` are stubs that record their calls),
/// then copies what the checks need out to `out`.
func playInstance(script: String, out: String) throws -> (status: Int32, output: String) {
    let work = out + "/instance"
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    try script.write(toFile: work + "/user-data.sh", atomically: true, encoding: .utf8)
    let driver = #"""
    set -eu
    T=$1/mnt
    mkdir -p "$T"
    mount -t tmpfs tmpfs "$T"
    mkdir -p "$T/upper" "$T/work" "$T/root"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" "$T/root"
    R=$T/root
    mount -t proc proc "$R/proc"
    mount --rbind /dev "$R/dev"
    mkdir -p "$R/kiln-stubs" "$R/etc/ssh" "$R/run"
    printf '#!/bin/sh\necho "poweroff $*" >>/kiln-calls\n' >"$R/kiln-stubs/poweroff"
    printf '#!/bin/sh\necho "shutdown $*" >>/kiln-calls\n' >"$R/kiln-stubs/shutdown"
    chmod 0755 "$R/kiln-stubs/"*
    echo probe >"$R/etc/ssh/ssh_host_kiln_probe_key"
    : >"$R/kiln-console"
    echo 0123456789abcdef0123456789abcdef >"$R/etc/machine-id"
    cp "$1/user-data.sh" "$R/kiln-user-data.sh"
    rc=0
    chroot "$R" /usr/bin/env -i PATH=/kiln-stubs:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root KILN_CONSOLE=/kiln-console /bin/bash /kiln-user-data.sh >"$1/stdout" 2>&1 || rc=$?
    echo "$rc" >"$1/exit"
    for f in kiln-console kiln-calls etc/kiln-test/hello.txt opt/tool/bin/tool usr/local/bin/fetched etc/profile.d/kiln-env.sh etc/environment; do
      if [ -e "$R/$f" ]; then mkdir -p "$1/files/$(dirname "$f")"; cp -a "$R/$f" "$1/files/$f"; fi
    done
    if [ -e "$R/etc/ssh/ssh_host_kiln_probe_key" ]; then echo present >"$1/ssh-key"; else echo absent >"$1/ssh-key"; fi
    stat -c %s "$R/etc/machine-id" >"$1/machine-id-size"
    if [ -e "$R/var/lib/kiln" ]; then echo present >"$1/kiln-dir"; else echo absent >"$1/kiln-dir"; fi
    stat -c '%a %u' "$R/usr/local/bin/fetched" >"$1/fetched-stat" 2>/dev/null || true
    """#
    try driver.write(toFile: work + "/driver.sh", atomically: true, encoding: .utf8)
    return try run("/usr/bin/unshare", ["--mount", "--pid", "--fork", "/bin/bash", work + "/driver.sh", work])
}

@Suite("AMI user-data, executed", .serialized)
struct UserDataExecutionTests {
    /// A tarball with one top directory, served by the loopback server; returns its sha256.
    func makeTarball(in dir: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir + "/src/tool-1.0/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\necho tool 1.0\n".write(toFile: dir + "/src/tool-1.0/bin/tool", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir + "/src/tool-1.0/bin/tool")
        let tar = try run("/bin/tar", ["-czf", dir + "/serve/tool.tar.gz", "-C", dir + "/src", "tool-1.0"])
        #expect(tar.status == 0, "\(tar.output)")
        return try SHA256.hash(fileAt: dir + "/serve/tool.tar.gz").hex
    }

    func recipe(in dir: TempDir, server: LoopbackServer, tarSHA: String, fileSHA: String, failing: Bool) throws -> String {
        try dir.write("files/hello.txt", "hello from the recipe\n")
        return try dir.write("play.yaml", """
        name: play
        version: "1"
        params: {greeting: hello}
        base: {ami: {id: ami-0123456789abcdef0}}
        steps:
          - name: config
            files: [{src: files/hello.txt, dest: /etc/kiln-test/hello.txt, mode: "0640"}]
          - name: vars
            env: {KILN_TEST_GREETING: "${{ greeting }}", KILN_TEST_PRICE: "\\\\$5", PATH: "/opt/tool/bin:$PATH"}
          - name: tool
            fetch: {url: "\(server.url)/tool.tar.gz", sha256: \(tarSHA), extract: /opt/tool, strip_components: 1}
          - name: single
            fetch: {url: "\(server.url)/fetched", sha256: \(fileSHA), dest: /usr/local/bin/fetched, mode: "0750"}
          - name: uses-env
            run: |
              test "$KILN_TEST_GREETING" = hello
              test "$KILN_TEST_PRICE" = '$5'
              tool | grep -q 'tool 1.0'
              \(failing ? "false\n      echo never reached" : "echo ran")
          - name: as-nobody
            user: nobody
            workdir: /tmp
            run: test "$(id -un)" = nobody && test "$PWD" = /tmp
        tests:
          - grep -q 'hello from the recipe' /etc/kiln-test/hello.txt
        """)
    }

    struct Result: Decodable {
        struct StepResult: Decodable { var id: String; var seconds: Int; var exit_code: Int }
        var protocol_: Int
        var build_id: String
        var status: String
        var exit_code: Int
        var failed_step: String?
        var steps: [StepResult]
        enum CodingKeys: String, CodingKey {
            case protocol_ = "protocol", build_id, status, exit_code, failed_step, steps
        }
    }

    func play(failing: Bool) throws -> (dir: TempDir, result: Result?, log: String, console: String) {
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.path + "/serve", withIntermediateDirectories: true)
        let tarSHA = try makeTarball(in: dir.path)
        try "#!/bin/sh\necho fetched\n".write(toFile: dir.path + "/serve/fetched", atomically: true, encoding: .utf8)
        let fileSHA = try SHA256.hash(fileAt: dir.path + "/serve/fetched").hex
        let server = try LoopbackServer(root: dir.path + "/serve")
        let path = try recipe(in: dir, server: server, tarSHA: tarSHA, fileSHA: fileSHA, failing: failing)
        let resolved = try RecipeLoader().load(path)
        let script = try UserDataRenderer.render(resolved, hash: try RecipeHash.compute(resolved), context: InstanceContext(
            buildID: "b-play", logURL: "\(server.url)/up/b-play.log?X-Amz-Signature=s", resultURL: "\(server.url)/up/b-play.json?X-Amz-Signature=s",
            kilnVersion: "test"))
        let (status, output) = try playInstance(script: script, out: dir.path)
        #expect(status == 0, "driver failed: \(output)")
        let uploads = dir.path + "/serve/uploads"
        let result = FileManager.default.contents(atPath: uploads + "/b-play.json").flatMap { try? JSONDecoder().decode(Result.self, from: $0) }
        let log = (try? String(contentsOfFile: uploads + "/b-play.log", encoding: .utf8)) ?? ""
        let console = (try? String(contentsOfFile: dir.path + "/instance/files/kiln-console", encoding: .utf8)) ?? ""
        return (dir, result, log, console)
    }

    func read(_ dir: TempDir, _ name: String) -> String {
        ((try? String(contentsOfFile: dir.path + "/instance/" + name, encoding: .utf8)) ?? "")
            .trimmingCharacters(in: [" ", "\n"])
    }

    @Test("a successful build runs every step and test, reports, cleans the image and powers off")
    func success() throws {
        guard getuid() == 0 else { Issue.record("this test plays the instance as root in an overlay chroot: run the suite as root (CI does)"); return }
        guard requireTool("unshare", package: "util-linux") != nil else { return }
        let (dir, result, log, console) = try play(failing: false)
        let record = try #require(result, "no result record was uploaded; instance stdout:\n\(read(dir, "stdout"))")
        #expect(record.status == "succeeded" && record.exit_code == 0 && record.failed_step == nil)
        #expect(record.build_id == "b-play" && record.protocol_ == 1)
        #expect(record.steps.map(\.id) == ["play/config", "play/vars", "play/tool", "play/single", "play/uses-env",
                                           "play/as-nobody", "test:play/test-1"])
        #expect(record.steps.allSatisfy { $0.exit_code == 0 })
        // The log: every line timestamped, markers for every step.
        let lines = log.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "#, options: .regularExpression) != nil })
        #expect(log.contains("::kiln:: step-begin play/tool") && log.contains("::kiln:: step-end play/as-nobody seconds="))
        #expect(log.contains("ran"))
        // The console: markers and the final result line (the fallback channel).
        #expect(console.contains("::kiln:: step-end play/uses-env"))
        #expect(console.contains("::kiln:: result build=b-play status=succeeded exit=0"))
        // What the steps made.
        #expect(read(dir, "files/etc/kiln-test/hello.txt") == "hello from the recipe")
        #expect(read(dir, "fetched-stat") == "750 0")
        #expect(read(dir, "files/etc/profile.d/kiln-env.sh").contains("export KILN_TEST_GREETING=hello"))
        // A clean image: host keys, machine ID and kiln's own files gone; then power-off.
        #expect(read(dir, "ssh-key") == "absent")
        #expect(read(dir, "machine-id-size") == "0")
        #expect(read(dir, "kiln-dir") == "absent")
        let calls = read(dir, "files/kiln-calls")
        #expect(calls.contains("shutdown -P +60 kiln: build deadline reached"))
        #expect(calls.hasSuffix("poweroff"))
        // The presigned URLs never reach the log.
        #expect(!log.contains("X-Amz-Signature"))
    }

    @Test("a failing step stops the build, names the step, skips later steps and the clean-up, and powers off")
    func failure() throws {
        guard getuid() == 0 else { Issue.record("this test plays the instance as root in an overlay chroot: run the suite as root (CI does)"); return }
        guard requireTool("unshare", package: "util-linux") != nil else { return }
        let (dir, result, log, console) = try play(failing: true)
        let record = try #require(result, "no result record was uploaded; instance stdout:\n\(read(dir, "stdout"))")
        #expect(record.status == "failed" && record.exit_code == 1 && record.failed_step == "play/uses-env")
        #expect(record.steps.last?.id == "play/uses-env" && record.steps.last?.exit_code == 1)
        #expect(!log.contains("never reached") && !log.contains("step-begin play/as-nobody"))
        #expect(log.contains("::kiln:: step-failed play/uses-env exit=1"))
        #expect(console.contains("::kiln:: result build=b-play status=failed exit=1 step=play/uses-env"))
        #expect(read(dir, "ssh-key") == "present")
        #expect(read(dir, "files/kiln-calls").hasSuffix("poweroff"))
    }
}

import Foundation
import KilnTestSupport
@testable import OCIRegistry
import Testing

@Suite("Docker config.json credentials")
struct DockerConfigTests {
    static func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    @Test("auths, credHelpers and credsStore resolve as the docker CLI does", arguments: [
        ("registry.example", "auth-user", "auth-pass"),
        ("docker.io", "hub-user", "hub-pass"),
        ("plain.example:5000", "plain-user", "plain-pass"),
        ("helped.example", "helper-user", "from-ecr-login"),
        ("other.example", "store-user", "from-desktop"),
    ])
    func resolves(registry: String, username: String, password: String) throws {
        let directory = try TempDirectory()
        try directory.write("config.json", """
        {"auths": {
            "registry.example": {"auth": "\(Self.b64("auth-user:auth-pass"))"},
            "https://index.docker.io/v1/": {"auth": "\(Self.b64("hub-user:hub-pass"))"},
            "https://plain.example:5000": {"username": "plain-user", "password": "plain-pass"},
            "helped.example": {"auth": "\(Self.b64("ignored:ignored"))"}
         },
         "credHelpers": {"helped.example": "ecr-login"},
         "credsStore": "desktop"}
        """)
        let source = DockerConfigCredentials(environment: ["DOCKER_CONFIG": directory.path], runHelper: { helper, server in
            switch helper {
            case "ecr-login": return #"{"ServerURL":"\#(server)","Username":"helper-user","Secret":"from-ecr-login"}"#
            case "desktop": return #"{"ServerURL":"\#(server)","Username":"store-user","Secret":"from-desktop"}"#
            default: return nil
            }
        })
        let found = try #require(try source.credentials(for: registry))
        #expect(found.username == username)
        #expect(found.password == password)
    }

    @Test("a real helper program on PATH is run with the server URL on stdin")
    func realHelper() throws {
        let directory = try TempDirectory()
        try directory.write("bin/docker-credential-kilntest", """
        #!/bin/sh
        [ "$1" = get ] || exit 2
        read server
        if [ "$server" = "known.example" ]; then
          printf '{"ServerURL":"%s","Username":"u-%s","Secret":"pw"}' "$server" "$server"
        else
          echo "credentials not found in native keychain"; exit 1
        fi
        """, mode: 0o755)
        try directory.write("config.json", #"{"credsStore":"kilntest"}"#)
        let environment = ["DOCKER_CONFIG": directory.path, "PATH": directory.path + "/bin:/usr/bin:/bin"]
        let source = DockerConfigCredentials(environment: environment)
        let found = try #require(try source.credentials(for: "known.example"))
        #expect(found.username == "u-known.example")
        #expect(found.password == "pw")
        #expect(try source.credentials(for: "unknown.example") == nil)

        try directory.write("config.json", #"{"credsStore":"missing-helper"}"#)
        #expect { _ = try source.credentials(for: "known.example") } throws: {
            "\($0)".contains("docker-credential-missing-helper is not on PATH")
        }
    }

    @Test("no file means no credentials; a malformed file or auth entry is an error that quotes no secret")
    func errors() throws {
        let directory = try TempDirectory()
        let source = DockerConfigCredentials(environment: ["HOME": directory.path])
        #expect(source.path == directory.path + "/.docker/config.json")
        #expect(try source.credentials(for: "x.example") == nil)
        try directory.write(".docker/config.json", "{not json")
        #expect { _ = try source.credentials(for: "x.example") } throws: { "\($0)".contains("not valid JSON") }
        try directory.write(".docker/config.json", #"{"auths":{"x.example":{"auth":"c2VjcmV0LXdpdGhvdXQtY29sb24="}}}"#)
        #expect { _ = try source.credentials(for: "x.example") } throws: {
            "\($0)".contains("not base64 of user:password") && !"\($0)".contains("c2VjcmV0") && !"\($0)".contains("secret")
        }
    }
}

@Suite("console progress")
struct ConsoleProgressTests {
    final class Sink: @unchecked Sendable {
        let lock = NSLock()
        var text = ""
        func write(_ s: String) { lock.withLock { text += s } }
    }

    final class Clock: @unchecked Sendable {
        let lock = NSLock()
        var now = 100.0
        func advance(_ seconds: Double) { lock.withLock { now += seconds } }
        func read() -> Double { lock.withLock { now } }
    }

    @Test("in CI, one line per blob when it finishes, with size, time and rate")
    func ciLines() {
        let sink = Sink(), clock = Clock()
        let progress = ConsoleProgress(write: sink.write, isTerminal: false, now: clock.read)
        progress.started(id: "a", label: "layer aaaa", total: 10 << 20)
        progress.started(id: "b", label: "config bbbb", total: 512)
        progress.advanced(id: "a", done: 5 << 20)
        clock.advance(2)
        progress.finished(id: "a", outcome: .uploaded)
        progress.finished(id: "b", outcome: .skipped)
        #expect(sink.text == "layer aaaa  uploaded   10.0 MiB in 2.0s (5.0 MiB/s)\nconfig bbbb  exists     512 B\n")
    }

    @Test("on a terminal, every blob's line is redrawn with bytes, rate and ETA")
    func terminal() {
        let sink = Sink(), clock = Clock()
        let progress = ConsoleProgress(write: sink.write, isTerminal: true, now: clock.read)
        progress.started(id: "a", label: "layer aaaa", total: 100 << 20)
        clock.advance(4)
        progress.advanced(id: "a", done: 40 << 20)
        #expect(sink.text.hasSuffix("\u{1B}[1A\r\u{1B}[2Klayer aaaa   40%  40.0 MiB/100.0 MiB  10.0 MiB/s  ETA 6.0s\n"))
        let before = sink.text
        progress.advanced(id: "a", done: 41 << 20)  // within 0.1 s: throttled
        #expect(sink.text == before)
    }

    @Test("sizes and durations read well", arguments: [
        (Int64(0), "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 << 30, "5.0 GiB"),
    ])
    func bytes(value: Int64, text: String) {
        #expect(ConsoleProgress.formatBytes(value) == text)
    }
}

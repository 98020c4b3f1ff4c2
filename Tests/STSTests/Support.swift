import AWSCore
import AWSCredentials
import Foundation
import KilnTestSupport
import SigV4
import Testing


/// A loopback HTTP server that answers every POST with a canned AssumeRoleWithWebIdentity response
/// and writes what it received (headers, then body) to a file: to see exactly what kiln sends.
final class RecordingServer {
    let process: ServerProcess
    let recordPath: String
    var url: String { "http://127.0.0.1:\(process.port)" }

    private static let script = #"""
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
port, record = int(sys.argv[1]), sys.argv[2]
ANSWER = b'''<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>repo:org/kiln:ref:refs/heads/main</SubjectFromWebIdentityToken>
<Audience>sts.amazonaws.com</Audience><Provider>token.actions.githubusercontent.com</Provider>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/kiln-ci/gha</Arn><AssumedRoleId>AROAEXAMPLE:gha</AssumedRoleId></AssumedRoleUser>
<Credentials><AccessKeyId>ASIARECORDEDEXAMPLE1</AccessKeyId><SecretAccessKey>recordedSecret</SecretAccessKey>
<SessionToken>recordedToken</SessionToken><Expiration>2030-01-02T03:04:05Z</Expiration></Credentials>
</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>'''
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(record, "wb") as f:
            f.write("".join(f"{k.lower()}: {v}\n" for k, v in self.headers.items()).encode() + b"\n" + body)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)
HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""#

    init(directory: TempDirectory) throws {
        let python = try #require(["/usr/bin/python3", "/usr/local/bin/python3"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }, "python3 is missing: apt-get install python3")
        recordPath = directory.path + "/request.txt"
        let port = try freeLoopbackPort()
        process = try ServerProcess(python, ["-c", Self.script, String(port), recordPath], port: port)
    }

    /// The recorded request: lower-cased header lines, and the body.
    func recorded() throws -> (headers: [String: String], body: String) {
        let text = try String(contentsOfFile: recordPath, encoding: .utf8)
        let parts = text.components(separatedBy: "\n\n")
        var headers: [String: String] = [:]
        for line in parts[0].split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (headers, parts.dropFirst().joined(separator: "\n\n"))
    }
}

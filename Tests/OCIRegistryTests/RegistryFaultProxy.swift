import Foundation
import KilnTestSupport

/// A reverse proxy in front of a test registry that logs every request (method, path, upload session,
/// Content-Range) and can drop the connection in the middle of the body of the Nth PATCH — a push
/// whose transfer dies mid-blob. The Python source is embedded here (Package.swift excludes only the
/// AWS fault proxy's .py file from KilnTestSupport) and written to a temporary file at start.
final class RegistryFaultProxy: @unchecked Sendable {
    private let server: PortPrintingServer
    private let directory: TempDirectory
    /// The JSON-lines request log.
    let logPath: String

    /// One logged request.
    struct Entry: Decodable {
        var method: String
        var path: String
        var session: String?
        var range: String?
        var dropped: Bool
        var status: Int
    }

    /// Starts the proxy in front of `upstreamPort`; `dropPatch` (1-based) names the PATCH whose
    /// connection is closed after `dropAfter` bytes of its body, without forwarding it.
    init(upstreamPort: Int, dropPatch: Int = 0, dropAfter: Int = 1 << 20) throws {
        directory = try TempDirectory()
        let script = try directory.write("registry_proxy.py", Self.source)
        logPath = directory.path + "/log.jsonl"
        server = try PortPrintingServer(python: script, [String(upstreamPort), logPath, String(dropPatch), String(dropAfter)])
    }

    /// `127.0.0.1:PORT`.
    var host: String { "127.0.0.1:\(server.port)" }

    /// The requests so far.
    var entries: [Entry] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Entry.self, from: Data($0.utf8)) }
    }

    static let source = #"""
import http.client, http.server, json, socketserver, sys, threading

upstream_port = int(sys.argv[1]); log_path = sys.argv[2]
drop_patch = int(sys.argv[3]); drop_after = int(sys.argv[4])
lock = threading.Lock(); counts = {"patch": 0}

def log(entry):
    with lock:
        with open(log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def handle_any(self):
        path = self.path.split("?")[0]
        session = path.split("/blobs/uploads/")[1] if "/blobs/uploads/" in path else None
        entry = {"method": self.command, "path": path, "session": session or None,
                 "range": self.headers.get("Content-Range"), "dropped": False, "status": 0}
        length = int(self.headers.get("Content-Length") or 0)
        if self.command == "PATCH":
            with lock:
                counts["patch"] += 1; n = counts["patch"]
            if n == drop_patch:
                self.rfile.read(min(drop_after, length))
                entry["dropped"] = True; log(entry)
                self.close_connection = True
                self.connection.shutdown(2)
                return
        body = self.rfile.read(length) if length else b""
        conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=120)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in ("connection", "content-length", "transfer-encoding"):
                conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse(); data = resp.read(); conn.close()
        entry["status"] = resp.status; log(entry)
        self.send_response_only(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "content-length", "transfer-encoding", "date", "server"):
                self.send_header(k, v)
        upstream_length = resp.getheader("Content-Length")
        self.send_header("Content-Length", upstream_length if self.command == "HEAD" and upstream_length else str(len(data)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(data)
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""#
}

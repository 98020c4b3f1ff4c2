"""A loopback HTTP server that answers with a scripted sequence of responses and records requests.

argv: SCRIPT.json LOG.jsonl. SCRIPT is a list of {"status", "headers", "body"} or {"drop": true}
(close the connection without an answer); the last entry repeats. Prints its port."""
import http.server
import json
import sys

script = json.load(open(sys.argv[1]))
log_path = sys.argv[2]
counter = {"n": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        with open(log_path, "a") as log:
            log.write(json.dumps({"method": self.command, "path": self.path,
                                  "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}) + "\n")
        entry = script[min(counter["n"], len(script) - 1)]
        counter["n"] += 1
        if entry.get("drop"):
            self.close_connection = True
            self.connection.close()
            return
        payload = entry.get("body", "").encode()
        # send_response_only: no automatic Date header, so a scripted one is the only one.
        self.send_response_only(entry.get("status", 200))
        if "Date" not in entry.get("headers", {}):
            self.send_header("Date", self.date_time_string())
        for key, value in entry.get("headers", {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_any

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

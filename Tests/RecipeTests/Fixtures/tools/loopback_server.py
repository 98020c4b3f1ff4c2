"""A loopback HTTP server for tests: GET serves files from ROOT, PUT stores the body under
ROOT/uploads/<last path segment> (the way a presigned S3 PUT URL is used). Prints its port."""
import http.server
import os
import sys

root = sys.argv[1]


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=root, **kwargs)

    def do_PUT(self):
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        name = os.path.basename(self.path.split("?", 1)[0])
        os.makedirs(os.path.join(root, "uploads"), exist_ok=True)
        with open(os.path.join(root, "uploads", name), "wb") as f:
            f.write(data)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

"""A counting reverse proxy for bench/ami-vs-packer.sh: forwards every request to UPSTREAM unchanged
and appends one JSON line per request to LOG_PATH, so that the AWS API requests of kiln and of
Packer are counted in the same place, the same way. Modelled on
Tests/KilnTestSupport/fault_proxy.py, without its faults.

Each line: {"seq", "time", "method", "service", "region", "operation", "path", "status", "ms"}.
  - service, region: from the SigV4 credential scope (the Authorization header, or X-Amz-Credential
    of a presigned URL); "unsigned" when there is none.
  - operation: the Query protocol's Action (form body or query string); for the JSON protocols the
    X-Amz-Target suffix; for S3 (REST, path style on an endpoint override) the operation that the
    method, path and sub-resource name, e.g. "GetObject", "CreateBucket",
    "PutBucketLifecycleConfiguration"; "path" keeps the S3 path ("/bucket/key") to tell objects apart.

A line is written before the answer goes back, so once a client has its last answer its every
request is in the log. argv: UPSTREAM_URL LOG_PATH. Prints its port on stdout. Listens on
127.0.0.1 only."""
import http.client
import http.server
import json
import re
import sys
import threading
import time
import urllib.parse

upstream = urllib.parse.urlparse(sys.argv[1])
log_path = sys.argv[2]
lock = threading.Lock()
counter = [0]
log = open(log_path, "a", buffering=1)

CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
HOP = ("connection", "proxy-connection", "keep-alive", "transfer-encoding", "expect", "te", "upgrade")
S3_BUCKET_OPS = {"lifecycle": "BucketLifecycleConfiguration", "policy": "BucketPolicy", "tagging": "BucketTagging",
                 "acl": "BucketAcl", "versioning": "BucketVersioning", "location": "BucketLocation",
                 "encryption": "BucketEncryption", "publicAccessBlock": "PublicAccessBlock",
                 "ownershipControls": "BucketOwnershipControls"}


def scope(headers, query):
    """(region, service) from the SigV4 credential scope, or ("", "unsigned")."""
    match = CREDENTIAL.search(headers.get("Authorization", ""))
    if match:
        return match.group(1), match.group(2)
    credential = query.get("X-Amz-Credential", [""])[0]
    parts = credential.split("/")
    if len(parts) == 5:
        return parts[2], parts[3]
    return "", "unsigned"


def s3_operation(method, path, query):
    """The S3 operation a REST request names (path-style addressing)."""
    segments = [s for s in path.split("/") if s]
    if not segments:
        return {"GET": "ListBuckets"}.get(method, method + " /")
    if len(segments) == 1:
        for key, name in S3_BUCKET_OPS.items():
            if key in query:
                return {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method, method) + name
        return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket",
                "GET": "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"}.get(method, method + " /{bucket}")
    if "uploads" in query or "uploadId" in query:
        return method + "Multipart"
    return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject",
            "POST": "PostObject"}.get(method, method + " /{bucket}/{key}")


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        started = time.time()
        body = self.read_body()
        split = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        region, service = scope(self.headers, query)
        operation = query.get("Action", [""])[0]
        if not operation and "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            operation = form.get("Action", [""])[0]
        if not operation and self.headers.get("X-Amz-Target"):
            operation = self.headers["X-Amz-Target"].split(".")[-1]
        if not operation and service == "s3":
            operation = s3_operation(self.command, split.path, query)
        if not operation:
            operation = self.command + " " + split.path

        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        headers["Content-Length"] = str(len(body))
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            status, answer_headers = response.status, response.getheaders()
        except OSError as error:
            status, answer_headers, payload = 502, [("Content-Type", "text/plain")], f"proxy: {error}".encode()
        finally:
            connection.close()

        with lock:
            counter[0] += 1
            log.write(json.dumps({"seq": counter[0], "time": round(started, 3), "method": self.command,
                                  "service": service, "region": region, "operation": operation,
                                  "path": split.path if service == "s3" else "", "status": status,
                                  "ms": round((time.time() - started) * 1000, 1)}) + "\n")

        head = self.command == "HEAD"
        self.send_response(status)
        length_sent = False
        for key, value in answer_headers:
            if key.lower() in HOP:
                continue
            if key.lower() == "content-length":
                if not head:
                    continue
                length_sent = True
            self.send_header(key, value)
        if not head:
            self.send_header("Content-Length", str(len(payload)))
        elif not length_sent:
            self.send_header("Content-Length", "0")
        self.end_headers()
        if not head:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_PATCH = handle_any

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
server.daemon_threads = True
print(server.server_address[1], flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass

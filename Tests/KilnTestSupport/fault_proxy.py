"""A fault-injecting reverse proxy for tests: forwards to UPSTREAM, but for a chosen share of
requests answers with a throttling error (in the protocol's own shape), a 500, or drops the
connection — before forwarding, or after forwarding (the answer is lost, so the client retries a
request the service already carried out: what ClientToken idempotency is for).

moto records RunInstances' and CopyImage's ClientToken but does not deduplicate on it, as EC2 does
(https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html): the proxy adds that
documented behaviour — a repeated token gets the first answer, the request is not carried out twice.
Likewise EC2 refuses a CreateImage whose name is taken (InvalidAMIName.Duplicate); moto does not, so
the proxy answers a repeated CreateImage name that way.

argv: UPSTREAM_URL FAULT_RATE SEED STATS_PATH [OPERATIONS [reject-spot]]. With reject-spot, every spot
RunInstances is refused with InsufficientInstanceCapacity (as when a region has no spot capacity).
OPERATIONS, comma-separated, are
operations (Query Action or JSON target suffix) whose first answer is always lost after forwarding,
so that the lost-answer case is certain to be exercised. Prints its port. Loopback only."""
import http.client
import http.server
import json
import random
import sys
import threading
import urllib.parse

upstream = urllib.parse.urlparse(sys.argv[1])
rate = float(sys.argv[2])
rng = random.Random(int(sys.argv[3]))
stats_path = sys.argv[4]
lose_first = set(filter(None, (sys.argv[5] if len(sys.argv) > 5 else "").split(",")))
reject_spot = len(sys.argv) > 6 and sys.argv[6] == "reject-spot"
lock = threading.Lock()
stats = {"requests": 0, "forwarded": 0, "faults": {}, "idempotent_replays": 0}
tokens = {}
image_names = set()


def save():
    with open(stats_path, "w") as f:
        json.dump(stats, f)


def record(kind):
    with lock:
        stats["faults"][kind] = stats["faults"].get(kind, 0) + 1
        save()


def throttle(headers):
    if headers.get("X-Amz-Target"):
        return 400, "application/x-amz-json-1.1", json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
    if "x-www-form-urlencoded" in headers.get("Content-Type", ""):
        return 503, "text/xml", ("<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
                                 "</Message></Error></Errors><RequestID>fault</RequestID></Response>")
    return 503, "application/xml", "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if self.command == "POST" else {}
        operation = form.get("Action", [""])[0] or self.headers.get("X-Amz-Target", "").split(".")[-1]
        with lock:
            stats["requests"] += 1
            roll = rng.random()
            kind = rng.choice(["throttle", "error500", "drop-before", "drop-after"]) if roll < rate else None
            if operation in lose_first:
                lose_first.discard(operation)
                kind = "drop-after"
        if kind == "throttle":
            status, ctype, text = throttle(self.headers)
            return self.answer(status, {"Content-Type": ctype}, text.encode(), kind)
        if kind == "error500":
            return self.answer(500, {"Content-Type": "text/plain"}, b"injected internal error", kind)
        if kind == "drop-before":
            record(kind)
            self.close_connection = True
            return
        if reject_spot and operation == "RunInstances" and form.get("InstanceMarketOptions.MarketType", [""])[0] == "spot":
            with lock:
                stats["spot_rejections"] = stats.get("spot_rejections", 0) + 1
                save()
            return self.answer(400, {"Content-Type": "text/xml"},
                               (b"<Response><Errors><Error><Code>InsufficientInstanceCapacity</Code><Message>There is no Spot "
                                b"capacity available that matches your request.</Message></Error></Errors><RequestID>spot</RequestID></Response>"),
                               None)
        # EC2 refuses a second image of the same name (moto does not): the answer a retried CreateImage gets.
        if operation == "CreateImage":
            name = form.get("Name", [""])[0]
            with lock:
                duplicate = name in image_names
            if duplicate:
                return self.answer(400, {"Content-Type": "text/xml"},
                                   ("<Response><Errors><Error><Code>InvalidAMIName.Duplicate</Code><Message>AMI name " + name +
                                    " is already in use by AMI</Message></Error></Errors><RequestID>dup</RequestID></Response>").encode(),
                                   None)
        token_key = None
        if form.get("Action", [""])[0] in ("RunInstances", "CopyImage") and form.get("ClientToken"):
            token_key = (form["Action"][0], form["ClientToken"][0])
            with lock:
                cached = tokens.get(token_key)
                if cached:
                    stats["idempotent_replays"] += 1
            if cached:
                return self.answer(cached[0], cached[1], cached[2], None)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "proxy-connection")}
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        with lock:
            stats["forwarded"] += 1
            if operation == "CreateImage" and response.status == 200:
                image_names.add(form.get("Name", [""])[0])
            if token_key and response.status == 200:
                tokens[token_key] = (200, {"Content-Type": response.getheader("Content-Type", "text/xml")}, payload)
        if kind == "drop-after":
            record(kind)
            self.close_connection = True
            return
        hop = ("connection", "transfer-encoding", "keep-alive", "content-length")
        head = self.command == "HEAD"
        headers = {k: v for k, v in response.getheaders() if k.lower() not in hop}
        if head and response.getheader("Content-Length") is not None:
            headers["Content-Length"] = response.getheader("Content-Length")
        self.answer(response.status, headers, payload, None, head=head)

    def answer(self, status, headers, payload, kind, head=False):
        head = head or self.command == "HEAD"   # a HEAD answer never carries a body
        if kind:
            record(kind)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if not head:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_any

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print(server.server_address[1], flush=True)
server.serve_forever()

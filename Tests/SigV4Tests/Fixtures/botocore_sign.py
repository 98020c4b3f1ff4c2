#!/usr/bin/env python3
"""Signs requests with botocore, the reference kiln's SigV4 module must match byte for byte.

Usage: botocore_sign.py CASES.json  (written by BotocoreParityTests.swift)

For every case it prints, as one JSON document on stdout:
  url           the request URL rebuilt independently with urllib's quote (checks kiln's URIEncoding)
  headers       the headers botocore's SigV4Auth / S3SigV4Auth added: X-Amz-Date, Authorization,
                X-Amz-Security-Token, X-Amz-Content-SHA256
  presignedURL  the URL botocore's SigV4QueryAuth / S3SigV4QueryAuth produced
The signing time is fixed per case by replacing botocore.auth.get_current_datetime, which is where
SigV4Auth.add_auth reads the clock.

Exit status 3 with a message naming the package when botocore is not importable.
"""
import datetime
import json
import sys
import types
from urllib.parse import quote

try:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as error:
    sys.stderr.write(f"botocore is not importable ({error}): pip install botocore\n")
    sys.exit(3)

_now = [datetime.datetime(1970, 1, 1)]
botocore.auth.get_current_datetime = lambda *args, **kwargs: _now[0]

ADDED = ("X-Amz-Date", "Authorization", "X-Amz-Security-Token", "X-Amz-Content-SHA256")


def build_url(parts):
    """The URL from its raw parts, encoded with Python's quote (unreserved kept, as RFC 3986)."""
    path = "".join(quote(piece["text"].encode("utf-8"), safe="") if piece["encode"] else piece["text"]
                   for piece in parts["path"])
    url = parts["scheme"] + "://" + parts["netloc"] + path
    if parts.get("query") is not None:
        pieces = []
        for parameter in parts["query"]:
            piece = quote(parameter["name"].encode("utf-8"), safe="")
            if parameter.get("value") is not None:
                piece += "=" + quote(parameter["value"].encode("utf-8"), safe="")
            pieces.append(piece)
        url += "?" + "&".join(pieces)
    return url


def sign(case):
    _now[0] = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=case["timeMicros"])
    credentials = Credentials(case["accessKeyID"], case["secretAccessKey"], case.get("sessionToken"))
    s3 = case["service"] == "s3"

    request = AWSRequest(method=case["method"], url=case["url"], data=case["body"].encode("utf-8"))
    for name, value in case["headers"]:
        request.headers[name] = value  # HTTPHeaders appends: repeated names stay repeated
    if case["unsignedPayload"]:
        if s3:
            request.context["client_config"] = types.SimpleNamespace(s3={"payload_signing_enabled": False})
        else:
            request.context["payload_signing_enabled"] = False
    signer = (botocore.auth.S3SigV4Auth if s3 else botocore.auth.SigV4Auth)(
        credentials, case["service"], case["region"])
    signer.add_auth(request)
    added = {name: request.headers[name] for name in ADDED if name in request.headers}

    presign = case["presign"]
    presigned = AWSRequest(method=presign["method"], url=case["url"])
    for name, value in presign["headers"]:
        presigned.headers[name] = value
    query_signer = (botocore.auth.S3SigV4QueryAuth if s3 else botocore.auth.SigV4QueryAuth)(
        credentials, case["service"], case["region"], expires=presign["expires"])
    query_signer.add_auth(presigned)

    return {"id": case["id"], "url": build_url(case["urlParts"]), "headers": added,
            "presignedURL": presigned.url}


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: botocore_sign.py CASES.json\n")
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    json.dump([sign(case) for case in cases], sys.stdout, ensure_ascii=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

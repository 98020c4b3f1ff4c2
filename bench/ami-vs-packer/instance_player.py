"""Plays kiln's build instance for bench/ami-vs-packer.sh: moto boots nothing, so something must do
what the instance's user-data would do at the end of a successful build (docs/instance-protocol.md):
upload a log and a success result record to the presigned URLs in the script, then power off.

It polls moto DIRECTLY (not through the counting proxy, so none of its requests is counted as
kiln's) for running instances in REGIONS it has not seen; for each, it reads the user-data
(DescribeInstanceAttribute userData: base64, then gunzip when it starts with the gzip magic), takes
KILN_BUILD_ID, KILN_LOG_URL and KILN_RESULT_URL from the script's variable lines, PUTs a log and
{"protocol":1,"build_id":…,"status":"succeeded","exit_code":0,"failed_step":null,"steps":[]} to the
URLs (sent to moto's own address: the URLs name the proxy), and stops the instance, as the
script's power-off would with InstanceInitiatedShutdownBehavior=stop. Instances whose user-data is
not a kiln script (Packer's) are left alone. The user-data itself is not run here; kiln's test suite
runs it for real (Tests/RecipeTests/UserDataExecutionTests.swift, the AMI pipeline's end-to-end tests).

argv: MOTO_URL [REGIONS, comma-separated; default us-east-1]. Env: PLAYER_DELAY (seconds between
seeing the instance running and its "power-off"; default 0), PLAYER_POLL (default 0.2).
Stops on SIGTERM/SIGINT. Prints "ready" once it polls, then one line per instance it saw."""
import base64
import gzip
import json
import os
import re
import shlex
import signal
import sys
import time
import urllib.parse
import urllib.request

import boto3
from botocore.config import Config

moto = sys.argv[1]
regions = (sys.argv[2] if len(sys.argv) > 2 else "us-east-1").split(",")
delay = float(os.environ.get("PLAYER_DELAY", "0"))
poll = float(os.environ.get("PLAYER_POLL", "0.2"))
moto_netloc = urllib.parse.urlsplit(moto).netloc
running = [True]
VARIABLE = re.compile(r"^(?:readonly |export )?(KILN_BUILD_ID|KILN_LOG_URL|KILN_RESULT_URL)=(.*)$")


def stop(*_):
    running[0] = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)

config = Config(retries={"max_attempts": 3, "mode": "standard"})
clients = {region: boto3.client("ec2", endpoint_url=moto, region_name=region, config=config,
                                aws_access_key_id="AKIAKILNBENCHPLAYER1", aws_secret_access_key="player")
           for region in regions}


def variables(user_data):
    """KILN_* variables from the script's header (up to its first blank line)."""
    found = {}
    for line in user_data.splitlines():
        if not line.strip():
            break
        match = VARIABLE.match(line)
        if match:
            words = shlex.split(match.group(2))
            found[match.group(1)] = words[0] if words else ""
    return found


def put(url, body, content_type):
    """PUTs body to a presigned URL, sent to moto itself (the URL names the proxy)."""
    parts = urllib.parse.urlsplit(url)
    direct = urllib.parse.urlunsplit((parts.scheme, moto_netloc, parts.path, parts.query, ""))
    request = urllib.request.Request(direct, data=body, method="PUT", headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def play(ec2, instance_id):
    attribute = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    raw = base64.b64decode(attribute.get("UserData", {}).get("Value", "") or "")
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    found = variables(raw.decode("utf-8", "replace"))
    if "KILN_BUILD_ID" not in found:
        return "not a kiln script; left alone"
    build_id = found["KILN_BUILD_ID"]
    if delay:
        time.sleep(delay)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    log = (f"{stamp} ::kiln:: build-begin {build_id}\n"
           f"{stamp} (played by bench/ami-vs-packer/instance_player.py: nothing was run)\n").encode()
    result = json.dumps({"protocol": 1, "build_id": build_id, "status": "succeeded", "exit_code": 0,
                         "failed_step": None, "steps": []}, separators=(",", ":")).encode()
    statuses = []
    if found.get("KILN_LOG_URL"):
        statuses.append(put(found["KILN_LOG_URL"], log, "text/plain"))
    if found.get("KILN_RESULT_URL"):
        statuses.append(put(found["KILN_RESULT_URL"], result, "application/json"))
    ec2.stop_instances(InstanceIds=[instance_id])
    return f"build {build_id}: uploads {statuses}, stopped"


seen = set()
print("ready", flush=True)
while running[0]:
    for region, ec2 in clients.items():
        try:
            pages = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
            for reservation in pages["Reservations"]:
                for instance in reservation["Instances"]:
                    instance_id = instance["InstanceId"]
                    if instance_id in seen:
                        continue
                    seen.add(instance_id)
                    try:
                        outcome = play(ec2, instance_id)
                    except Exception as error:  # report and go on: kiln will then time out and say so
                        outcome = f"error: {error}"
                    print(f"{region} {instance_id}: {outcome}", flush=True)
        except Exception as error:
            print(f"{region}: poll failed: {error}", flush=True)
    time.sleep(poll)

#!/usr/bin/env bash
# bench/ami-vs-packer.sh: kiln's AMI build side by side with Packer 1.6.6's amazon-ebs builder (Debian's
# `packer` package), both against moto's server on loopback, counting every API request each tool makes
# in the same place: a counting reverse proxy in front of moto.
#
# The job: boot moto's Amazon Linux 2 AMI with user-data, snapshot it to an AMI, copy that to us-west-2,
# make it public, tag it. Each tool runs it RUNS times (default 3), alternating, each run against a
# freshly reset moto. Per tool it reports the API requests (median, and by operation for one run), the
# wall time (median), and what was left behind; then it prints the results as Markdown and writes them
# into docs/benchmarks.md ("## AMI build: kiln vs Packer 1.6.6 (amazon-ebs) on moto").
#
# moto boots nothing, so kiln's instance is played: bench/ami-vs-packer/instance_player.py uploads a
# success result record to the presigned URLs in the user-data and stops the instance.
#
# Needs: swift, python3, curl; installs `packer` (apt) and `moto[server]`, `boto3` (pip) when missing.
# Environment: RUNS (default 3); KEEP=1 keeps the working directory (logs, per-run request lines);
# PLAYER_DELAY (seconds the played instance "works" before it reports; default 0).
# Everything listens on 127.0.0.1; nothing goes beyond loopback.
set -euo pipefail
export LC_ALL=C

RUNS=${RUNS:-3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
helpers=$here/ami-vs-packer
doc=$repo/docs/benchmarks.md
regions=us-east-1,us-west-2
began=$EPOCHREALTIME
load=$(cut -d " " -f 1 /proc/loadavg)

log() { printf 'ami-vs-packer: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive whole number, got '$RUNS'"
[[ ${PLAYER_DELAY:-0} =~ ^[0-9]+([.][0-9]+)?$ ]] || die "PLAYER_DELAY must be a number of seconds"

as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# --- what the benchmark needs -------------------------------------------------------------------------
for tool in swift python3 curl; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
if ! command -v packer >/dev/null; then
  log "installing packer (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y packer >/dev/null
fi
packer_version=$(packer version | head -n 1)
[[ $packer_version == "Packer v1.6.6" ]] \
  || die "this compares with Packer 1.6.6 (Debian's packer 1.6.6+ds2); found '$packer_version' on PATH"
if ! command -v moto_server >/dev/null; then
  log "installing moto[server] (pip)"
  python3 -m pip install --quiet 'moto[server]'
  hash -r
  command -v moto_server >/dev/null || die "moto_server is still not on PATH after pip install 'moto[server]'"
fi
python3 -c 'import boto3' 2>/dev/null || python3 -m pip install --quiet boto3

log "building kiln (swift build -c release --product kiln)"
(cd "$repo" && swift build -c release --product kiln >&2)
kiln=$(cd "$repo" && swift build -c release --show-bin-path)/kiln
[[ -x $kiln ]] || die "no kiln binary at $kiln"
# What was built: the commit, and whether the sources differed from it.
git_state=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "an unknown commit")
if [[ -n $(git -C "$repo" status --porcelain -- Sources Package.swift 2>/dev/null) ]]; then
  git_state="$git_state with uncommitted changes to Sources/ or Package.swift"
fi

# --- servers, and the trap that stops them --------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/ami-vs-packer.XXXXXX")
mkdir -p "$work/runs" "$work/home"
moto_pid='' proxy_pid='' player_pid=''
stop() {
  local pid
  for pid in "$player_pid" "$proxy_pid" "$moto_pid"; do
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
}
finish() {
  stop
  if [[ ${KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

moto_port=$(free_port)
moto=http://127.0.0.1:$moto_port
MOTO_ALLOW_NONEXISTENT_REGION=true AWS_DEFAULT_REGION=us-east-1 \
  moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do
  curl -fsS -o /dev/null -X POST "$moto/moto-api/reset" 2>/dev/null && break
  kill -0 "$moto_pid" 2>/dev/null || die "moto_server did not start: $(tail -n 5 "$work/moto.log")"
  sleep 0.2
done
curl -fsS -o /dev/null -X POST "$moto/moto-api/reset" || die "moto_server does not answer on $moto"

requests=$work/requests.jsonl
: >"$requests"
python3 "$helpers/counting_proxy.py" "$moto" "$requests" >"$work/proxy.port" 2>"$work/proxy.log" &
proxy_pid=$!
for _ in $(seq 100); do
  [[ -s $work/proxy.port ]] && break
  kill -0 "$proxy_pid" 2>/dev/null || die "the counting proxy did not start: $(cat "$work/proxy.log")"
  sleep 0.1
done
proxy=http://127.0.0.1:$(head -n 1 "$work/proxy.port")
log "moto on $moto, counting proxy on $proxy, working in $work"

# --- one run ----------------------------------------------------------------------------------------
base_ami() {
  # moto's newest x86_64 Amazon Linux 2 image, asked of moto directly (not counted).
  python3 - "$moto" <<'EOF'
import sys, boto3
ec2 = boto3.client("ec2", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="AKIAKILNBENCHLOOKUP1", aws_secret_access_key="lookup")
images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["amzn2-ami-hvm-*"]},
                                                         {"Name": "architecture", "Values": ["x86_64"]}])["Images"]
gp2 = [i for i in images if i["Name"].endswith("-gp2")] or images
if not gp2:
    sys.exit("moto has no amzn2-ami-hvm-* image owned by amazon")
print(max(gp2, key=lambda i: (i.get("CreationDate", ""), i["Name"]))["ImageId"])
EOF
}

start_player() {
  PLAYER_DELAY=${PLAYER_DELAY:-0} python3 "$helpers/instance_player.py" "$moto" us-east-1 >"$1" 2>&1 &
  player_pid=$!
  for _ in $(seq 200); do
    grep -q '^ready$' "$1" 2>/dev/null && return 0
    kill -0 "$player_pid" 2>/dev/null || die "the instance player did not start: $(cat "$1")"
    sleep 0.05
  done
  die "the instance player did not get ready"
}

stop_player() {
  if [[ -n $player_pid ]]; then
    kill "$player_pid" 2>/dev/null || true
    wait "$player_pid" 2>/dev/null || true
    player_pid=''
  fi
}

run_one() {
  local tool=$1 n=$2 dir=$work/$1-$2 out=$work/runs/$1-$2
  mkdir -p "$dir"
  curl -fsS -o /dev/null -X POST "$moto/moto-api/reset"
  local ami
  ami=$(base_ami)
  python3 "$helpers/census.py" state "$moto" "$regions" >"$dir/before.json"
  local offset rc=0 started ended products=''
  offset=$(wc -l <"$requests")
  case $tool in
    kiln)
      sed "s/@BASE_AMI@/$ami/" "$helpers/recipe.yaml" >"$dir/recipe.yaml"
      start_player "$dir/player.log"
      started=$EPOCHREALTIME
      (cd "$dir" && env -i PATH="$PATH" HOME="$work/home" TMPDIR="${TMPDIR:-/tmp}" \
        AWS_ENDPOINT_URL="$proxy" AWS_ACCESS_KEY_ID=AKIAKILNBENCHEXAMPLE AWS_SECRET_ACCESS_KEY=kilnBenchSecretForMotoOnly \
        AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true KILN_POLL_SECONDS=0.5 \
        timeout 300 "$kiln" build --target ami --bucket kiln-bench-logs recipe.yaml) >"$dir/stdout" 2>"$dir/stderr" || rc=$?
      ended=$EPOCHREALTIME
      stop_player
      products=$(sed -nE 's/^  ([a-z0-9-]+)  (ami-[0-9a-f]+)$/\1=\2/p' "$dir/stdout" | paste -sd, -)
      ;;
    packer)
      started=$EPOCHREALTIME
      (cd "$dir" && env -i PATH="$PATH" HOME="$work/home" TMPDIR="${TMPDIR:-/tmp}" CHECKPOINT_DISABLE=1 \
        AWS_ACCESS_KEY_ID=AKIAKILNBENCHEXAMPLE AWS_SECRET_ACCESS_KEY=kilnBenchSecretForMotoOnly \
        AWS_EC2_METADATA_DISABLED=true PACKER_LOG=1 PACKER_LOG_PATH="$dir/packer.log" \
        timeout 300 packer build -machine-readable -color=false \
          -var "endpoint=$proxy" -var "source_ami=$ami" -var "ami_name=packer-bench-$n" \
          -var "user_data_file=$helpers/user-data.sh" "$helpers/packer.pkr.hcl") >"$dir/stdout" 2>"$dir/stderr" || rc=$?
      ended=$EPOCHREALTIME
      products=$(sed -nE 's/^[0-9]+,[^,]*,artifact,0,id,(.*)$/\1/p' "$dir/stdout" | head -n 1 \
        | sed 's/%!(PACKER_COMMA)/,/g; s/:/=/g')
      ;;
  esac
  tail -n "+$((offset + 1))" "$requests" >"$out.jsonl"
  python3 "$helpers/census.py" state "$moto" "$regions" >"$dir/after.json"
  python3 "$helpers/census.py" leftovers "$dir/before.json" "$dir/after.json" "$products" >"$out.leftovers.json"
  local seconds
  seconds=$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.3f", b - a }')
  printf '{"tool":"%s","run":%d,"rc":%d,"seconds":%s,"products":"%s","base_ami":"%s"}\n' \
    "$tool" "$n" "$rc" "$seconds" "$products" "$ami" >"$out.json"
  log "$tool run $n: exit $rc, $(wc -l <"$out.jsonl") requests, ${seconds} s, products ${products:-none}"
  if [[ $rc -ne 0 ]]; then
    log "$tool run $n failed; the last lines of its output:"
    tail -n 15 "$dir/stderr" "$dir/stdout" >&2 || true
  fi
}

for n in $(seq "$RUNS"); do
  run_one kiln "$n"
  run_one packer "$n"
done

# --- report -----------------------------------------------------------------------------------------
mem_gib=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
os_name=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)
packer_deb=$(dpkg-query -W -f='${Version}' packer 2>/dev/null || echo "not from apt")
minutes=$(awk -v a="$began" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) / 60 < 1 ? 1 : (b - a) / 60 }')
python3 - "$work/info.json" <<EOF
import json, sys
json.dump({
    "date": "$(date -u +%Y-%m-%d)",
    "machine": "$(nproc) CPUs, $mem_gib GiB RAM, $os_name, $(uname -m), load average $load at the start",
    "kiln": "$("$kiln" --version) (release build of $git_state)",
    "packer": "${packer_version#Packer v} (Debian package $packer_deb)",
    "moto": "$(python3 -c 'import moto; print(moto.__version__)')",
    "swift": "$(swift --version 2>&1 | head -n 1 | sed 's/ (.*//')",
    "python": "Python $(python3 -c 'import platform; print(platform.python_version())')",
    "minutes": "$minutes",
}, open(sys.argv[1], "w"))
EOF
python3 "$helpers/report.py" "$work/runs" "$doc" "$work/info.json"
log "wrote the section into ${doc#"$repo"/}"

#!/usr/bin/env bash
# bench/oci.sh: kiln's OCI pipeline side by side with the tools users would pick instead, on the same
# trees, in the same run, on this machine. Rows:
#
#   layers   one layer from a directory tree: `kiln layer` (gzip, zstd, none) against `tar -c | pigz -6`,
#            `tar -c | gzip -6`, `tar -c | zstd -3 -T0` (also with the two SHA-256s a layer needs, by tee
#            into `openssl dgst -sha256`), `umoci repack`, `buildah copy` + `buildah commit`,
#            on a 1 GiB synthetic tree and on a real tree (a debootstrap root from kiln's cache, else /usr);
#            plus the machine's limits: `openssl speed sha256` on one core and `cat` of the tree to /dev/null;
#   push     a 1 GiB image (built by kiln from the synthetic tree) pushed to a local docker-registry by
#            `kiln push` and by `skopeo copy oci:… docker://…`, each into an empty registry, then again
#            unchanged (blob uploads counted in the registry's access log);
#   rebuild  `kiln build --target oci` of a small recipe on a busybox layout base: unchanged, and with
#            its middle step changed;
#   memory   peak resident memory (`/usr/bin/time -v`) of `kiln build` and `kiln push` of a 2 GiB layer:
#            a tree of ~39,000 files (the synthetic tree plus 1 GiB of random files) and 8 files of 256 MiB.
#
# Tools alternate within each run (the order flips every run); RUNS runs each (default 3); medians and
# ratios go into docs/benchmarks.md ("## OCI: kiln vs tar/pigz/zstd, umoci, buildah and skopeo"), a
# Markdown table per row group, with each target marked met or missed.
#
# Needs: swift, python3, curl, GNU tar, gzip, openssl; installs with apt when missing: pigz, zstd, umoci,
# buildah, skopeo, docker-registry, apache2-utils, time. Runs as root (buildah, kiln's sandbox).
# Environment: RUNS (default 3); SYNTHETIC_MIB (the synthetic tree's size, default 1024: smaller only to try
# the script out); ONLY=layers,push,rebuild,memory (a subset of the row groups);
# BENCH_DIR (default /var/tmp/kiln-bench: the corpora are kept there between runs, ~4 GiB);
# KEEP=1 keeps this run's working directory (outputs, logs, results.jsonl); MERGE=FILE takes the groups
# left out by ONLY from an earlier run's results.jsonl (e.g. $BENCH_DIR/last-results.jsonl).
# Everything listens on 127.0.0.1.
set -euo pipefail
export LC_ALL=C

RUNS=${RUNS:-3}
SYNTHETIC_MIB=${SYNTHETIC_MIB:-1024}
ONLY=${ONLY:-layers,push,rebuild,memory}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
helpers=$here/oci
doc=${BENCH_DOC:-$repo/docs/benchmarks.md}
bench_dir=${BENCH_DIR:-/var/tmp/kiln-bench}
began=$EPOCHREALTIME
load=$(cut -d " " -f 1 /proc/loadavg)

log() { printf 'oci-bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
wants() { [[ ,$ONLY, == *,$1,* ]]; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive whole number, got '$RUNS'"
[[ $SYNTHETIC_MIB =~ ^[1-9][0-9]*$ ]] || die "SYNTHETIC_MIB must be a positive whole number, got '$SYNTHETIC_MIB'"
for group in ${ONLY//,/ }; do
  [[ $group =~ ^(layers|push|rebuild|memory)$ ]] || die "ONLY takes layers, push, rebuild, memory; got '$group'"
done
[[ $EUID -eq 0 ]] || die "run as root: buildah commits with the vfs driver and kiln's run steps need it"

# --- what the benchmark needs -------------------------------------------------------------------------
for tool in swift python3 curl tar gzip openssl; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
missing=()
for pair in pigz:pigz zstd:zstd umoci:umoci buildah:buildah skopeo:skopeo docker-registry:docker-registry \
            htpasswd:apache2-utils /usr/bin/time:time; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]} (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null
fi

log "building kiln (swift build -c release --scratch-path .build-bench --product kiln)"
(cd "$repo" && swift build -c release --scratch-path .build-bench --product kiln >&2)
kiln=$(cd "$repo" && swift build -c release --scratch-path .build-bench --show-bin-path)/kiln
[[ -x $kiln ]] || die "no kiln binary at $kiln"
# Builds here are throwaway: keep them out of images/catalog.json when this kiln records builds there.
build_flags=()
if "$kiln" build --help 2>/dev/null | grep -q -- '--no-catalog'; then build_flags=(--no-catalog); fi
git_state=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "an unknown commit")
if [[ -n $(git -C "$repo" status --porcelain -- Sources Package.swift 2>/dev/null) ]]; then
  git_state="$git_state with uncommitted changes to Sources/ or Package.swift"
fi

# --- working directory, servers, and the trap that stops them -------------------------------------------
mkdir -p "$bench_dir"
work=$(mktemp -d "$bench_dir/run.XXXXXX")
results=$work/results.jsonl
: >"$results"
registry_pid='' registry_port='' registry_log=''
stop_registry() {
  if [[ -n $registry_pid ]] && kill -0 "$registry_pid" 2>/dev/null; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  registry_pid=''
}
finish() {
  stop_registry
  buildah --root "$work/buildah/root" --runroot "$work/buildah/run" --storage-driver vfs rm --all >/dev/null 2>&1 || true
  if [[ ${KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# An empty docker-registry (no auth) on a free loopback port, its access log in $registry_log.
start_registry() {
  stop_registry
  rm -rf "$work/registry"
  mkdir -p "$work/registry/storage"
  registry_port=$(free_port)
  registry_log=$work/registry/access.log
  cat >"$work/registry/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $work/registry/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$registry_port
EOF
  docker-registry serve "$work/registry/config.yml" >"$registry_log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$registry_port/v2/" 2>/dev/null && return 0
    kill -0 "$registry_pid" 2>/dev/null || die "docker-registry did not start: $(tail -n 5 "$registry_log")"
    sleep 0.05
  done
  die "docker-registry does not answer on 127.0.0.1:$registry_port"
}

# Blob upload requests (POST/PATCH/PUT to /v2/…/blobs/uploads) in the access log after line $1.
uploads_since() {
  tail -n +"$(($1 + 1))" "$registry_log" | grep -cE '"(POST|PATCH|PUT) /v2/[^ ]*/blobs/uploads' || true
}

# timed NAME COMMAND…: runs COMMAND (a bash string) under /usr/bin/time; sets WALL (seconds, from
# EPOCHREALTIME), RSS (KiB, the largest process's maximum resident set) and CPU (user + system seconds). Output in $work/NAME.{out,err}.
timed() {
  local name=$1 command=$2 start end
  start=$EPOCHREALTIME
  if ! /usr/bin/time -f '%M %U %S' -o "$work/$name.rss" bash -c "$command" >"$work/$name.out" 2>"$work/$name.err"; then
    die "$name failed: $command: $(tail -n 20 "$work/$name.err")"
  fi
  end=$EPOCHREALTIME
  WALL=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
  read -r RSS user system < <(tail -n 1 "$work/$name.rss")
  CPU=$(awk -v u="$user" -v s="$system" 'BEGIN { printf "%.2f", u + s }')
}

# synced FILE: sets SYNC to the seconds `sync FILE` (fsync) takes right after a tool wrote FILE: what
# making the output durable costs, which kiln's layer writer does before it returns and the peers do not.
synced() {
  local start=$EPOCHREALTIME
  sync "$1"
  SYNC=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
}

# record GROUP ROW TOOL RUN [key=value…]: one JSON line into results.jsonl (values are numbers, true,
# false, or strings when quoted as key='"text"').
record() {
  local group=$1 row=$2 tool=$3 run=$4 line
  shift 4
  line="{\"group\":\"$group\",\"row\":\"$row\",\"tool\":\"$tool\",\"run\":$run"
  for pair in "$@"; do line+=",\"${pair%%=*}\":${pair#*=}"; done
  printf '%s}\n' "$line" >>"$results"
}

tar_of() { printf 'tar -C %q --sort=name --numeric-owner -cf - .' "$1"; }
bytes_of() { stat -c %s "$1"; }
largest_blob() { find "$1/blobs" -type f -printf '%s %p\n' | sort -n | tail -n 1 | cut -d ' ' -f 2; }

# --- corpora ----------------------------------------------------------------------------------------------
synthetic=$bench_dir/synthetic
if [[ ! -f $bench_dir/synthetic.done ]] || [[ $(cat "$bench_dir/synthetic.mib" 2>/dev/null) != "$SYNTHETIC_MIB" ]]; then
  log "writing the $SYNTHETIC_MIB MiB synthetic tree into $synthetic (once; kept for later runs)"
  rm -rf "$synthetic" "$bench_dir/synthetic.done" "$bench_dir/big.done"
  python3 "$helpers/corpus.py" "$synthetic" "$SYNTHETIC_MIB" >"$bench_dir/synthetic.done.tmp"
  echo "$SYNTHETIC_MIB" >"$bench_dir/synthetic.mib"
  mv "$bench_dir/synthetic.done.tmp" "$bench_dir/synthetic.done"
fi
synthetic_about=$(cat "$bench_dir/synthetic.done")

real=$bench_dir/real
if [[ ! -f $bench_dir/real.done ]]; then
  rm -rf "$real"
  mkdir -p "$real"
  cache=${KILN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kiln}
  base=$(python3 - "$cache" <<'EOF' || true
import glob, json, os, sys
for path in sorted(glob.glob(os.path.join(sys.argv[1], "bases", "*.json"))):
    record = json.load(open(path))
    blob = os.path.join(sys.argv[1], "store", "blobs", *record["digest"].split(":"))
    if record.get("mediaType", "").endswith("tar+gzip") and os.path.exists(blob):
        print(blob + "\t" + record.get("createdBy", "a debootstrap root")); break
EOF
)
  if [[ -n $base ]]; then
    log "extracting kiln's cached debootstrap base (${base#*$'\t'}) into $real (once)"
    tar -C "$real" --numeric-owner -xzpf "${base%%$'\t'*}"
    echo "${base#*$'\t'}, as kiln's cache holds it (the base layer of \`kiln build --target oci recipes/examples/tools.yaml\`)" \
      >"$bench_dir/real.done"
  else
    log "no debootstrap base in kiln's cache; copying /usr/bin, /usr/lib and /usr/share into $real (once)"
    tar -C / -cf - usr/bin usr/lib usr/share | tar -C "$real" -xpf -
    echo "/usr/bin, /usr/lib and /usr/share of this machine" >"$bench_dir/real.done"
  fi
fi
real_about=$(cat "$bench_dir/real.done")

about_tree() { # files, symlinks, total bytes of regular files
  python3 - "$1" <<'EOF'
import os, sys
files = links = size = 0
for d, dirs, names in os.walk(sys.argv[1]):
    for n in names:
        p = os.path.join(d, n)
        if os.path.islink(p): links += 1
        elif os.path.isfile(p): files += 1; size += os.lstat(p).st_size
print(f'{{"files": {files}, "symlinks": {links}, "bytes": {size}}}')
EOF
}
synthetic_stats=$(about_tree "$synthetic")
real_stats=$(about_tree "$real")

# --- layers -----------------------------------------------------------------------------------------------
buildah_() { buildah --root "$work/buildah/root" --runroot "$work/buildah/run" --storage-driver vfs "$@"; }

# One layer of tree $2 (corpus $1) by tool $3 in run $4.
layer_run() {
  local corpus=$1 tree=$2 tool=$3 run=$4 out=$work/out
  rm -rf "$out" && mkdir -p "$out"
  case $tool in
    kiln-gzip|kiln-zstd|kiln-none)
      timed "$tool" "$(printf '%q layer %q --output %q --compression %s --json' "$kiln" "$tree" "$out/layer" "${tool#kiln-}")"
      record layers "$corpus" "$tool" "$run" wall="$WALL" rss_kb="$RSS" cpu="$CPU" size="$(bytes_of "$out/layer")" \
        tar_bytes="$(jq .uncompressedSize "$work/$tool.out")" digest="$(jq .digest "$work/$tool.out")" ;;
    pigz) timed pigz "$(tar_of "$tree") | pigz -6 >$out/layer"
      synced "$out/layer"
      record layers "$corpus" pigz "$run" wall="$WALL" rss_kb="$RSS" cpu="$CPU" sync="$SYNC" size="$(bytes_of "$out/layer")" ;;
    gzip) timed gzip "$(tar_of "$tree") | gzip -6 >$out/layer"
      synced "$out/layer"
      record layers "$corpus" gzip "$run" wall="$WALL" rss_kb="$RSS" cpu="$CPU" sync="$SYNC" size="$(bytes_of "$out/layer")" ;;
    zstd) timed zstd "$(tar_of "$tree") | zstd -q -3 -T0 >$out/layer"
      synced "$out/layer"
      record layers "$corpus" zstd "$run" wall="$WALL" rss_kb="$RSS" cpu="$CPU" sync="$SYNC" size="$(bytes_of "$out/layer")" ;;
    pigz-sha|zstd-sha)
      # What a user of tar and a compressor needs for an OCI layer: the diffID (SHA-256 of the tar) and the
      # digest (SHA-256 of the file) as well, computed as the stream passes (tee into `openssl dgst`, which
      # uses the CPU's SHA instructions as kiln's hashing does; coreutils' sha256sum here does not).
      local compress="pigz -6"
      [[ $tool == zstd-sha ]] && compress="zstd -q -3 -T0"
      timed "$tool" "set -o pipefail; $(tar_of "$tree") | tee >(openssl dgst -sha256 >$out/diffid) | $compress | tee >(openssl dgst -sha256 >$out/digest) >$out/layer; wait"
      synced "$out/layer"
      record layers "$corpus" "$tool" "$run" wall="$WALL" rss_kb="$RSS" cpu="$CPU" sync="$SYNC" size="$(bytes_of "$out/layer")" ;;
    tar) timed tar "$(tar_of "$tree") >$out/layer"
      synced "$out/layer"
      record layers "$corpus" tar "$run" wall="$WALL" rss_kb="$RSS" cpu="$CPU" sync="$SYNC" size="$(bytes_of "$out/layer")" ;;
    umoci)
      rm -rf "$work/umoci/run" && cp -a "$work/umoci/$corpus-layout" "$work/umoci/run"
      timed umoci "umoci repack --image $work/umoci/run:new $work/umoci/$corpus-bundle"
      synced "$(largest_blob "$work/umoci/run")"
      record layers "$corpus" umoci "$run" wall="$WALL" rss_kb="$RSS" cpu="$CPU" sync="$SYNC" \
        size="$(bytes_of "$(largest_blob "$work/umoci/run")")"
      rm -rf "$work/umoci/run" ;;
    buildah)
      local container copy_wall copy_rss copy_cpu
      container=$(buildah_ from scratch)
      timed buildah-copy "$(printf 'buildah --root %q --runroot %q --storage-driver vfs copy --quiet %q %q /' \
        "$work/buildah/root" "$work/buildah/run" "$container" "$tree")"
      copy_wall=$WALL copy_rss=$RSS copy_cpu=$CPU
      timed buildah-commit "$(printf 'buildah --root %q --runroot %q --storage-driver vfs commit --quiet --disable-compression=false %q oci:%q:new' \
        "$work/buildah/root" "$work/buildah/run" "$container" "$out/buildah")"
      local commit_wall=$WALL commit_rss=$RSS commit_cpu=$CPU
      synced "$(largest_blob "$out/buildah")"
      WALL=$commit_wall RSS=$commit_rss CPU=$commit_cpu
      record layers "$corpus" buildah "$run" wall="$(awk -v a="$copy_wall" -v b="$WALL" 'BEGIN { printf "%.3f", a + b }')" \
        copy_wall="$copy_wall" commit_wall="$WALL" rss_kb="$((copy_rss > RSS ? copy_rss : RSS))" \
        cpu="$(awk -v a="$copy_cpu" -v b="$CPU" 'BEGIN { printf "%.2f", a + b }')" commit_cpu="$CPU" sync="$SYNC" \
        size="$(bytes_of "$(largest_blob "$out/buildah")")"
      buildah_ rm "$container" >/dev/null ;;
    cat) timed cat "find $(printf %q "$tree") -type f -print0 | xargs -0 cat >/dev/null"
      record layers "$corpus" cat "$run" wall="$WALL" rss_kb="$RSS" cpu="$CPU" ;;
  esac
  rm -rf "$out"
}

if wants layers; then
  log "openssl speed sha256 (one core, 16 KiB blocks, 3 s)"
  openssl speed -seconds 3 -bytes 16384 sha256 >"$work/openssl.out" 2>/dev/null
  sha_k=$(awk '/^sha256 / { v = $NF; sub(/k$/, "", v); print v }' "$work/openssl.out")
  record limits sha256 openssl 1 bytes_per_second="$(awk -v k="$sha_k" 'BEGIN { printf "%.0f", k * 1000 }')"

  mkdir -p "$work/umoci" "$work/buildah"
  for corpus in synthetic real; do
    tree=${!corpus}
    # umoci repacks a bundle: an empty image unpacked, the tree hard-linked into its rootfs (not timed).
    umoci init --layout "$work/umoci/$corpus-layout" >/dev/null
    umoci new --image "$work/umoci/$corpus-layout:base" >/dev/null
    umoci unpack --image "$work/umoci/$corpus-layout:base" "$work/umoci/$corpus-bundle" >/dev/null
    cp -al "$tree/." "$work/umoci/$corpus-bundle/rootfs/"
    tools=(kiln-gzip pigz pigz-sha kiln-zstd zstd zstd-sha umoci buildah kiln-none tar cat)
    for run in $(seq "$RUNS"); do
      order=("${tools[@]}")
      if ((run % 2 == 0)); then order=(pigz-sha pigz kiln-gzip zstd-sha zstd kiln-zstd buildah umoci tar kiln-none cat); fi
      ((run == 1)) && order+=(gzip)   # single-core gzip: the slow reference, once per corpus
      log "layers, $corpus tree, run $run/$RUNS: ${order[*]}"
      for tool in "${order[@]}"; do layer_run "$corpus" "$tree" "$tool" "$run"; done
    done
    rm -rf "$work/umoci/$corpus-bundle" "$work/umoci/$corpus-layout"
  done
fi

# --- push -------------------------------------------------------------------------------------------------
# build_image NAME TREE: $bench_dir/NAME.yaml, a recipe with one files step copying $bench_dir/TREE into
# /data on a scratch base (the recipe sits next to the tree: files sources are recipe-relative).
build_image() {
  local name=$1 src=$2
  cat >"$bench_dir/$name.yaml" <<EOF
name: $name
version: "1"
epoch: 1767225600
base:
  oci: scratch
steps:
  - name: data
    files:
      src: $src
      dest: /data
oci:
  compression: gzip
EOF
}

if wants push; then
  log "push: building the 1 GiB image (kiln build --target oci, one files step; not timed against peers)"
  build_image bench-push synthetic
  mkdir -p "$work/push"
  timed push-build "$(printf 'cd %q && KILN_CACHE_DIR=%q %q build --target oci '"${build_flags[*]}"' --output oci-layout:%q --json %q' \
    "$work/push" "$work/push/cache" "$kiln" "$work/push/layout" "$bench_dir/bench-push.yaml")"
  image_bytes=$(jq '[.[0].build.layers[].size] | add' "$work/push-build.out")
  record push build kiln 1 wall="$WALL" rss_kb="$RSS" image_bytes="$image_bytes" \
    digest="$(jq '.[0].build.manifestDigest' "$work/push-build.out")"
  for run in $(seq "$RUNS"); do
    order=(kiln skopeo)
    ((run % 2 == 0)) && order=(skopeo kiln)
    log "push, run $run/$RUNS: ${order[*]}"
    for tool in "${order[@]}"; do
      start_registry
      for attempt in first again; do
        lines=$(wc -l <"$registry_log")
        if [[ $tool == kiln ]]; then
          timed "push-$tool" "$(printf '%q push oci-layout:%q:1 127.0.0.1:%s/bench/image:1 --json' "$kiln" "$work/push/layout" "$registry_port")"
          extra=(bytes_uploaded="$(jq .bytesUploaded "$work/push-$tool.out")" blobs_uploaded="$(jq .blobsUploaded "$work/push-$tool.out")")
        else
          timed "push-$tool" "$(printf 'skopeo copy --quiet --preserve-digests --dest-tls-verify=false oci:%q:1 docker://127.0.0.1:%s/bench/image:1' \
            "$work/push/layout" "$registry_port")"
          extra=()
        fi
        sleep 0.2   # the access log is written after the response
        record push "$attempt" "$tool" "$run" wall="$WALL" rss_kb="$RSS" upload_requests="$(uploads_since "$lines")" "${extra[@]}"
      done
      digest=$(curl -fsS -o /dev/null -w '%header{docker-content-digest}' \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$registry_port/v2/bench/image/manifests/1")
      record push digest "$tool" "$run" digest="\"$digest\""
    done
  done
  stop_registry
  rm -rf "$work/push"
fi

# --- rebuild ----------------------------------------------------------------------------------------------
if wants rebuild; then
  log "rebuild: a busybox layout base (umoci) and a three-step recipe"
  r=$work/rebuild
  mkdir -p "$r/root/bin"
  umoci init --layout "$r/base" >/dev/null
  umoci new --image "$r/base:busybox" >/dev/null
  umoci unpack --image "$r/base:busybox" "$r/bundle" >/dev/null
  mkdir -p "$r/bundle/rootfs/bin" "$r/bundle/rootfs/etc" "$r/bundle/rootfs/tmp"
  cp /bin/busybox "$r/bundle/rootfs/bin/busybox"
  for applet in sh echo cat mkdir ls test; do ln -s busybox "$r/bundle/rootfs/bin/$applet"; done
  umoci repack --image "$r/base:busybox" "$r/bundle" >/dev/null
  umoci config --image "$r/base:busybox" --config.env PATH=/bin >/dev/null
  rm -rf "$r/bundle"
  mkdir -p "$r/conf"
  echo "value 0" >"$r/conf/settings"
  cat >"$r/recipe.yaml" <<'EOF'
name: bench-rebuild
version: "1"
epoch: 1767225600
base:
  oci:
    layout: base
    ref: busybox
steps:
  - name: one
    run: mkdir -p /opt/one && echo one > /opt/one/file
  - name: two
    files:
      src: conf
      dest: /opt/conf
  - name: three
    run: cat /opt/conf/settings > /opt/three
tests:
  - name: three
    run: test -s /opt/three
EOF
  build="$(printf 'cd %q && KILN_CACHE_DIR=%q %q build --target oci %s --json recipe.yaml' "$r" "$r/cache" "$kiln" "${build_flags[*]}")"
  timed rebuild-cold "$build"
  record rebuild cold kiln 1 wall="$WALL" rss_kb="$RSS" steps_run="$(jq '.[0].build.stepsRun | length' "$work/rebuild-cold.out")"
  for run in $(seq "$RUNS"); do
    log "rebuild, run $run/$RUNS"
    timed rebuild-same "$build"
    record rebuild unchanged kiln "$run" wall="$WALL" rss_kb="$RSS" \
      steps_run="$(jq -c '.[0].build.stepsRun' "$work/rebuild-same.out")" \
      steps_cached="$(jq -c '.[0].build.stepsCached' "$work/rebuild-same.out")" \
      kiln_seconds="$(jq '.[0].build.seconds' "$work/rebuild-same.out")"
    echo "value $run" >"$r/conf/settings"
    timed rebuild-changed "$build"
    record rebuild changed kiln "$run" wall="$WALL" rss_kb="$RSS" \
      steps_run="$(jq -c '.[0].build.stepsRun' "$work/rebuild-changed.out")" \
      steps_cached="$(jq -c '.[0].build.stepsCached' "$work/rebuild-changed.out")" \
      kiln_seconds="$(jq '.[0].build.seconds' "$work/rebuild-changed.out")"
  done
  rm -rf "$r"
fi

# --- memory -----------------------------------------------------------------------------------------------
if wants memory; then
  big=$bench_dir/big
  if [[ ! -f $bench_dir/big.done ]]; then
    log "memory: a 2 GiB tree (the synthetic tree hard-linked, plus 1 GiB of random files; once)"
    rm -rf "$big" && mkdir -p "$big/extra"
    cp -al "$synthetic" "$big/synthetic"
    for i in 0 1 2 3; do head -c 256M /dev/urandom >"$big/extra/random$i.bin"; done
    touch "$bench_dir/big.done"
  fi
  bigfiles=$bench_dir/bigfiles
  if [[ ! -f $bench_dir/bigfiles.done ]]; then
    log "memory: a 2 GiB tree of 8 random files of 256 MiB (once)"
    rm -rf "$bigfiles" && mkdir -p "$bigfiles"
    for i in 0 1 2 3 4 5 6 7; do head -c 256M /dev/urandom >"$bigfiles/random$i.bin"; done
    touch "$bench_dir/bigfiles.done"
  fi
  build_image bench-memory big
  mkdir -p "$work/memory"
  log "memory: kiln build of the 2 GiB layer under /usr/bin/time -v"
  timed memory-build "$(printf '/usr/bin/time -v -o %q bash -c %q' "$work/memory-build.time" \
    "$(printf 'cd %q && KILN_CACHE_DIR=%q %q build --target oci '"${build_flags[*]}"' --output oci-layout:%q --json %q' \
      "$work/memory" "$work/memory/cache" "$kiln" "$work/memory/layout" "$bench_dir/bench-memory.yaml")")"
  record memory build kiln 1 wall="$WALL" \
    rss_kb="$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/memory-build.time")" \
    layer_bytes="$(jq '[.[0].build.layers[].size] | add' "$work/memory-build.out")"
  start_registry
  log "memory: kiln push of the 2 GiB layer under /usr/bin/time -v"
  timed memory-push "$(printf '/usr/bin/time -v -o %q %q push oci-layout:%q:1 127.0.0.1:%s/bench/big:1 --json' \
    "$work/memory-push.time" "$kiln" "$work/memory/layout" "$registry_port")"
  record memory push kiln 1 wall="$WALL" \
    rss_kb="$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/memory-push.time")" \
    bytes_uploaded="$(jq .bytesUploaded "$work/memory-push.out")"
  log "memory: kiln build and push of 2 GiB in 8 files (bytes without the file count)"
  build_image bench-memory-files bigfiles
  timed memory-build-files "$(printf '/usr/bin/time -v -o %q bash -c %q' "$work/memory-build-files.time" \
    "$(printf 'cd %q && KILN_CACHE_DIR=%q %q build --target oci '"${build_flags[*]}"' --output oci-layout:%q --json %q' \
      "$work/memory" "$work/memory/cache-files" "$kiln" "$work/memory/layout-files" "$bench_dir/bench-memory-files.yaml")")"
  record memory build-files kiln 1 wall="$WALL" \
    rss_kb="$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/memory-build-files.time")" \
    layer_bytes="$(jq '[.[0].build.layers[].size] | add' "$work/memory-build-files.out")"
  timed memory-push-files "$(printf '/usr/bin/time -v -o %q %q push oci-layout:%q:1 127.0.0.1:%s/bench/bigfiles:1 --json' \
    "$work/memory-push-files.time" "$kiln" "$work/memory/layout-files" "$registry_port")"
  record memory push-files kiln 1 wall="$WALL" \
    rss_kb="$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/memory-push-files.time")"
  rm -rf "$work/memory/layout-files" "$work/memory/cache-files"
  log "memory: skopeo copy of the same image, for comparison"
  start_registry
  timed memory-skopeo "$(printf 'skopeo copy --quiet --preserve-digests --dest-tls-verify=false oci:%q:1 docker://127.0.0.1:%s/bench/big:1' \
    "$work/memory/layout" "$registry_port")"
  record memory push skopeo 1 wall="$WALL" rss_kb="$RSS"
  stop_registry
  rm -rf "$work/memory"
fi

# --- report -----------------------------------------------------------------------------------------------
mem_gib=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
os_name=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)
minutes=$(awk -v a="$began" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) / 60 < 1 ? 1 : (b - a) / 60 }')
version_of() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
jq -n \
  --arg date "$(date -u +%Y-%m-%d)" \
  --arg machine "$(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)), $mem_gib GiB RAM, $os_name, $(uname -m), load average $load at the start" \
  --arg kiln "$("$kiln" --version) (release build of $git_state)" \
  --arg swift "$(swift --version 2>&1 | head -n 1 | sed 's/ (.*//')" \
  --arg peers "GNU tar $(version_of tar), gzip $(version_of gzip), pigz $(version_of pigz), zstd $(version_of zstd), umoci $(version_of umoci), buildah $(version_of buildah), skopeo $(version_of skopeo), docker-registry $(version_of docker-registry), OpenSSL $(version_of openssl)" \
  --arg minutes "$minutes" --arg runs "$RUNS" --arg only "$ONLY" --arg merged "${MERGE:-}" \
  --arg synthetic "$synthetic_about" --argjson synthetic_stats "$synthetic_stats" \
  --arg real "$real_about" --argjson real_stats "$real_stats" \
  '{date: $date, machine: $machine, kiln: $kiln, swift: $swift, peers: $peers, minutes: $minutes, runs: $runs,
    only: $only, merged: $merged, synthetic: $synthetic, synthetic_stats: $synthetic_stats, real: $real, real_stats: $real_stats}' \
  >"$work/info.json"
# MERGE=FILE: the rows of the groups this run left out (ONLY) come from FILE, an earlier run's results.jsonl.
if [[ -n ${MERGE:-} ]]; then
  [[ -f $MERGE ]] || die "MERGE=$MERGE is not a file"
  python3 -c '
import json, sys
only = set(sys.argv[2].split(","))
for line in open(sys.argv[1]):
    if line.strip():
        row = json.loads(line)
        group = "layers" if row["group"] == "limits" else row["group"]
        if group not in only:
            row["merged"] = True
            print(json.dumps(row))
' "$MERGE" "$ONLY" >>"$results"
fi
cp "$results" "$bench_dir/last-results.jsonl"
cp "$work/info.json" "$bench_dir/last-info.json"
python3 "$helpers/report.py" "$results" "$doc" "$work/info.json"
log "wrote the section into ${doc#"$repo"/}"

#!/usr/bin/env python3
"""bench/oci/report.py RESULTS DOC INFO: turns bench/oci.sh's results (one JSON line per measurement) into
the Markdown section "## OCI: …" of docs/benchmarks.md (replacing an older one, keeping the others) and
prints it. Medians of the runs; ratios are kiln's median over the peer's median from the same run."""
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from docsection import write_section  # noqa: E402

HEADING = "## OCI: kiln vs tar/pigz/zstd, umoci, buildah and skopeo"
MIB = 1 << 20

results_path, doc_path, info_path = sys.argv[1:4]
info = json.load(open(info_path))
rows = [json.loads(line) for line in open(results_path) if line.strip()]
for r in rows:  # kiln names steps recipe/step
    for key in ("steps_run", "steps_cached"):
        if isinstance(r.get(key), list):
            r[key] = [step.split("/")[-1] for step in r[key]]
notes_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")


def pick(group, row=None, tool=None):
    return [r for r in rows if r["group"] == group and (row is None or r["row"] == row)
            and (tool is None or r["tool"] == tool)]


def med(group, row, tool, key="wall"):
    values = [r[key] for r in pick(group, row, tool) if key in r]
    return statistics.median(values) if values else None


def runs(group, row, tool, key="wall", fmt="{:.2f}"):
    values = [r[key] for r in sorted(pick(group, row, tool), key=lambda r: r["run"]) if key in r]
    return ", ".join(fmt.format(v) for v in values)


def secs(value):
    if value is None:
        return "–"
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"


def mb(value):
    return "–" if value is None else f"{value / 1e6:,.1f} MB"


def mib(kib):
    return "–" if kib is None else f"{kib / 1024:.1f} MiB"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def fx(value, digits=2):
    return "–" if value is None else f"{value:.{digits}f} ×"


def durable(corpus, tool):
    """Median of wall + the fsync of the output (`sync FILE` right after), per run; None without sync data."""
    values = [r["wall"] + r["sync"] for r in pick("layers", corpus, tool) if "sync" in r]
    return statistics.median(values) if values else None


def verdict(ok):
    return "not measured" if ok is None else ("**met**" if ok else "**missed**")


lines = [HEADING, ""]
only = info.get("only", "layers,push,rebuild,memory")
lines.append(
    f"Measured {info['date']} on {info['machine']}: kiln {info['kiln']}, {info['swift']}; {info['peers']}. "
    f"{info['runs']} runs per tool, the tools alternating within each run (the order reversed every other run); "
    f"medians, and ratios of medians from this run. To reproduce: `bench/oci.sh` (`RUNS=N`, `ONLY={only}`; "
    f"{info['minutes']} minutes here, kiln's release build included).")
lines.append("")
if info.get("merged"):
    merged_groups = sorted({("layers" if r["group"] == "limits" else r["group"]) for r in rows if r.get("merged")})
    lines.append(f"The {', '.join(merged_groups)} rows come from an earlier run of this script on the same machine "
                 f"(`MERGE={os.path.basename(info['merged'])}`: its results merged into this run's, which measured "
                 f"{only}); that run's kiln may be an earlier build of the same sources.")
    lines.append("")
syn, real = info["synthetic_stats"], info["real_stats"]
lines.append(
    f"Trees: **synthetic**, {syn['files']:,} files, {syn['bytes'] / MIB:,.0f} MiB, written by "
    f"`bench/oci/corpus.py` ({info['synthetic']}: many small text files, mid-sized partly compressible binaries, "
    f"large random files); **real**, {real['files']:,} files and {real['symlinks']:,} symlinks, "
    f"{real['bytes'] / MIB:,.0f} MiB: {info['real']}. Both are read from the page cache (each run reads them "
    "first with `cat`); every output is written to the same disk.")
lines.append("")

# --- targets ---------------------------------------------------------------------------------------------
targets = []
corpora = [c for c in ("synthetic", "real") if pick("layers", c)]
for corpus in corpora:
    kg, pg = med("layers", corpus, "kiln-gzip"), med("layers", corpus, "pigz")
    kgs, pgs = med("layers", corpus, "kiln-gzip", "size"), med("layers", corpus, "pigz", "size")
    um, bc = med("layers", corpus, "umoci"), med("layers", corpus, "buildah", "commit_wall")
    bt = med("layers", corpus, "buildah")
    kz, pz = med("layers", corpus, "kiln-zstd"), med("layers", corpus, "zstd")
    kzs, pzs = med("layers", corpus, "kiln-zstd", "size"), med("layers", corpus, "zstd", "size")
    pgd, pzd = durable(corpus, "pigz"), durable(corpus, "zstd")
    r = ratio(kg, pg)
    targets.append((f"layer, gzip, {corpus}: wall ≤ 1.0 × `tar -c \\| pigz -6`", f"{secs(kg)} / {secs(pg)}",
                    fx(r), verdict(None if r is None else r <= 1.0)))
    pgs_ = med("layers", corpus, "pigz-sha")
    if pgs_:
        r = ratio(kg, pgs_)
        targets.append((f"… the same, pigz computing the layer's two SHA-256 digests too (tee into `openssl dgst`)",
                        f"{secs(kg)} / {secs(pgs_)}", fx(r), verdict(r <= 1.0)))
    if pgd:
        r = ratio(kg, pgd)
        targets.append((f"… the same, pigz's output made durable as kiln's is (+ `sync FILE`)", f"{secs(kg)} / {secs(pgd)}",
                        fx(r), verdict(None if r is None else r <= 1.0)))
    r = ratio(kgs, pgs)
    targets.append((f"layer, gzip, {corpus}: size ≤ 1.01 × pigz's",
                    f"{mb(kgs)} / {mb(pgs)} ({'–' if None in (kgs, pgs) else f'{int(kgs - pgs):+,} bytes'})", fx(r, 4),
                    verdict(None if r is None else r <= 1.01)))
    r = ratio(kg, um)
    targets.append((f"layer, gzip, {corpus}: faster than `umoci repack`", f"{secs(kg)} / {secs(um)}", fx(r),
                    verdict(None if r is None else r < 1.0)))
    r = ratio(kg, bc)
    targets.append((f"layer, gzip, {corpus}: faster than `buildah commit` (copy + commit: {secs(bt)})",
                    f"{secs(kg)} / {secs(bc)}", fx(r), verdict(None if r is None else r < 1.0)))
    r = ratio(kz, pz)
    targets.append((f"layer, zstd, {corpus}: wall ≤ 1.1 × `tar -c \\| zstd -3 -T0`", f"{secs(kz)} / {secs(pz)}",
                    fx(r), verdict(None if r is None else r <= 1.1)))
    pzs_ = med("layers", corpus, "zstd-sha")
    if pzs_:
        r = ratio(kz, pzs_)
        targets.append((f"… the same, zstd computing the two SHA-256 digests too", f"{secs(kz)} / {secs(pzs_)}",
                        fx(r), verdict(r <= 1.1)))
    if pzd:
        r = ratio(kz, pzd)
        targets.append((f"… the same, zstd's output made durable as kiln's is (+ `sync FILE`)", f"{secs(kz)} / {secs(pzd)}",
                        fx(r), verdict(None if r is None else r <= 1.1)))
    r = ratio(kzs, pzs)
    targets.append((f"layer, zstd, {corpus}: size ≤ 1.0 × zstd's",
                    f"{mb(kzs)} / {mb(pzs)} ({'–' if None in (kzs, pzs) else f'{int(kzs - pzs):+,} bytes'})", fx(r, 4),
                    verdict(None if r is None else r <= 1.0)))
if pick("push"):
    kp, sp = med("push", "first", "kiln"), med("push", "first", "skopeo")
    r = ratio(kp, sp)
    targets.append(("push of the 1 GiB image into an empty registry: wall ≤ 1.0 × `skopeo copy`",
                    f"{secs(kp)} / {secs(sp)}", fx(r), verdict(None if r is None else r <= 1.0)))
    again = pick("push", "again", "kiln")
    worst = max((a["wall"] for a in again), default=None)
    sent = sum(a.get("bytes_uploaded", 0) for a in again)
    requests = sum(a.get("upload_requests", 0) for a in again)
    ok = None if not again else (sent == 0 and requests == 0 and worst < 0.3)
    targets.append(("re-push of the unchanged image: no blob bytes sent, under 0.3 s",
                    f"{sent} bytes, {requests} upload requests; slowest of {len(again)}: {secs(worst)}", "–", verdict(ok)))
if pick("rebuild"):
    same = pick("rebuild", "unchanged", "kiln")
    worst = max((s["wall"] for s in same), default=None)
    ok = None if not same else all(s["steps_run"] == [] for s in same) and worst < 1.0
    targets.append(("rebuild of an unchanged recipe: no step executed, under 1 s",
                    f"steps run: {', '.join(str(len(s['steps_run'])) for s in same)}; slowest: {secs(worst)}", "–",
                    verdict(ok)))
    changed = pick("rebuild", "changed", "kiln")
    ok = None if not changed else all(c["steps_run"] == ["two", "three"] and c["steps_cached"] == ["one"]
                                      for c in changed)
    targets.append(("one step changed (the 2nd of 3): only it and the steps after it run",
                    "; ".join(f"run {'+'.join(c['steps_run']) or 'none'}, cached {'+'.join(c['steps_cached']) or 'none'}"
                              for c in changed[:1]) + (f" (all {len(changed)} runs alike)" if changed and all(
                        c["steps_run"] == changed[0]["steps_run"] for c in changed) else ""), "–", verdict(ok)))
if pick("memory"):
    for row, what in (("build", "`kiln build` of a 2 GiB layer (~39,000 files)"), ("push", "`kiln push` of it"),
                      ("build-files", "`kiln build` of a 2 GiB layer (8 files)"), ("push-files", "`kiln push` of that")):
        if not pick("memory", row, "kiln"):
            continue
        m = pick("memory", row, "kiln")
        rss = m[0]["rss_kb"] if m else None
        targets.append((f"peak memory, {what}: under 64 MiB resident", mib(rss), "–",
                        verdict(None if rss is None else rss < 64 * 1024)))
if targets:
    lines += ["**Targets** (issue 8, item 2; kiln / peer, medians):", "",
              "| target | kiln / peer | ratio | |", "|---|---|---|---|"]
    lines += [f"| {t} | {v} | {r} | {ok} |" for t, v, r, ok in targets]
    lines.append("")

# --- layer tables ----------------------------------------------------------------------------------------
NAMES = {
    "kiln-gzip": "`kiln layer --compression gzip` (level 6, 2 threads)",
    "pigz": "`tar -c \\| pigz -6`",
    "pigz-sha": "`tar -c \\| tee >(openssl dgst -sha256) \\| pigz -6 \\| tee >(openssl dgst -sha256)` (with the layer's two digests)",
    "gzip": "`tar -c \\| gzip -6` (one core; run 1 only)",
    "umoci": "`umoci repack`",
    "buildah": "`buildah copy` + `buildah commit --disable-compression=false` to `oci:`",
    "kiln-zstd": "`kiln layer --compression zstd` (level 3)",
    "zstd": "`tar -c \\| zstd -3 -T0`",
    "zstd-sha": "`tar -c \\| tee >(openssl dgst -sha256) \\| zstd -3 -T0 \\| tee >(openssl dgst -sha256)` (with the digests)",
    "kiln-none": "`kiln layer --compression none` (tar + both SHA-256s)",
    "tar": "`tar -c > file` (no compression, no hashing)",
    "cat": "`cat` of every file to /dev/null",
}
sha = pick("limits", "sha256", "openssl")
sha_rate = sha[0]["bytes_per_second"] if sha else None
for corpus in corpora:
    tar_bytes = med("layers", corpus, "kiln-none", "tar_bytes") or med("layers", corpus, "kiln-gzip", "tar_bytes")
    pg, pgs = med("layers", corpus, "pigz"), med("layers", corpus, "pigz", "size")
    lines += [f"**Layer assembly, {corpus} tree** (kiln's tar stream: {mb(tar_bytes)}; throughput = that / wall):", "",
              "| tool | wall, median (runs) | × pigz | + fsync of the output | CPU (user + sys) | output | × pigz's | throughput | max RSS |",
              "|---|---|---|---|---|---|---|---|---|"]
    for tool, name in NAMES.items():
        if not pick("layers", corpus, tool):
            continue
        wall = med("layers", corpus, tool)
        size = med("layers", corpus, tool, "size")
        rss = med("layers", corpus, tool, "rss_kb")
        extra = ""
        if tool == "buildah":
            extra = (f"; copy {secs(med('layers', corpus, tool, 'copy_wall'))}, "
                     f"commit {secs(med('layers', corpus, tool, 'commit_wall'))}")
        durable_wall = durable(corpus, tool)
        fsync_cell = ("included" if tool.startswith("kiln") else "–" if tool == "cat" or durable_wall is None
                      else f"{secs(durable_wall)} ({secs(med('layers', corpus, tool, 'sync'))} of `sync FILE`)")
        cpu = med("layers", corpus, tool, "cpu")
        lines.append(f"| {name} | {secs(wall)} ({runs('layers', corpus, tool)}){extra} | {fx(ratio(wall, pg))} | "
                     f"{fsync_cell} | {'–' if cpu is None else f'{cpu:.1f} s'} | "
                     f"{mb(size) if tool != 'cat' else '–'} | {fx(ratio(size, pgs), 3) if tool != 'cat' else '–'} | "
                     f"{mb(tar_bytes / wall) + '/s' if tar_bytes and wall else '–'} | {mib(rss)} |")
    lines.append("")

if corpora and sha_rate:
    lines += ["**Throughput against the machine's limits** (issue 8, item 3): kiln's tar stream per second of wall "
              "time, as a fraction of one core's SHA-256 (`openssl speed -bytes 16384 sha256`) and of reading the "
              "tree (`cat`, median). A layer is hashed twice (the tar for the diffID, the compressed file for the "
              "digest), so `none` does two SHA-256 passes over the same bytes.", "",
              "| tree | SHA-256, one core | reading the tree | kiln gzip | kiln zstd | kiln none |",
              "|---|---|---|---|---|---|"]
    for corpus in corpora:
        tar_bytes = med("layers", corpus, "kiln-none", "tar_bytes") or med("layers", corpus, "kiln-gzip", "tar_bytes")
        cat = med("layers", corpus, "cat")
        read_rate = tar_bytes / cat if cat else None
        cells = []
        for tool in ("kiln-gzip", "kiln-zstd", "kiln-none"):
            wall = med("layers", corpus, tool)
            rate = tar_bytes / wall if wall else None
            cells.append("–" if rate is None else
                         f"{rate / 1e6:,.0f} MB/s = {rate / sha_rate:.2f} of SHA-256, "
                         f"{rate / read_rate:.2f} of reading" if read_rate else f"{rate / 1e6:,.0f} MB/s")
        lines.append(f"| {corpus} | {sha_rate / 1e6:,.0f} MB/s | "
                     f"{'–' if read_rate is None else f'{read_rate / 1e6:,.0f} MB/s'} | " + " | ".join(cells) + " |")
    lines.append("")

# --- push ------------------------------------------------------------------------------------------------
if pick("push"):
    build = pick("push", "build", "kiln")
    size = build[0]["image_bytes"] if build else None
    lines += [f"**Push** of the synthetic tree as a one-layer image ({mb(size)} of blobs, built by "
              f"`kiln build --target oci` with one `files` step in {secs(build[0]['wall']) if build else '–'}) to "
              "docker-registry on loopback, each tool into a freshly started, empty registry, then again unchanged. "
              "Upload requests are the `POST`/`PATCH`/`PUT` requests to `/v2/…/blobs/uploads` in the registry's "
              "access log.", "",
              "| | `kiln push` | `skopeo copy --preserve-digests` | kiln / skopeo |", "|---|---|---|---|"]
    for row, what in (("first", "push, wall, median (runs)"), ("again", "re-push, unchanged, wall, median (runs)")):
        k, s = med("push", row, "kiln"), med("push", row, "skopeo")
        lines.append(f"| {what} | {secs(k)} ({runs('push', row, 'kiln', fmt='{:.3f}')}) | "
                     f"{secs(s)} ({runs('push', row, 'skopeo', fmt='{:.3f}')}) | {fx(ratio(k, s))} |")
        if size and k and s and row == "first":
            lines.append(f"| {what.split(',')[0]}, throughput | {size / k / 1e6:,.0f} MB/s | {size / s / 1e6:,.0f} MB/s | |")
    for row, what in (("first", "blob upload requests, push (per run)"), ("again", "blob upload requests, re-push (per run)")):
        lines.append(f"| {what} | {runs('push', row, 'kiln', 'upload_requests', '{:d}')} | "
                     f"{runs('push', row, 'skopeo', 'upload_requests', '{:d}')} | |")
    lines.append(f"| bytes kiln reports sent, re-push (per run) | {runs('push', 'again', 'kiln', 'bytes_uploaded', '{:d}')} | – | |")
    lines.append(f"| max RSS, push, median | {mib(med('push', 'first', 'kiln', 'rss_kb'))} | "
                 f"{mib(med('push', 'first', 'skopeo', 'rss_kb'))} | |")
    digests = {r["digest"] for r in pick("push", "digest")}
    expected = build[0]["digest"] if build else None
    lines.append(f"| manifest digest in the registry | {'the built one' if digests == {expected} else ', '.join(sorted(digests))} "
                 f"| {'the same' if digests == {expected} else 'see left'} | |")
    lines.append("")

# --- rebuild ---------------------------------------------------------------------------------------------
if pick("rebuild"):
    cold = pick("rebuild", "cold", "kiln")
    lines += ["**Rebuild**: `kiln build --target oci --json` of a three-step recipe (`one`: run, `two`: files, "
              "`three`: run; a test) on a busybox layout base (made with umoci), with its own cache; wall time of "
              "the whole process. \"changed\" edits the file step `two` copies before each run.", "",
              "| build | wall, median (runs) | kiln's own `seconds`, median | steps run | steps cached |",
              "|---|---|---|---|---|"]
    if cold:
        lines.append(f"| first (empty cache) | {secs(cold[0]['wall'])} | – | {cold[0]['steps_run']} of 3 | – |")
    for row in ("unchanged", "changed"):
        p = pick("rebuild", row, "kiln")
        if p:
            lines.append(f"| {row} | {secs(med('rebuild', row, 'kiln'))} ({runs('rebuild', row, 'kiln', fmt='{:.3f}')}) | "
                         f"{secs(med('rebuild', row, 'kiln', 'kiln_seconds'))} | {', '.join(p[0]['steps_run']) or 'none'} | "
                         f"{', '.join(p[0]['steps_cached']) or 'none'} |")
    lines.append("")

# --- memory ----------------------------------------------------------------------------------------------
if pick("memory"):
    b, p, s = pick("memory", "build", "kiln"), pick("memory", "push", "kiln"), pick("memory", "push", "skopeo")
    lines += [f"**Memory**: a 2 GiB tree (the synthetic tree hard-linked, plus 1 GiB of random files) built into "
              f"a one-layer image ({mb(b[0]['layer_bytes']) if b else '–'} of layer) and pushed to an empty registry; "
              "maximum resident set size from `/usr/bin/time -v`.", "",
              "| | max RSS | wall |", "|---|---|---|"]
    if b:
        lines.append(f"| `kiln build --target oci` (one `files` step) | {mib(b[0]['rss_kb'])} | {secs(b[0]['wall'])} |")
    if p:
        lines.append(f"| `kiln push` | {mib(p[0]['rss_kb'])} | {secs(p[0]['wall'])} |")
    bf, pf = pick("memory", "build-files", "kiln"), pick("memory", "push-files", "kiln")
    if bf:
        lines.append(f"| `kiln build --target oci` of 2 GiB in 8 random files of 256 MiB ({mb(bf[0]['layer_bytes'])} of layer) "
                     f"| {mib(bf[0]['rss_kb'])} | {secs(bf[0]['wall'])} |")
    if pf:
        lines.append(f"| `kiln push` of that | {mib(pf[0]['rss_kb'])} | {secs(pf[0]['wall'])} |")
    if s:
        lines.append(f"| `skopeo copy`, for comparison | {mib(s[0]['rss_kb'])} | {secs(s[0]['wall'])} |")
    lines.append("")

if os.path.exists(notes_path):
    with open(notes_path) as f:
        lines += [f.read().rstrip("\n"), ""]

section = "\n".join(lines)
print(section)

write_section(doc_path, HEADING, section)

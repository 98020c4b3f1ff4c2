"""Summarises the runs of bench/ami-vs-packer.sh as Markdown and writes the section into the
benchmarks page.

argv: RUNS_DIR DOC_PATH INFO_JSON. RUNS_DIR holds, per run, TOOL-N.jsonl (the proxy's lines for the
run), TOOL-N.json ({"tool", "run", "rc", "seconds", "products"}) and TOOL-N.leftovers.json
(census.py leftovers). INFO_JSON describes the machine and versions. Prints the section on stdout
and puts it into DOC_PATH in place of an earlier section with the same heading (or at the end)."""
import collections
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from docsection import write_section  # noqa: E402

HEADING = "## AMI build: kiln vs Packer 1.6.6 (amazon-ebs) on moto"
TARGET = ("the AMI job on moto: no more API requests than Packer 1.6.6 spends on the same job, excluding "
          "the requests for the result record Packer cannot read at all")
TOOLS = [("kiln", "kiln"), ("packer", "Packer 1.6.6")]
JOB_TAG = ("project", "kiln-bench")

runs_dir, doc_path, info_path = sys.argv[1:4]
with open(info_path) as f:
    info = json.load(f)


def load_runs(tool):
    runs = []
    for name in sorted(os.listdir(runs_dir)):
        match = re.fullmatch(rf"{tool}-(\d+)\.json", name)
        if not match:
            continue
        with open(os.path.join(runs_dir, name)) as f:
            meta = json.load(f)
        with open(os.path.join(runs_dir, f"{tool}-{match.group(1)}.jsonl")) as f:
            meta["requests"] = [json.loads(line) for line in f if line.strip()]
        path = os.path.join(runs_dir, f"{tool}-{match.group(1)}.leftovers.json")
        meta["leftovers"] = json.load(open(path)) if os.path.exists(path) else None
        runs.append(meta)
    return sorted(runs, key=lambda r: r["run"])


def is_result_read(request):
    """S3 reads of the instance's result record or log: what Packer has no counterpart for."""
    return (request["service"] == "s3" and request["operation"] in ("GetObject", "HeadObject")
            and re.search(r"/(result\.json|build\.log)$", request["path"] or "") is not None)


def fmt(number):
    return f"{number:g}" if isinstance(number, (int, float)) else str(number)


def plural(count, noun):
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def backoff(run):
    """Seconds between each 5xx answer and the client's next request: time spent backing off."""
    requests = sorted(run["requests"], key=lambda q: q["time"])
    total = 0.0
    for current, following in zip(requests, requests[1:]):
        if current["status"] >= 500:
            total += max(0.0, following["time"] - (current["time"] + current["ms"] / 1000))
    return total


def polls(run):
    """kiln's requests while it waits for the instance: DescribeInstances (the state, every poll) and
    GetConsoleOutput (progress markers, at most every 30 s) before the first read of the result record."""
    count = 0
    for request in run["requests"]:
        if is_result_read(request):
            return count
        count += request["operation"] in ("GetConsoleOutput", "DescribeInstances")
    return count


def median(values):
    return statistics.median(values) if values else float("nan")


data = {tool: load_runs(tool) for tool, _ in TOOLS}
summary = {}
for tool, _ in TOOLS:
    runs = data[tool]
    totals = [len(r["requests"]) for r in runs]
    reads = [sum(is_result_read(q) for q in r["requests"]) for r in runs]
    without = [t - n for t, n in zip(totals, reads)]
    middle = median(totals)
    typical = min(runs, key=lambda r: (abs(len(r["requests"]) - middle), r["run"])) if runs else None
    summary[tool] = {"runs": runs, "totals": totals, "reads": reads, "without": without,
                     "ok": sum(r["rc"] == 0 for r in runs), "typical": typical,
                     "seconds": [r["seconds"] for r in runs]}

kiln, packer = summary["kiln"], summary["packer"]
kiln["polls"] = [polls(r) for r in kiln["runs"]]
# kiln's count without the result record and without the wait's polls: what does not depend on timing.
kiln["fixed"] = [w - n for w, n in zip(kiln["without"], kiln["polls"])]
kiln_without, packer_total = median(kiln["without"]), median(packer["totals"])
all_ok = kiln["ok"] == len(kiln["runs"]) and packer["ok"] == len(packer["runs"]) and kiln["runs"] and packer["runs"]
met = all_ok and kiln_without <= packer_total


def per_run(values, digits=None):
    shown = [f"{v:.1f}" if digits else fmt(v) for v in values]
    return ", ".join(shown)


def errors(run):
    counter = collections.Counter(f"{q['operation']} {q['status']}" for q in run["requests"] if q["status"] >= 400)
    return ", ".join(f"{k} ×{v}" for k, v in sorted(counter.items())) or "none"


def leftover_cell(tool, kind):
    values = []
    for run in summary[tool]["runs"]:
        left = run["leftovers"]
        if left is None:
            values.append("?")
            continue
        parts = [f"{len(ids)} in {region}" for region, ids in sorted(left["regions"].items()) if ids.get(kind)]
        values.append("; ".join(parts) if parts else "0")
    distinct = sorted(set(values))
    return distinct[0] if len(distinct) == 1 else " / ".join(values) + " (by run)"


def product_cell(tool, check):
    values = []
    for run in summary[tool]["runs"]:
        left = run["leftovers"]
        if left is None or not left["products"]:
            values.append("no product")
            continue
        parts = []
        for region, product in sorted(left["products"].items()):
            parts.append(f"{region} {'yes' if check(product) else 'no'}")
        values.append(", ".join(parts))
    distinct = sorted(set(values))
    return distinct[0] if len(distinct) == 1 else " / ".join(values) + " (by run)"


def s3_cell(tool):
    counts = [len(r["leftovers"]["s3_objects"]) if r["leftovers"] else "?" for r in summary[tool]["runs"]]
    distinct = sorted(set(map(str, counts)))
    return distinct[0] if len(distinct) == 1 else " / ".join(map(str, counts)) + " (by run)"


def has_job_tag(tags):
    return tags.get(JOB_TAG[0]) == JOB_TAG[1]


lines = [HEADING, ""]
lines += [
    f"Measured {info['date']} on {info['machine']}: kiln {info['kiln']}, Packer {info['packer']}, "
    f"moto {info['moto']}, {info['swift']}, {info['python']}. {plural(len(kiln['runs']), 'run')} per tool, "
    f"alternating, each against a freshly reset moto. To reproduce: `bench/ami-vs-packer.sh` "
    f"(`RUNS=N` for more runs; {plural(int(info['minutes']), 'minute')} here, kiln's release build included).",
    "",
    f"**Target** (from the issue): \"{TARGET}\". "
    + (f"**Met**: kiln made {fmt(kiln_without)} requests without its result-record reads (median), "
       f"Packer {fmt(packer_total)}." if met else
       f"**Not met**: kiln made {fmt(kiln_without)} requests without its result-record reads (median), "
       f"Packer {fmt(packer_total)}." if all_ok else
       "**Not measured**: not every build succeeded (see the table)."),
    "",
    (f"kiln's figure depends on timing: while it waits it polls the instance's state (`DescribeInstances`, "
     f"every 0.5 s here) until it sees it stopped, and reads the console for progress markers at most every "
     f"30 s (`GetConsoleOutput`); the played instance stops within a fraction of a second, so the waits took "
     f"{per_run(kiln['polls'])} requests. Without the wait and the result record kiln made "
     f"{fmt(median(kiln['fixed']))} requests; the fewest a real build can take (one console read, the "
     f"instance seen running, then stopped) is {fmt(median(kiln['fixed']) + 3)}, against Packer's "
     f"{fmt(packer_total)}. A real build that runs for N minutes adds about 6·N state polls at the default "
     f"10 s interval and 2·N console reads." if kiln["runs"] else ""),
    "",
    "| | kiln | Packer 1.6.6 |",
    "|---|---|---|",
    f"| builds that succeeded | {kiln['ok']}/{len(kiln['runs'])} | {packer['ok']}/{len(packer['runs'])} |",
    f"| API requests, median (per run) | {fmt(median(kiln['totals']))} ({per_run(kiln['totals'])}) | "
    f"{fmt(packer_total)} ({per_run(packer['totals'])}) |",
    f"| of which reading the result record (S3 GetObject/HeadObject of `result.json`, `build.log`) | "
    f"{fmt(median(kiln['reads']))} ({per_run(kiln['reads'])}) | none: Packer cannot read it |",
    f"| **API requests without the result record, median** | **{fmt(kiln_without)}** ({per_run(kiln['without'])}) | "
    f"**{fmt(packer_total)}** |",
    f"| kiln's requests while waiting for the instance (state polls and console reads) | {per_run(kiln['polls'])} | – |",
    f"| requests answered with an error (run {kiln['typical']['run'] if kiln['typical'] else '-'} / "
    f"{packer['typical']['run'] if packer['typical'] else '-'}) | {errors(kiln['typical']) if kiln['typical'] else '-'} | "
    f"{errors(packer['typical']) if packer['typical'] else '-'} |",
    f"| wall time, median (per run) | {median(kiln['seconds']):.1f} s ({per_run(kiln['seconds'], 1)}) | "
    f"{median(packer['seconds']):.1f} s ({per_run(packer['seconds'], 1)}) |",
    f"| of which backing off after 5xx answers (retries), median | {median([backoff(r) for r in kiln['runs']]):.1f} s | "
    f"{median([backoff(r) for r in packer['runs']]):.1f} s |",
    f"| left behind: instances not terminated | {leftover_cell('kiln', 'instances')} | {leftover_cell('packer', 'instances')} |",
    f"| left behind: security groups (besides `default`) | {leftover_cell('kiln', 'security_groups')} | "
    f"{leftover_cell('packer', 'security_groups')} |",
    f"| left behind: key pairs | {leftover_cell('kiln', 'key_pairs')} | {leftover_cell('packer', 'key_pairs')} |",
    f"| left behind: EBS volumes | {leftover_cell('kiln', 'volumes')} | {leftover_cell('packer', 'volumes')} |",
    f"| left behind: AMIs besides the product | {leftover_cell('kiln', 'images')} | {leftover_cell('packer', 'images')} |",
    f"| left behind: snapshots besides the product's | {leftover_cell('kiln', 'snapshots')} | "
    f"{leftover_cell('packer', 'snapshots')} |",
    f"| left behind: S3 objects | {s3_cell('kiln')} (the log and the result record, in the log bucket) | "
    f"{s3_cell('packer')} |",
    f"| product public (`all` may launch it) | {product_cell('kiln', lambda p: p['public'])} | "
    f"{product_cell('packer', lambda p: p['public'])} |",
    f"| product AMI carries the job's tag `{JOB_TAG[0]}={JOB_TAG[1]}` | {product_cell('kiln', lambda p: has_job_tag(p['tags']))} | "
    f"{product_cell('packer', lambda p: has_job_tag(p['tags']))} |",
    f"| product snapshots carry it | "
    f"{product_cell('kiln', lambda p: bool(p['snapshot_tags']) and all(has_job_tag(t) for t in p['snapshot_tags']))} | "
    f"{product_cell('packer', lambda p: bool(p['snapshot_tags']) and all(has_job_tag(t) for t in p['snapshot_tags']))} |",
    "",
]

# The breakdown of one run per tool: the run whose count is the median.
rows = collections.OrderedDict()
for tool, _ in TOOLS:
    run = summary[tool]["typical"]
    if not run:
        continue
    for request in run["requests"]:
        key = (request["service"], request["operation"])
        rows.setdefault(key, {t: collections.Counter() for t, _ in TOOLS})[tool][request["region"]] += 1
lines += [
    f"Requests by operation, in the order first made (kiln run {kiln['typical']['run'] if kiln['typical'] else '-'}, "
    f"Packer run {packer['typical']['run'] if packer['typical'] else '-'}: the runs with the median count; "
    "*r* marks the result-record reads; regions other than us-east-1 in brackets):",
    "",
    "| service | operation | kiln | Packer 1.6.6 |",
    "|---|---|---|---|",
]


def cell(counter):
    total = sum(counter.values())
    if not total:
        return "–"
    other = [f"{n} {region}" for region, n in sorted(counter.items()) if region != "us-east-1"]
    return f"{total}" + (f" ({', '.join(other)})" if other else "")


for (service, operation), counts in rows.items():
    marker = ""
    if service == "s3" and operation in ("GetObject", "HeadObject") and kiln["typical"]:
        if any(is_result_read(q) for q in kiln["typical"]["requests"] if q["operation"] == operation):
            marker = " *r*"
    lines.append(f"| {service} | {operation}{marker} | {cell(counts['kiln'])} | {cell(counts['packer'])} |")
lines.append(f"| | **total** | **{len(kiln['typical']['requests']) if kiln['typical'] else 0}** | "
             f"**{len(packer['typical']['requests']) if packer['typical'] else 0}** |")
lines.append("")

notes_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")
if os.path.exists(notes_path):
    with open(notes_path) as f:
        lines += [f.read().rstrip("\n"), ""]

section = "\n".join(lines)
print(section)

write_section(doc_path, HEADING, section)

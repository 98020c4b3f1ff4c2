"""Writes one benchmark's section into docs/benchmarks.md, shared by the bench/*/report.py scripts."""
import os
import re


def write_section(doc_path, heading, section):
    """Replaces the section that starts with `heading` (up to the next `## ` heading) with `section`,
    or appends it when the document has no such section yet."""
    text = open(doc_path).read() if os.path.exists(doc_path) else "# Benchmarks\n"
    start = text.find(heading + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        following = re.search(r"^## ", text[start + len(heading):], re.M)
        end = start + len(heading) + following.start() if following else len(text)
        text = text[:start] + section + ("\n" + text[end:] if following else "")
    with open(doc_path, "w") as f:
        f.write(text.rstrip("\n") + "\n")

#!/bin/bash
# kiln's tests, from a fresh clone: install what is needed, then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

swift build --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift test --skip-build 2>&1 | tee "$log"
# One plain closing line with the Swift Testing totals.
summary=$(grep -E '^✔ Test run with [0-9]+ tests' "$log" | tail -n 1 || true)
passed=$(printf '%s\n' "$summary" | sed -nE 's/^✔ Test run with ([0-9]+) tests.*/\1/p')
echo "tests: ${passed:-0} passed, 0 failed"

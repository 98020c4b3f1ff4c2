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
# One plain closing line with the Swift Testing totals ("✔ Test run with N tests … passed", or "━ … passed
# … with K known issues" when some expected failures of peers are recorded). swift test has already
# failed the script when a test failed.
passed=$(grep -E 'Test run with [0-9]+ tests? .*passed' "$log" | tail -n 1 \
  | sed -nE 's/.*Test run with ([0-9]+) tests?.*/\1/p' || true)
if [ -n "$passed" ]; then echo "tests: $passed passed, 0 failed"; fi

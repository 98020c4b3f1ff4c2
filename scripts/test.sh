#!/bin/bash
# kiln's tests, from a fresh clone: install what is needed, then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

swift build --build-tests
swift test --skip-build

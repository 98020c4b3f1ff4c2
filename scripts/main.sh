#!/bin/bash
# kiln's main job, from a fresh clone: install what is needed, build kiln, validate every recipe,
# and render each recipe for both targets (the AMI user-data script and the OCI layer plan).
# Output goes to out/render/.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

swift build -c release --product kiln
kiln=$(swift build -c release --show-bin-path)/kiln
"$kiln" --version

"$kiln" validate recipes/
mkdir -p out/render
for recipe in $(find recipes -name '*.yaml' | sort); do
  name=$(basename "$recipe" .yaml)
  if "$kiln" render --target ami "$recipe" --output "out/render/$name.user-data" >"out/render/$name.user-data.sh" 2>/dev/null; then
    echo "rendered out/render/$name.user-data.sh"
  fi
  if "$kiln" render --target oci "$recipe" >"out/render/$name.layers.txt" 2>/dev/null; then
    echo "rendered out/render/$name.layers.txt"
    cat "out/render/$name.layers.txt"
  fi
done
"$kiln" plan

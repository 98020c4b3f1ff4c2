#!/bin/bash
# kiln's main job, from a fresh clone: install what is needed, build kiln, validate every recipe,
# render each recipe for both targets (the AMI user-data script and the OCI layer plan; out/render/),
# then build a real OCI image from recipes/examples/tools.yaml — a debootstrap bookworm base, apt,
# files and run steps executed in kiln's namespace sandbox, the recipe's tests run inside — into the
# OCI image layout out/tools, and read it back with skopeo and umoci. Needs root (debootstrap and the
# sandbox) and the Debian archive; the base and every step are cached in ~/.cache/kiln, so a second
# run takes seconds.
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

# A real OCI image (SOURCE_DATE_EPOCH comes from the recipe's epoch unless set).
sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo "--preserve-env=HOME,KILN_CACHE_DIR,SOURCE_DATE_EPOCH"); fi
# The example is recorded in out/catalog.json, not in the repository's images/catalog.json.
"${sudo[@]}" "$kiln" build --target oci --output oci-layout:out/tools --catalog out/catalog.json recipes/examples/tools.yaml
skopeo inspect oci:out/tools:2026.11 | head -n 20
rm -rf out/tools-unpacked
"${sudo[@]}" umoci unpack --image out/tools:2026.11 out/tools-unpacked >/dev/null
echo "unpacked with umoci: $(find out/tools-unpacked/rootfs | wc -l) paths; /etc/kiln-course says: $(cat out/tools-unpacked/rootfs/etc/kiln-course)"

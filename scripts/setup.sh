#!/bin/bash
# Installs what kiln needs to build and test on Debian or Ubuntu: the C libraries it links
# (libcurl, OpenSSL's libcrypto, libarchive) and the tools its tests run. The Swift toolchain
# (6.0 or newer) comes from swift.org; this script checks for it but cannot install it from apt.
set -euo pipefail

packages=(
  pkg-config
  libcurl4-openssl-dev   # HTTP (KilnHTTP)
  libssl-dev             # SHA-256 and HMAC (KilnCrypto)
  libarchive-dev         # tar, gzip, zstd (KilnArchive)
  zlib1g-dev             # block-parallel gzip of layers (KilnArchive)
  libzstd-dev            # multithreaded zstd of layers (KilnArchive)
  libxml2                # FoundationXML (AWS answers are XML)
  curl                   # presigned URLs are exercised with plain curl
  ca-certificates
  shellcheck             # the rendered user-data is linted in the tests
  python3 python3-pip    # loopback test servers, the schema check
  util-linux             # unshare: the user-data is played in an overlay chroot
  bubblewrap             # the instance simulator plays AMI build instances in a sandbox
  skopeo umoci           # independent readers of the OCI layouts kiln writes
  tar gzip zstd          # independent readers of what kiln writes
  docker-registry        # the OCI registry the push and pull tests talk to
  apache2-utils          # htpasswd: the test registry authenticates user AWS, as ECR does
  debootstrap            # debootstrap bases (the main job builds a bookworm image)
  busybox-static         # small root filesystems for the sandbox tests
  chromium               # the student page is rendered headless in a test (links and AMI IDs in the DOM)
)

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Python peers of the tests: moto's server (EC2, SSM, S3, ECR, STS, IAM), botocore (the reference
# SigV4 signer), jsonschema and PyYAML (the recipe schema check).
if ! python3 -c 'import moto.server, botocore, flask_cors, jsonschema, yaml' 2>/dev/null \
    || ! command -v moto_server >/dev/null 2>&1; then
  echo "setup: installing moto[server], botocore, jsonschema and PyYAML with pip" >&2
  python3 -m pip install -q 'moto[server]' botocore jsonschema pyyaml 2>/dev/null \
    || python3 -m pip install -q --break-system-packages 'moto[server]' botocore jsonschema pyyaml
fi
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi

if ! command -v swift >/dev/null 2>&1; then
  for dir in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
    if [ -x "$dir/swift" ]; then export PATH="$dir:$PATH"; fi
  done
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "setup: no Swift toolchain on PATH; install Swift 6 from https://www.swift.org/install/linux/ and retry" >&2
  exit 1
fi

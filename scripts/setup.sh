#!/usr/bin/env bash
# Everything a fresh Debian machine (as root) needs: system packages, npm dependencies, the build.
# Idempotent: packages already installed are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."
# gcc-aarch64-linux-gnu, libc6-dev-arm64-cross: the static aarch64 loader (packages/loader-c);
# qemu-user: gate-run runs it under qemu-aarch64 on x86-64 hosts (docs/image-format.md, "Loader")
# clang, lld, wasi-libc, libclang-rt-14-dev-wasm32: C programs built for wasm32-wasi (tests/e2e/wasi-c,
# bench/programs/build.sh), so the wasi-libc test runs in CI instead of being skipped
# xfsprogs (mkfs.xfs), e2fsprogs (filefrag): tests/instance-file mounts an XFS with reflink=1 on a
# loop device to test the reflink path of --instance-file
# redis-server: the fleet (packages/fleet) keeps its queues and job records in Redis; its tests start
# their own redis-server on a free loopback port (the one Debian's service may start is not used)
packages=(gcc make libc6-dev wabt gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user redis-server
  clang lld wasi-libc libclang-rt-14-dev-wasm32 xfsprogs e2fsprogs)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
# wagc, gate-run and gate-inspect as commands on the PATH (symlinks into this checkout)
bash scripts/link-bins.sh

#!/usr/bin/env bash
# Installs every Debian package c2s needs (apt-get; nothing else is
# downloaded), selects the OpenMP OpenBLAS, then configures and builds into
# build/. Safe to run again: installed packages and a built tree are reused.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config
  libhdf5-dev zlib1g-dev libcairo2-dev
  libutf8proc-dev libonig-dev libsentencepiece-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev
  libgtest-dev libbenchmark-dev
  libopenblas0-openmp libtorch-dev libgloo-dev python3-torch
  python3-anndata python3-h5py python3-scipy python3-sklearn python3-numpy python3-pandas python3-sentencepiece
  time
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libtorch is 4-37x slower with the reference or pthread BLAS on these
# machines: make the OpenMP OpenBLAS the system BLAS/LAPACK.
for lib in libblas.so.3 liblapack.so.3; do
  alt=$(update-alternatives --list "${lib}-x86_64-linux-gnu" 2>/dev/null | grep openblas-openmp || true)
  if [ -n "$alt" ]; then
    current=$(readlink -f "/etc/alternatives/${lib}-x86_64-linux-gnu" 2>/dev/null || true)
    if [ "$current" != "$(readlink -f "$alt")" ]; then
      ${SUDO:-} update-alternatives --quiet --set "${lib}-x86_64-linux-gnu" "$alt"
    fi
  fi
done

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
if ! cmake --build build -j"$jobs" >build/build.log 2>&1; then
  grep -E 'error|Error' build/build.log | head -40 >&2
  echo "setup: build failed (full log: build/build.log)" >&2
  exit 1
fi
echo "setup: built build/c2s" >&2

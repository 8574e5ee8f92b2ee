#!/usr/bin/env bash
# Builds catnip's native shim (libcatnip_shim.so) next to this script, from catnip_shim.c, against DPDK 22.11
# (Debian's libdpdk-dev). Rebuilds only when the source is newer. Usage: build.sh [OUTDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
so="$out/libcatnip_shim.so"
if [ -f "$so" ] && [ "$so" -nt "$here/catnip_shim.c" ]; then exit 0; fi
if ! pkg-config --exists libdpdk; then
  echo "catnip: DPDK is missing (pkg-config libdpdk): apt-get install -y libdpdk-dev" >&2
  exit 1
fi
gcc -O2 -fPIC -shared -Wall -Werror -o "$so.tmp" "$here/catnip_shim.c" $(pkg-config --cflags --libs libdpdk)
mv "$so.tmp" "$so"

#!/usr/bin/env bash
# Builds catpowder's AF_XDP shim (libcatpowder_xdp.so) from catpowder_xdp.c against libxdp/libbpf (Debian's
# libxdp-dev and libbpf-dev, which libdpdk-dev also brings). Rebuilds only when the source is newer. Usage: build.sh [OUTDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
so="$out/libcatpowder_xdp.so"
if [ -f "$so" ] && [ "$so" -nt "$here/catpowder_xdp.c" ]; then exit 0; fi
if ! pkg-config --exists libxdp libbpf; then
  echo "catpowder: libxdp/libbpf are missing (pkg-config libxdp libbpf): apt-get install -y libxdp-dev libbpf-dev" >&2
  exit 1
fi
gcc -O2 -fPIC -shared -Wall -Werror -o "$so.tmp" "$here/catpowder_xdp.c" $(pkg-config --cflags --libs libxdp libbpf)
mv "$so.tmp" "$so"

#!/usr/bin/env bash
# Fuzzes one target with libFuzzer:   ./fuzz.sh TARGET SECONDS [libFuzzer flags...]
# (./build.sh first). New interesting inputs go to .build/work/TARGET (not into the committed seeds in corpus/);
# a crashing input is saved as .build/crashes/TARGET/crash-<sha1> and the run exits non-zero. Reproduce one with
#   bin/Release/net10.0/Demikernel.Fuzz TARGET .build/crashes/TARGET/crash-...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/.build"
target=${1:?usage: fuzz.sh TARGET SECONDS [libFuzzer flags]}
seconds=${2:?usage: fuzz.sh TARGET SECONDS [libFuzzer flags]}
shift 2
[ -x "$out/dotnet-libfuzzer" ] && [ -x "$out/app/Demikernel.Fuzz" ] || { echo "fuzz.sh: run build.sh first" >&2; exit 2; }
[ -d "$here/corpus/$target" ] || { echo "fuzz.sh: no corpus/$target (targets: $(ls "$here/corpus" | tr '\n' ' '))" >&2; exit 2; }
case "$target" in
  rdb|restore|aof|hll) max_len=65536 ;;
  *) max_len=4096 ;;
esac
mkdir -p "$out/work/$target" "$out/crashes/$target"
export FUZZ_TARGET_EXE="$out/app/Demikernel.Fuzz" FUZZ_TARGET_NAME="$target"
export DOTNET_TieredPGO=0 DOTNET_TC_QuickJitForLoops=1 DOTNET_gcServer=0
exec "$out/dotnet-libfuzzer" -max_total_time="$seconds" -timeout=10 -max_len="$max_len" -rss_limit_mb=4096 \
  -artifact_prefix="$out/crashes/$target/" -print_final_stats=1 "$@" "$out/work/$target" "$here/corpus/$target"

#!/usr/bin/env bash
# Before/after GET round trip through our load generator on both ends, side by side in one run: this checkout's
# server and load generator against a baseline build of both (BASELINE: a directory holding server/ and lg/, the
# Release outputs of server/Demikernel.Server and bench/Demikernel.LoadGen of the commit to compare with). For each
# libOS (catmem, catnap loopback), ROUNDS alternating rounds: one server at a time pinned to core 0, the load generator
# pinned to core 1 (one connection, pipeline 1, GETs of 10,000 preloaded 32-byte values, SECONDS after a 1 s warm-up).
# Prints every round and the median p50/p99 of each cell (and the best p50: on a busy machine the rounds nobody else
# ran in), with the load average before and after. With catnap, each round also runs the kernel's own loopback TCP
# floor (bench/tcp-pingpong.c, 64-byte ping-pong in C, both ends spinning on recv, same cores; needs gcc): this VM's
# floor moves from day to day (7.6 us to 16 us), so catnap's figure means something only beside the same run's floor.
#
#   BASELINE=/tmp/base [LIBOSES="catmem catnap"] bench/latency.sh [ROUNDS] [SECONDS]
# Make a baseline:  git worktree add /tmp/b <commit> && (cd /tmp/b && dotnet build -c Release server/Demikernel.Server
#   && dotnet build -c Release bench/Demikernel.LoadGen) && mkdir /tmp/base && cp -r /tmp/b/server/Demikernel.Server/bin/Release/net10.0 /tmp/base/server
#   && cp -r /tmp/b/bench/Demikernel.LoadGen/bin/Release/net10.0 /tmp/base/lg
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-3}
libs=${LIBOSES:-catmem catnap}
: "${BASELINE:?set BASELINE to a directory with server/ and lg/ (see the header)}"
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null
dotnet build -c Release bench/Demikernel.LoadGen -nologo -v q -clp:ErrorsOnly >/dev/null
new_srv=$PWD/server/Demikernel.Server/bin/Release/net10.0
new_lg=$PWD/bench/Demikernel.LoadGen/bin/Release/net10.0
work=$(mktemp -d)
floor=
if [[ " $libs " == *" catnap "* ]] && command -v gcc >/dev/null; then
  gcc -O2 -o "$work/tcp-pingpong" bench/tcp-pingpong.c && floor=$work/tcp-pingpong
fi
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port=$((56800 + RANDOM % 500))

one() { # label libos server-dir lg-dir
  port=$((port + 1))
  (cd "$work" && exec taskset -c 0 dotnet "$3/Demikernel.Server.dll" --libos "$2" --port $port --save "" >"$work/server.log" 2>&1) &
  server=$!
  if [ "$2" = catmem ]; then
    for _ in $(seq 100); do [ -e /dev/shm/demikernel-catmem.$port ] && break; sleep 0.1; done
  else
    for _ in $(seq 100); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  local line
  line=$(taskset -c 1 dotnet "$4/demi-loadgen.dll" --libos "$2" --target 127.0.0.1:$port --connections 1 --pipeline 1 \
    --ratio 0:1 --keyspace 10000 --value-size 32 --preload --warmup 1 --duration "$seconds" | tail -1)
  kill $server 2>/dev/null || true
  wait $server 2>/dev/null || true
  server=
  echo "$1 $2 $line"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for libos in $libs; do
    one before $libos "$BASELINE/server" "$BASELINE/lg"
    one after $libos "$new_srv" "$new_lg"
    # the C floor pins its echo side to core 0 and its client to core 1, as the server and load generator are pinned
    if [ "$libos" = catnap ] && [ -n "$floor" ]; then echo "floor catnap $("$floor" 0 100000)"; fi
  done
done | tee "$work/results"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median of $rounds rounds (GET, 1 connection, pipeline 1):"
if grep -q "^floor catnap " "$work/results"; then
  printf "  %-14s p50 %6s us   (kernel TCP loopback, C, 64 B ping-pong: catnap's floor in this run)\n" "catnap floor" \
    "$(grep "^floor catnap " "$work/results" | sed -E 's/.* p50 ([0-9.]+) us.*/\1/' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')"
fi
for libos in $libs; do
  for who in before after; do
    rows=$(grep "^$who $libos " "$work/results" | sed -E 's/.*throughput=([0-9]+).*p50_us=([0-9.]+) p99_us=([0-9.]+).*/\1 \2 \3/')
    med() { echo "$rows" | awk -v c=$1 '{print $c}' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
    best=$(echo "$rows" | awk '{print $2}' | sort -g | head -1)
    printf "  %-14s p50 %6s us (best %s)   p99 %8s us   %7s GET/s\n" "$libos $who" "$(med 2)" "$best" "$(med 3)" "$(med 1)"
  done
done

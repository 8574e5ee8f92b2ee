#!/usr/bin/env bash
# GET round trip through our load generator (bench/Demikernel.LoadGen), side by side in one run:
#   ours-catnap   our server on catnap (kernel TCP, loopback)  <- loadgen on catnap
#   ours-catmem   our server on catmem (shared memory)         <- loadgen on catmem
#   ours-both     our server on catnap with --catmem-listen (TCP and catmem on one thread) <- loadgen on catmem
#   redis-catnap  redis-server 7.0 (kernel TCP, loopback)      <- loadgen on catnap
# One connection, pipeline 1, GETs of preloaded keys; ROUNDS alternating rounds of SECONDS each (after WARMUP seconds,
# 4 by default: the JIT's tiers settle on both ends),
# so background noise on the machine falls on all alike. Usage: bench/loadgen.sh [ROUNDS] [SECONDS]
# PIN=1: every server on core 0, the generator on core 1 (as bench/catnip.sh; a loaded 2-core machine still preempts).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
seconds=${2:-5}
warmup=${WARMUP:-4}
ours_tcp=56391 ours_mem=56392 redis_port=56393 both_tcp=56394 both_mem=56395
pin_server=() pin_client=()
if [ "${PIN:-0}" = 1 ]; then pin_server=(taskset -c 0); pin_client=(taskset -c 1); fi
command -v redis-server >/dev/null || { echo "needs redis-server (apt-get install redis-server)"; exit 1; }
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null
dotnet build -c Release bench/Demikernel.LoadGen -nologo -v q -clp:ErrorsOnly >/dev/null
srv=server/Demikernel.Server/bin/Release/net10.0/Demikernel.Server.dll
lg=bench/Demikernel.LoadGen/bin/Release/net10.0/demi-loadgen.dll
work=$(mktemp -d)
(cd "$work" && exec "${pin_server[@]}" dotnet "$OLDPWD/$srv" --libos catnap --port $ours_tcp --save "" >"$work/ours-catnap.log" 2>&1) &
a=$!
(cd "$work" && exec "${pin_server[@]}" dotnet "$OLDPWD/$srv" --libos catmem --port $ours_mem --save "" >"$work/ours-catmem.log" 2>&1) &
b=$!
"${pin_server[@]}" redis-server --port $redis_port --save "" --appendonly no --daemonize no --dir "$work" >"$work/redis.log" 2>&1 &
c=$!
(cd "$work" && exec "${pin_server[@]}" dotnet "$OLDPWD/$srv" --libos catnap --port $both_tcp --catmem-listen $both_mem --save "" >"$work/ours-both.log" 2>&1) &
d=$!
trap 'kill $a $b $c $d 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
for p in $ours_tcp $redis_port $both_tcp; do
  for _ in $(seq 50); do redis-cli -p $p ping >/dev/null 2>&1 && break; sleep 0.2; done
done
for _ in $(seq 50); do [ -e /dev/shm/demikernel-catmem.$ours_mem ] && break; sleep 0.2; done

run() { # label libos port
  "${pin_client[@]}" dotnet $lg --label "$1" --libos "$2" --target 127.0.0.1:$3 --connections 1 --pipeline 1 --ratio 0:1 \
    --keyspace 10000 --value-size 32 --preload --warmup "$warmup" --duration "$seconds" | tail -1
}
for r in $(seq "$rounds"); do
  run ours-catnap catnap $ours_tcp
  run ours-catmem catmem $ours_mem
  run ours-both catmem $both_mem
  run redis-catnap catnap $redis_port
done | tee "$work/results"
echo
echo "median of $rounds rounds (GET, 1 connection, pipeline 1):"
for l in ours-catnap ours-catmem ours-both redis-catnap; do
  grep "^$l " "$work/results" | sed -E 's/.*throughput=([0-9]+).*p50_us=([0-9.]+) p99_us=([0-9.]+).*/\2 \3 \1/' | sort -n |
    awk -v l=$l '{p50[NR]=$1; p99[NR]=$2; t[NR]=$3} END {m=int((NR+1)/2); printf "  %-13s p50 %6s us   p99 %8s us   %7s GET/s\n", l, p50[m], p99[m], t[m]}'
done

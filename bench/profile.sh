#!/usr/bin/env bash
# Where a request's CPU goes: perf profiles of our server (with the runtime's perf map, DOTNET_PerfMapEnabled=1) and of
# redis-server 7.0 (W^X off so that perf sees the JIT's code where the map says it is), each pinned to core 0, under redis-benchmark GET or SET at pipeline 16 (50 connections, 100k
# existing keys, 16-byte values) on core 1, one server after the other. Prints the server's CPU per request over the
# profiled window and writes perf's flat reports (by DSO and by symbol) to OUT.
#
#   bench/profile.sh [seconds] [out dir]          e.g. bench/profile.sh 5 /tmp/demi-profile
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
out=${2:-/tmp/demi-profile}
command -v perf >/dev/null || { echo "needs perf (apt-get install linux-perf)"; exit 1; }
command -v redis-benchmark >/dev/null || { echo "needs redis-benchmark (apt-get install redis-tools)"; exit 1; }
mkdir -p "$out"
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null
ours_port=6541 redis_port=6542
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 taskset -c 0 dotnet server/Demikernel.Server/bin/Release/net10.0/Demikernel.Server.dll \
  --port $ours_port --save "" >"$out/ours.log" 2>&1 &
ours=$!
taskset -c 0 redis-server --port $redis_port --save "" --appendonly no --daemonize no >"$out/redis.log" 2>&1 &
redis=$!
trap 'kill $ours $redis 2>/dev/null || true' EXIT
for p in $ours_port $redis_port; do
  for _ in $(seq 100); do redis-cli -p $p ping >/dev/null 2>&1 && break; sleep 0.2; done
  # 100k keys, then a warm-up (tiered JIT) of both tests
  taskset -c 1 redis-benchmark -p $p -t set -n 400000 -r 100000 -d 16 -P 64 -q >/dev/null
  taskset -c 1 redis-benchmark -p $p -t get,set -n 1000000 -r 100000 -d 16 -P 16 -q >/dev/null
done
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' /proc/$1/stat; }
info_cmds() { redis-cli -p $1 info stats | awk -F: '/^total_commands_processed/ {print $2+0}'; }
for test in get set; do
  for who in ours redis; do
    if [ $who = ours ]; then pid=$ours; port=$ours_port; else pid=$redis; port=$redis_port; fi
    taskset -c 1 redis-benchmark -p $port -t $test -n 1000000000 -r 100000 -d 16 -P 16 -c 50 -q >/dev/null 2>&1 &
    bench=$!
    sleep 1
    c0=$(cpu $pid); n0=$(info_cmds $port)
    perf record -F 2999 -g -p $pid -o "$out/$who-$test.data" -- sleep "$secs" 2>/dev/null >/dev/null
    c1=$(cpu $pid); n1=$(info_cmds $port)
    kill $bench; wait $bench 2>/dev/null || true
    awk -v t=$((c1 - c0)) -v hz=$hz -v n=$((n1 - n0)) -v w=$who -v x=$test \
      'BEGIN { printf "%-6s %-4s %10d requests  %.3f us CPU/request (incl. perf overhead)\n", w, x, n, t / hz * 1e6 / n }'
    { perf report -i "$out/$who-$test.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15 || true; } >"$out/$who-$test.dso.txt"
    { perf report -i "$out/$who-$test.data" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.7 2>/dev/null | grep -v '^#' | grep -v '^$' | head -60 || true; } >"$out/$who-$test.sym.txt"
  done
done
echo "reports in $out (*.dso.txt, *.sym.txt)"

#!/usr/bin/env bash
# The garbage collector's cost in latency: p50/p99/p99.9/max of single SETs (no pipeline) against a keyspace of
# 1M keys that keeps growing, for our server under each GC setting and for redis-server 7.0 as the yardstick, in one
# run. Each server is pinned to core 0 and redis-benchmark to core 1; after a run the server is shut down and its
# log's GC summary (collections and total pause) is printed.
#
#   bench/gc-latency.sh [keys] [requests] [clients] [value bytes]     e.g. bench/gc-latency.sh 1000000 2000000 50 100
set -euo pipefail
cd "$(dirname "$0")/.."
keys=${1:-1000000}
n=${2:-2000000}
c=${3:-50}
d=${4:-100}
command -v redis-benchmark >/dev/null || { echo "needs redis-benchmark (apt-get install redis-tools)"; exit 1; }
command -v redis-server >/dev/null || { echo "needs redis-server (apt-get install redis-server)"; exit 1; }
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null
port=6431
dll=server/Demikernel.Server/bin/Release/net10.0/Demikernel.Server.dll

# One line per percentile from redis-benchmark's "Latency by percentile distribution" (the first row at or above it).
percentiles() {
  awk '/Latency by percentile distribution/ { on = 1; next } on && /%/ {
         p = $1; sub("%", "", p); v = $3
         if (!a50 && p >= 50) a50 = v; if (!a99 && p >= 99) a99 = v; if (!a999 && p >= 99.9) a999 = v; max = v }
       /Cumulative distribution/ { on = 0 }
       END { printf "%8s %8s %8s %8s", a50, a99, a999, max }'
}

run() { # name, command that starts the server in the background
  local name=$1; shift
  "$@" >/tmp/gc-latency-$name.log 2>&1 &
  local pid=$!
  for _ in $(seq 100); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.2; done
  # fill the keyspace, then measure SETs of new and existing keys over twice its size (it keeps growing)
  taskset -c 1 redis-benchmark -p $port -t set -n $keys -r $keys -c 50 -P 64 -d $d -q >/dev/null
  local rps
  out=$(taskset -c 1 redis-benchmark -p $port -t set -n $n -r $((keys * 2)) -c $c -d $d --precision 3 2>/dev/null | tr '\r' '\n')
  rps=$(echo "$out" | awk '/throughput summary/ { print $3 }')
  local used rss
  used=$(redis-cli -p $port info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { printf "%.0f", $2 / 1048576 }')
  rss=$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' /proc/$pid/status)
  printf "%-28s %10s %s %8s %8s\n" "$name" "$rps" "$(echo "$out" | percentiles)" "$used" "$rss"
  redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true
  wait $pid 2>/dev/null || true
  grep -h "GC over" /tmp/gc-latency-$name.log | sed 's/^.*GC over/    GC over/' || true
}

echo "SET, $keys keys filled, then $n requests over $((keys * 2)) keys, $c clients, $d-byte values; latency in ms"
printf "%-28s %10s %8s %8s %8s %8s %8s %8s\n" server "requests/s" p50 p99 p99.9 max "used MB" "RSS MB"
run ours-nonconcurrent env DOTNET_gcConcurrent=0 taskset -c 0 dotnet $dll --port $port --save " "
run ours-concurrent env DOTNET_gcConcurrent=1 taskset -c 0 dotnet $dll --port $port --save " "
run redis-server taskset -c 0 redis-server --port $port --save "" --appendonly no

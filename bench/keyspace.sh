#!/usr/bin/env bash
# The keyspace's cost: used_memory and RSS per key, and request latency and GC pauses under a steady SET/GET load on a
# keyspace of that size, for our server and redis-server 7.0 one after the other in one run. Keys are redis-benchmark's
# own ("key:" + 12 digits = 16 bytes) with 16-byte values, loaded with redis-cli --pipe, so the load then hits existing
# keys only. Each server is pinned to core 0, the clients to core 1.
#
#   bench/keyspace.sh [keys] [requests] [clients]        e.g. bench/keyspace.sh 1000000 2000000 50
#   BASELINE_DLL=/path/to/an/older/Demikernel.Server.dll bench/keyspace.sh ...   also runs that build, first
#
# Per server: used_memory and RSS empty and full, bytes of used_memory per key, RSS / used_memory, load time; then
# SET and GET p50/p99/p99.9/max (ms) from redis-benchmark; for ours the GC's collections and its longest pause and
# pauses over 5 ms from the runtime's GC events (INFO memory gc_pause_max_ms, gc_pauses_over_5ms).
set -euo pipefail
cd "$(dirname "$0")/.."
keys=${1:-1000000}
n=${2:-2000000}
c=${3:-50}
command -v redis-benchmark >/dev/null || { echo "needs redis-benchmark (apt-get install redis-tools)"; exit 1; }
command -v redis-server >/dev/null || { echo "needs redis-server (apt-get install redis-server)"; exit 1; }
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null
port=6432
dll=server/Demikernel.Server/bin/Release/net10.0/Demikernel.Server.dll

field() { redis-cli -p $port info "$1" | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'; }
rss() { awk '/VmRSS/ { print $2 * 1024 }' /proc/$1/status; }

# p50 p99 p99.9 max of one test's section of redis-benchmark's output
percentiles() {
  awk -v t="$1" '/^====== / { on = ($2 == t); next }
       on && /Latency by percentile distribution/ { in_ = 1; next }
       on && in_ && /%/ { p = $1; sub("%", "", p); v = $3
         if (!a50 && p >= 50) a50 = v; if (!a99 && p >= 99) a99 = v; if (!a999 && p >= 99.9) a999 = v; max = v }
       /Cumulative distribution/ { in_ = 0 }
       END { printf "%7s %7s %7s %8s", a50, a99, a999, max }'
}

run() { # name, command that starts the server in the background
  local name=$1; shift
  "$@" >/tmp/keyspace-$name.log 2>&1 &
  local pid=$!
  for _ in $(seq 100); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.2; done
  local used0 rss0 used1 rss1 t0 t1 out
  used0=$(field memory used_memory); rss0=$(rss $pid)
  t0=$(date +%s.%N)
  awk -v n="$keys" 'BEGIN { for (i = 0; i < n; i++) printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$16\r\nvvvvvvvvvvvvvvvv\r\n", i }' |
    taskset -c 1 redis-cli -p $port --pipe >/dev/null
  t1=$(date +%s.%N)
  used1=$(field memory used_memory); rss1=$(rss $pid)
  out=$(taskset -c 1 redis-benchmark -p $port -t set,get -n $n -r "$keys" -c $c -d 16 --precision 3 2>/dev/null | tr '\r' '\n')
  local dbsize; dbsize=$(redis-cli -p $port dbsize)
  printf "%-14s keys %s  load %.1f s  used_memory %.1f -> %.1f MB (%.1f B/key)  RSS %.1f -> %.1f MB  RSS/used %.2f\n" \
    "$name" "$dbsize" "$(echo "$t1 - $t0" | bc)" "$(echo "$used0 / 1048576" | bc -l)" "$(echo "$used1 / 1048576" | bc -l)" \
    "$(echo "($used1 - $used0) / $keys" | bc -l)" "$(echo "$rss0 / 1048576" | bc -l)" "$(echo "$rss1 / 1048576" | bc -l)" \
    "$(echo "$rss1 / $used1" | bc -l)"
  printf "%-14s SET p50/p99/p99.9/max %s ms   GET %s ms\n" "" "$(echo "$out" | percentiles SET)" "$(echo "$out" | percentiles GET)"
  if [ "$name" != redis-server ]; then
    printf "%-14s GC: %s gen0, %s gen1, %s gen2 collections, %s ms paused in total, longest pause %s ms (gen %s), %s pauses over 5 ms; RSS after load %.1f MB\n" "" \
      "$(field memory gc_gen0_collections)" "$(field memory gc_gen1_collections)" "$(field memory gc_gen2_collections)" \
      "$(field memory gc_pause_time_total_ms)" "$(field memory gc_pause_max_ms)" "$(field memory gc_pause_max_generation)" "$(field memory gc_pauses_over_5ms)" \
      "$(echo "$(rss $pid) / 1048576" | bc -l)"
  fi
  redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true
  wait $pid 2>/dev/null || true
}

echo "$keys keys of 16 B with 16 B values, then $n SETs and $n GETs of existing keys, $c clients"
if [ -n "${BASELINE_DLL:-}" ]; then run baseline taskset -c 0 dotnet "$BASELINE_DLL" --port $port --save " "; fi
run ours taskset -c 0 dotnet $dll --port $port --save " "
run redis-server taskset -c 0 redis-server --port $port --save "" --appendonly no

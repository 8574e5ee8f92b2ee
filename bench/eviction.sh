#!/usr/bin/env bash
# Eviction's cost: SET throughput and server CPU per request at maxmemory (every SET of a new key evicts), with
# allkeys-lru and allkeys-lfu, our server and redis-server 7.0 side by side in one run. A row without a limit
# (maxmemory 0) is the yardstick. Each server is pinned to core 0, redis-benchmark to core 1, as in compare.sh;
# "server CPU us/req" is the server's utime+stime over the run divided by the requests.
#
#   bench/eviction.sh [requests] [clients] [maxmemory] [value bytes] [pipeline]   e.g. bench/eviction.sh 200000 50 16mb 100 16
# (the fill run must exceed maxmemory: requests x (value + ~150 bytes) > maxmemory)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
c=${2:-50}
limit=${3:-16mb}
d=${4:-100}
P=${5:-1}
ours_port=6421
redis_port=6422
bench_name=eviction
source bench/pair.sh
# Warm up our JIT (tiered compilation) before measuring.
taskset -c 1 redis-benchmark -p $ours_port -t set,get -n 100000 -c $c -P 16 -q >/dev/null
redis-cli -p $ours_port flushall >/dev/null

field() { redis-cli -p "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'; }

echo "SET, $n requests, $c clients, pipeline $P, $d-byte values, random keys"
printf "%-6s %-12s %-9s %12s %18s %12s %14s %10s\n" server policy maxmemory "requests/s" "server CPU us/req" evicted "used_memory" "RSS MB"
for policy in none allkeys-lru allkeys-lfu; do
  for who in ours redis; do
    if [ $who = ours ]; then pid=$ours; port=$ours_port; else pid=$redis; port=$redis_port; fi
    redis-cli -p $port flushall >/dev/null
    redis-cli -p $port config resetstat >/dev/null 2>&1 || true
    if [ $policy = none ]; then
      redis-cli -p $port config set maxmemory 0 >/dev/null
      redis-cli -p $port config set maxmemory-policy noeviction >/dev/null
    else
      redis-cli -p $port config set maxmemory-policy $policy >/dev/null
      redis-cli -p $port config set maxmemory $limit >/dev/null
      # fill up to the limit first, so that the measured SETs each evict
      taskset -c 1 redis-benchmark -p $port -t set -n $n -c $c -d $d -r 100000000 -P $P -q >/dev/null
    fi
    evicted_before=$(field $port stats evicted_keys)
    before=$(cpu_ticks $pid)
    rps=$(taskset -c 1 redis-benchmark -p $port -t set -n $n -c $c -d $d -r 100000000 -P $P -q --csv | tail -1 | cut -d, -f2 | tr -d '"')
    after=$(cpu_ticks $pid)
    us=$(awk -v t=$((after - before)) -v hz=$hz -v n=$n 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
    evicted=$(( $(field $port stats evicted_keys) - evicted_before ))
    rss=$(awk '/VmRSS/ { printf "%d", $2 / 1024 }' /proc/$pid/status)
    printf "%-6s %-12s %-9s %12s %18s %12s %14s %10s\n" $who $policy "$( [ $policy = none ] && echo 0 || echo $limit)" "$rps" "$us" "$evicted" "$(field $port memory used_memory)" "$rss"
  done
done

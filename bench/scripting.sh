#!/usr/bin/env bash
# EVALSHA of a small cached script (GET + INCR through redis.call) with redis-benchmark, against our server and
# redis-server 7.0.15 in one run: client-seen requests/s and the server's CPU time per call (utime+stime from
# /proc/PID/stat). Each server pinned to core 0, the client to core 1, as bench/compare.sh.
#
#   bench/scripting.sh [requests] [clients]      e.g. bench/scripting.sh 200000 50
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
c=${2:-50}
ours_port=6421
redis_port=6422
bench_name=scripting
source bench/pair.sh
script="redis.call('get', KEYS[1]) return redis.call('incr', KEYS[2])"
for p in $ours_port $redis_port; do
  redis-cli -p $p set k v >/dev/null
  sha=$(redis-cli -p $p script load "$script")
done
# Warm up our JIT before measuring.
taskset -c 1 redis-benchmark -p $ours_port -n 100000 -c $c -P 16 -q evalsha "$sha" 2 k n >/dev/null

printf "%-10s %-5s %14s %18s\n" server P "requests/s" "server CPU us/call"
for pipeline in 1 16; do
  for who in ours redis; do
    if [ $who = ours ]; then pid=$ours; port=$ours_port; else pid=$redis; port=$redis_port; fi
    before=$(cpu_ticks $pid)
    rps=$(taskset -c 1 redis-benchmark -p $port -n $n -c $c -P $pipeline -q --csv evalsha "$sha" 2 k n | tail -1 | cut -d, -f2 | tr -d '"')
    after=$(cpu_ticks $pid)
    us=$(awk -v t=$((after - before)) -v hz=$hz -v n=$n 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
    printf "%-10s %-5s %14s %18s\n" $who $pipeline "$rps" "$us"
  done
done

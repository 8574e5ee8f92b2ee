#!/usr/bin/env bash
# End-to-end comparison: redis-benchmark against our server and against redis-server, side by side in one run.
# Each server is pinned to core 0 (taskset), the client to core 1. Besides client-seen requests/s, it reports the
# server's CPU time per request (utime+stime from /proc/PID/stat over the run), which is what a one-core server
# costs regardless of how fast the client can go (PLATFORM.md: the client saturates first at pipeline 16).
#
#   bench/compare.sh [requests] [clients]      e.g. bench/compare.sh 200000 50
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
c=${2:-50}
ours_port=6411
redis_port=6412
bench_name=compare
source bench/pair.sh
# Warm up our JIT (tiered compilation) before measuring.
taskset -c 1 redis-benchmark -p $ours_port -t set,get -n 100000 -c $c -P 16 -q >/dev/null


printf "%-10s %-4s %-5s %14s %18s\n" server test P "requests/s" "server CPU us/req"
for pipeline in 1 16; do
  for test in set get; do
    for who in ours redis; do
      if [ $who = ours ]; then pid=$ours; port=$ours_port; else pid=$redis; port=$redis_port; fi
      before=$(cpu_ticks $pid)
      rps=$(taskset -c 1 redis-benchmark -p $port -t $test -n $n -c $c -P $pipeline -q --csv | tail -1 | cut -d, -f2 | tr -d '"')
      after=$(cpu_ticks $pid)
      us=$(awk -v t=$((after - before)) -v hz=$hz -v n=$n 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
      printf "%-10s %-4s %-5s %14s %18s\n" $who $test $pipeline "$rps" "$us"
    done
  done
done

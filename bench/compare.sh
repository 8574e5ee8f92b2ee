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
command -v redis-benchmark >/dev/null || { echo "needs redis-benchmark (apt-get install redis-tools)"; exit 1; }
command -v redis-server >/dev/null || { echo "needs redis-server (apt-get install redis-server)"; exit 1; }
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null

taskset -c 0 dotnet server/Demikernel.Server/bin/Release/net10.0/Demikernel.Server.dll --port $ours_port --save "" >/tmp/compare-ours.log 2>&1 &
ours=$!
taskset -c 0 redis-server --port $redis_port --save "" --appendonly no --daemonize no >/tmp/compare-redis.log 2>&1 &
redis=$!
trap 'kill $ours $redis 2>/dev/null || true' EXIT
for p in $ours_port $redis_port; do
  for _ in $(seq 50); do redis-cli -p $p ping >/dev/null 2>&1 && break; sleep 0.2; done
done
# Warm up our JIT (tiered compilation) before measuring.
taskset -c 1 redis-benchmark -p $ours_port -t set,get -n 100000 -c $c -P 16 -q >/dev/null

cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
hz=$(getconf CLK_TCK)

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

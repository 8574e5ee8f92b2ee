#!/usr/bin/env bash
# Server CPU per request and throughput under redis-benchmark, this checkout's server against a baseline build, side by
# side in one run (BASELINE: a directory with server/, as for bench/latency.sh). Each round, for each pipeline depth,
# the baseline then this checkout: the server on catnap pinned to core 0, redis-benchmark (GET, 50 connections) on
# core 1; CPU is the server's utime+stime from /proc/PID/stat over the benchmark. Prints every row and the medians.
#
#   BASELINE=/tmp/base bench/catnap-cpu.sh [ROUNDS] [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
requests=${2:-200000}
: "${BASELINE:?set BASELINE to a directory with server/ (see bench/latency.sh)}"
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null
new_srv=$PWD/server/Demikernel.Server/bin/Release/net10.0
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port=$((57300 + RANDOM % 500))
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' /proc/$1/stat; }

one() { # label server-dir pipeline
  port=$((port + 1))
  (cd "$work" && exec taskset -c 0 dotnet "$2/Demikernel.Server.dll" --libos catnap --port $port --save "" >"$work/server.log" 2>&1) &
  server=$!
  for _ in $(seq 100); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p $port set key:__rand_int__ xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx >/dev/null
  taskset -c 1 redis-benchmark -p $port -t set -c 50 -P 16 -n 20000 -r 10000 -d 32 -q >/dev/null # preload + warm-up
  local before after rps
  before=$(cpu $server)
  rps=$(taskset -c 1 redis-benchmark -p $port -t get -c 50 -P "$3" -n "$requests" -r 10000 --csv | tail -1 | cut -d, -f2 | tr -d '"')
  after=$(cpu $server)
  kill $server 2>/dev/null || true
  wait $server 2>/dev/null || true
  server=
  awk -v l="$1" -v p="$3" -v r="$rps" -v c=$((after - before)) -v hz="$hz" -v n="$requests" \
    'BEGIN { printf "%s P%s rps=%d cpu_us_per_req=%.2f\n", l, p, r, c / hz * 1e6 / n }'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for p in 1 16; do
    one before "$BASELINE/server" $p
    one after "$new_srv" $p
  done
done | tee "$work/results"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median of $rounds rounds (GET, 50 connections, catnap):"
for p in 1 16; do
  for who in before after; do
    rows=$(grep "^$who P$p " "$work/results" | sed -E 's/.*rps=([0-9]+) cpu_us_per_req=([0-9.]+)/\1 \2/')
    med() { echo "$rows" | awk -v c=$1 '{print $c}' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
    printf "  P%-3s %-7s %8s GET/s   %6s us CPU/request\n" "$p" "$who" "$(med 1)" "$(med 2)"
  done
done

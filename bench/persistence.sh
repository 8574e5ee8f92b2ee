#!/usr/bin/env bash
# Durability costs, our server and redis-server 7.0 side by side in one run (servers pinned to core 0, clients to
# core 1, each in its own temp directory):
#   1. SAVE time and start-up load time of the same 1M mixed keys (600k strings, 100k each of hashes, lists, sets and
#      sorted sets of 5 elements), as each server logs them;
#   2. redis-benchmark SET (50 clients, 16-byte values) with appendonly yes and appendfsync everysec, then always:
#      requests/s, p50 and p99;
#   3. p99.9 and max latency of a SET/GET load over the 1M keys, without and with BGSAVEs running during the load.
#
#   bench/persistence.sh [rounds] [sections]     (default: 2 rounds of section 3, sections 123; about 5 minutes)
#
# The strings are named as redis-benchmark names its keys (key:%012d), so the SET load of section 3 overwrites keys of
# the snapshot instead of growing the heap: what is measured is BGSAVE, not the first gen2 GC of a growing heap.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
sections=${2:-123}
ours_port=6421
redis_port=6422
command -v redis-benchmark >/dev/null || { echo "needs redis-benchmark (apt-get install redis-tools)"; exit 1; }
command -v redis-server >/dev/null || { echo "needs redis-server (apt-get install redis-server)"; exit 1; }
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null
dll=server/Demikernel.Server/bin/Release/net10.0/Demikernel.Server.dll
work=$(mktemp -d /tmp/persistence-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start WHO DIR ARGS...: starts a server pinned to core 0, waits for PING, sets $pid.
start() {
  local who=$1 dir=$2; shift 2
  mkdir -p "$dir"
  if [ "$who" = ours ]; then
    taskset -c 0 dotnet "$dll" --port $ours_port --dir "$dir" "$@" >"$dir/log" 2>&1 &
  else
    taskset -c 0 redis-server --port $redis_port --dir "$dir" --daemonize no "$@" >"$dir/log" 2>&1 &
  fi
  pid=$!
  pids+=("$pid")
  local port; port=$(port_of "$who")
  # PONG, not just a reply: a server still loading answers -LOADING
  for _ in $(seq 1200); do [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0; sleep 0.1; done
  echo "$who did not start: $(tail -5 "$dir/log")"; exit 1
}
stop() { redis-cli -p "$(port_of "$1")" shutdown nosave >/dev/null 2>&1 || true; wait "$2" 2>/dev/null || true; }
port_of() { if [ "$1" = ours ]; then echo $ours_port; else echo $redis_port; fi; }
ms() { date +%s%3N; }

python3 - "$work/data.resp" <<'EOF'
import sys
out = open(sys.argv[1], 'wb')
def cmd(*args):
    out.write(b'*%d\r\n' % len(args))
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.write(b'$%d\r\n%s\r\n' % (len(a), a))
for i in range(600000):
    cmd('SET', 'key:%012d' % i, 'value-%010d' % i)
for i in range(100000):
    cmd('HSET', 'hash:%07d' % i, *sum((['f%d' % j, 'v%d' % (i + j)] for j in range(5)), []))
    cmd('RPUSH', 'list:%07d' % i, *('item-%d' % (i + j) for j in range(5)))
    cmd('SADD', 'set:%07d' % i, *(str(i * 7 + j) for j in range(5)))
    cmd('ZADD', 'zset:%07d' % i, *sum(([str(j * 1.5), 'm%d' % (i + j)] for j in range(5)), []))
EOF

if [[ $sections == *1* ]]; then
echo "== 1. SAVE and load of 1M mixed keys"
printf "%-8s %10s %14s %10s %12s\n" server "keys" "SAVE ms" "file MB" "load s"
for who in ours redis; do
  dir=$work/$who-save
  if [ $who = ours ]; then start ours "$dir" --save ""; else start redis "$dir" --save "" --appendonly no; fi
  redis-cli -p "$(port_of $who)" --pipe <"$work/data.resp" >/dev/null
  keys=$(redis-cli -p "$(port_of $who)" dbsize)
  t0=$(ms); redis-cli -p "$(port_of $who)" save >/dev/null; t1=$(ms)
  stop $who "$pid"
  size=$(awk -v b="$(stat -c %s "$dir/dump.rdb")" 'BEGIN { printf "%.1f", b / 1048576 }')
  if [ $who = ours ]; then start ours "$dir" --save ""; else start redis "$dir" --save "" --appendonly no; fi
  load=$(grep -o "DB loaded from disk: [0-9.]* seconds" "$dir/log" | grep -o "[0-9.]*" | head -1)
  stop $who "$pid"
  printf "%-8s %10s %14s %10s %12s\n" $who "$keys" "$((t1 - t0))" "$size" "$load"
done

fi

if [[ $sections == *2* ]]; then
echo "== 2. SET with appendonly yes (redis-benchmark -t set -n 200000 -c 50 -d 16)"
printf "%-8s %-9s %12s %8s %8s\n" server appendfsync "requests/s" "p50 ms" "p99 ms"
for fsync in everysec always; do
  for who in ours redis; do
    dir=$work/$who-aof-$fsync
    if [ $who = ours ]; then start ours "$dir" --save "" --appendonly yes --appendfsync $fsync
    else start redis "$dir" --save "" --appendonly yes --appendfsync $fsync; fi
    n=200000; [ $fsync = always ] && n=50000
    line=$(taskset -c 1 redis-benchmark -p "$(port_of $who)" -t set -n $n -c 50 -d 16 -r 100000 --csv | tail -1 | tr -d '"')
    # test,rps,avg,min,p50,p95,p99,max
    printf "%-8s %-9s %12s %8s %8s\n" $who $fsync "$(echo "$line" | cut -d, -f2)" "$(echo "$line" | cut -d, -f5)" "$(echo "$line" | cut -d, -f7)"
    stop $who "$pid"
  done
done

fi

if [[ $sections == *3* ]]; then
echo "== 3. SET/GET over 1M keys, p99.9 and max latency without and with BGSAVE running"
# p999 FILE: the first percentile line at or above 99.9% of redis-benchmark's distribution, and the max.
p999() { awk '/%.*<=/ { gsub("%", "", $1); if ($1 + 0 >= 99.9 && !done) { p = $3; done = 1 } m = $3 } END { printf "%s %s", p, m }' "$1"; }
printf "%-8s %-6s %-8s %12s %10s %10s %8s\n" server round bgsave "requests/s" "p99.9 ms" "max ms" saves
for round in $(seq "$rounds"); do
  for who in ours redis; do
    dir=$work/$who-bg
    rm -rf "$dir"
    if [ $who = ours ]; then start ours "$dir" --save ""; else start redis "$dir" --save "" --appendonly no; fi
    port=$(port_of $who)
    redis-cli -p $port --pipe <"$work/data.resp" >/dev/null
    taskset -c 1 redis-benchmark -p $port -t set,get -n 100000 -c 50 -r 1000000 -q >/dev/null # warm-up
    for mode in no yes; do
      out=$work/bench-$who-$mode.txt
      taskset -c 1 redis-benchmark -p $port -t set,get -n 400000 -c 50 -r 600000 -d 16 >"$out" 2>&1 &
      bench=$!
      saves=0
      if [ $mode = yes ]; then
        sleep 0.5
        while kill -0 $bench 2>/dev/null; do
          if redis-cli -p $port info persistence | grep -q "rdb_bgsave_in_progress:0"; then
            redis-cli -p $port bgsave >/dev/null && saves=$((saves + 1))
          fi
          sleep 0.2
        done
      fi
      wait $bench
      rps=$(grep -o "[0-9.]* requests per second" "$out" | head -1 | cut -d' ' -f1)
      read -r p m <<<"$(p999 "$out")"
      printf "%-8s %-6s %-8s %12s %10s %10s %8s\n" $who "$round" $mode "$rps" "$p" "$m" $saves
    done
    stop $who "$pid"
  done
done
fi

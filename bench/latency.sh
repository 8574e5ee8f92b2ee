#!/usr/bin/env bash
# Before/after GET round trip through our load generator on both ends, side by side in one run: this checkout's
# server and load generator against a baseline build of both (BASELINE: a directory holding server/ and lg/, the
# Release outputs of server/Demikernel.Server and bench/Demikernel.LoadGen of the commit to compare with). For each
# path, ROUNDS alternating rounds: one server at a time pinned to core 0, the load generator pinned to core 1 (one
# connection, pipeline 1, GETs of 10,000 preloaded 32-byte values, SECONDS after a WARMUP-second warm-up, 4 by
# default: both processes' JIT still recompiles hot methods for about 3 s after start, on the measured cores). The
# paths (LIBOSES), the four of issue 13's round-trip goals:
#   catmem   shared-memory queues (goal 1 us)
#   catnap   kernel TCP on loopback (goal 10 us)
#   memif    catnip over DPDK's net_memif, no kernel on the path (goal 1.5 us; root, libdpdk-dev)
#   af_xdp   catpowder's AF_XDP over a veth pair between two network namespaces (goal 6 us; root, libxdp-dev)
# Each round also runs the floor under catnap, memif and af_xdp, in C, on the same cores: the kernel's loopback TCP
# (bench/tcp-pingpong.c, 64-byte ping-pong spinning on recv), raw frames over DPDK's net_memif between two processes
# (bench/memif-pingpong.c) and raw frames between two AF_XDP sockets (bench/xdp-pingpong.c). This VM's floors move
# from day to day (kernel TCP 7.6 to 16 us), so a figure means something only beside the same run's floor. Prints
# every round and the median p50/p99 of each cell (and the best p50: on a busy machine the rounds nobody else ran
# in), with the load average before and after.
# Where the host puts the VM's two vCPUs sets every figure here (bench/pair-probe.sh): each run and floor is bracketed
# by that probe, which adds pair_ns=BEFORE,AFTER to its line, and the summary gives each cell's median over its near
# rounds and its far rounds apart (a round whose two probes disagree counts as neither).
#
#   BASELINE=/tmp/base [LIBOSES="catmem catnap memif af_xdp"] [WARMUP=4] bench/latency.sh [ROUNDS] [SECONDS]
# Make a baseline:  git worktree add /tmp/b <commit> && (cd /tmp/b && dotnet build -c Release server/Demikernel.Server
#   && dotnet build -c Release bench/Demikernel.LoadGen) && mkdir /tmp/base && cp -r /tmp/b/server/Demikernel.Server/bin/Release/net10.0 /tmp/base/server
#   && cp -r /tmp/b/bench/Demikernel.LoadGen/bin/Release/net10.0 /tmp/base/lg
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-3}
warmup=${WARMUP:-4}
libs=${LIBOSES:-catmem catnap}
: "${BASELINE:?set BASELINE to a directory with server/ and lg/ (see the header)}"
if [[ " $libs " == *" memif "* || " $libs " == *" af_xdp "* ]] && [ "$(id -u)" -ne 0 ]; then
  echo "memif and af_xdp need root (DPDK's socket, namespaces, XDP)"; exit 1
fi
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null
dotnet build -c Release bench/Demikernel.LoadGen -nologo -v q -clp:ErrorsOnly >/dev/null
new_srv=$PWD/server/Demikernel.Server/bin/Release/net10.0
new_lg=$PWD/bench/Demikernel.LoadGen/bin/Release/net10.0
work=$(mktemp -d)
A=dklat$$a B=dklat$$b
server=
cleanup() {
  [ -n "$server" ] && kill $server 2>/dev/null
  wait 2>/dev/null
  ip netns del $A 2>/dev/null || true
  ip netns del $B 2>/dev/null || true
  rm -rf "$work"
  rmdir /var/run/dpdk/rte /var/run/dpdk 2>/dev/null || true # the catnip processes' EAL runtime directory (empty)
}
trap cleanup EXIT
port=$((56800 + RANDOM % 500))

tcp_floor= xdp_floor= memif_floor=
source bench/pair-probe.sh
pair_build "$work"
if [[ " $libs " == *" catnap "* ]] && command -v gcc >/dev/null; then
  gcc -O2 -o "$work/tcp-pingpong" bench/tcp-pingpong.c && tcp_floor=$work/tcp-pingpong
fi
if [[ " $libs " == *" memif "* ]] && pkg-config --exists libdpdk; then
  gcc -O2 -o "$work/memif-pingpong" bench/memif-pingpong.c $(pkg-config --cflags --libs libdpdk) && memif_floor=$work/memif-pingpong
fi
if [[ " $libs " == *" af_xdp "* ]]; then
  source bench/xdp-floor.sh
  xdp_floor=$(xdp_floor_build "$work")
  ip netns add $A; ip netns add $B
  ip link add $A type veth peer name $B
  ip link set $A netns $A; ip link set $B netns $B
  for n in $A $B; do
    ip -n $n link set lo up
    ip netns exec $n sh -c "echo 1 > /proc/sys/net/ipv6/conf/$n/disable_ipv6"
    ip -n $n link set $n up
  done
  printf 'demikernel:\n  local_ipv4_addr: 10.77.0.2\nraw_socket:\n  linux_interface_name: %s\n  mode: af_xdp\n' $A >"$work/xdp-server.yaml"
  printf 'demikernel:\n  local_ipv4_addr: 10.77.0.1\nraw_socket:\n  linux_interface_name: %s\n  mode: af_xdp\n' $B >"$work/xdp-client.yaml"
fi
eal='["--no-pci", "--no-huge", "-m", "256", "--no-shconf", "--no-telemetry"]'
for role in server client; do
  [ $role = server ] && ip=10.88.0.1 mac=02:00:00:00:88:01 || ip=10.88.0.2 mac=02:00:00:00:88:02
  printf 'demikernel:\n  local_ipv4_addr: %s\n  local_link_addr: "%s"\ndpdk:\n  eal_init: %s\n  vdev: net_memif0,role=%s,socket=%s/memif.sock\n' \
    $ip $mac "$eal" $role "$work" >"$work/memif-$role.yaml"
done

wait_for() { # file text
  for _ in $(seq 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; return 1
}

one() { # label path server-dir lg-dir
  port=$((port + 1))
  local srv=(taskset -c 0 dotnet "$3/Demikernel.Server.dll") lg=(taskset -c 1 dotnet "$4/demi-loadgen.dll") target
  rm -f "$work/server.log"
  case $2 in
    catmem|catnap)
      (cd "$work" && exec "${srv[@]}" --libos "$2" --port $port --save "" >"$work/server.log" 2>&1) &
      target=127.0.0.1:$port; lg+=(--libos "$2") ;;
    memif)
      (cd "$work" && exec "${srv[@]}" --libos catnip --config memif-server.yaml --bind 10.88.0.1 --port 6379 --protected-mode no --save "" >"$work/server.log" 2>&1) &
      target=10.88.0.1:6379; lg+=(--libos catnip --config "$work/memif-client.yaml") ;;
    af_xdp)
      (cd "$work" && exec ip netns exec $A "${srv[@]}" --libos catpowder --config xdp-server.yaml --bind 10.77.0.2 --port 6379 --protected-mode no --save "" >"$work/server.log" 2>&1) &
      target=10.77.0.2:6379; lg=(ip netns exec $B "${lg[@]}" --libos catpowder --config "$work/xdp-client.yaml") ;;
  esac
  server=$!
  case $2 in
    catmem) for _ in $(seq 100); do [ -e /dev/shm/demikernel-catmem.$port ] && break; sleep 0.1; done ;;
    catnap) for _ in $(seq 100); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.1; done ;;
    *) wait_for "$work/server.log" "Ready to accept" ;;
  esac
  local line p1 p2
  p1=$(pair)
  line=$("${lg[@]}" --target $target --connections 1 --pipeline 1 \
    --ratio 0:1 --keyspace 10000 --value-size 32 --preload --warmup "$warmup" --duration "$seconds" 2>"$work/lg.err" | tail -1) ||
    { echo "$1 $2: the load generator failed:" >&2; tail -5 "$work/lg.err" "$work/server.log" >&2; }
  kill $server 2>/dev/null || true
  wait $server 2>/dev/null || true
  server=
  p2=$(pair)
  echo "$1 $2 $line pair_ns=$p1,$p2"
}

floor() { # path: the C floor pins its echo side to core 0 and its client to core 1, as server and load generator are
  local line p1 echo_side
  case $1 in # a path without a floor built here (catmem, or a missing tool) costs no probe either
    catnap) [ -n "$tcp_floor" ] ;; af_xdp) [ -n "$xdp_floor" ] ;; memif) [ -n "$memif_floor" ] ;; *) false ;;
  esac || return 0
  p1=$(pair)
  case $1 in
    catnap) line="floor catnap $("$tcp_floor" 0 100000)" ;;
    af_xdp) line=$(xdp_floor_round "$xdp_floor" $A $B) ;;
    memif)
      taskset -c 0 "$memif_floor" echo "$work/floor.sock" &
      echo_side=$!
      sleep 0.5 # its socket listening
      line="floor $(taskset -c 1 "$memif_floor" ping "$work/floor.sock" 100000 || echo failed)"
      kill $echo_side 2>/dev/null || true
      wait $echo_side 2>/dev/null || true
      rmdir /var/run/dpdk/memifpp$echo_side 2>/dev/null || true ;; # left if DPDK crashed it (memif-pingpong.c)
  esac
  echo "$line pair_ns=$p1,$(pair)"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for libos in $libs; do
    one before $libos "$BASELINE/server" "$BASELINE/lg"
    one after $libos "$new_srv" "$new_lg"
    floor $libos
  done
done | tee "$work/results"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median of $rounds rounds (GET, 1 connection, pipeline 1), over the rounds with the vCPUs near and far apart:"
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
tagged=$(grep -c pair_ns "$work/results" || true)
moved=$((tagged - $(placed near <"$work/results" | wc -l) - $(placed far <"$work/results" | wc -l)))
echo "  ($moved of $tagged runs and floors had the vCPUs move between their two probes: left out)"
for libos in $libs; do
  for where in near far; do
    rows=$(grep "^floor $libos " "$work/results" | placed $where || true)
    if [ -n "$rows" ]; then
      case $libos in
        catnap) what="kernel TCP loopback, C, 64-byte ping-pong" ;;
        memif) what="64-byte raw frames over DPDK's net_memif, C" ;;
        af_xdp) what="raw frames between two AF_XDP sockets, C" ;;
      esac
      printf "  %-14s %-4s p50 %6s us   (%s: the floor in this run; %d rounds)\n" "$libos floor" $where \
        "$(echo "$rows" | sed -E 's/.* p50 ([0-9.]+) us.*/\1/' | median)" "$what" "$(echo "$rows" | wc -l)"
    fi
    for who in before after; do
      rows=$(grep "^$who $libos " "$work/results" | placed $where |
        sed -E 's/.*throughput=([0-9]+).*p50_us=([0-9.]+) p99_us=([0-9.]+).*/\1 \2 \3/' || true)
      if [ -z "$rows" ]; then printf "  %-14s %-4s no round\n" "$libos $who" $where; continue; fi
      med() { echo "$rows" | awk -v c=$1 '{print $c}' | median; }
      best=$(echo "$rows" | awk '{print $2}' | sort -g | head -1)
      printf "  %-14s %-4s p50 %6s us (best %s)   p99 %8s us   %7s GET/s   %d rounds\n" "$libos $who" $where \
        "$(med 2)" "$best" "$(med 3)" "$(med 1)" "$(echo "$rows" | wc -l)"
    done
  done
done

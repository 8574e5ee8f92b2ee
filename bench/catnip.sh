#!/usr/bin/env bash
# catnip (InetStack over DPDK) side by side with the other libOSes, in one run (root; DPDK: apt-get install libdpdk-dev).
#
# 1. GET round trip through our load generator (bench/Demikernel.LoadGen), one connection, pipeline 1, preloaded keys,
#    ROUNDS alternating rounds of SECONDS each after a WARMUP-second warm-up (4: the JIT's tiers settle on both ends):
#      catnip-memif   our server on catnip over net_memif  <- loadgen on catnip over net_memif (no kernel on the path)
#      catnip-memif-copy  the same with dpdk.rx_zero_copy and tx_zero_copy false on both ends (each frame copied out of
#                     its mbuf, each payload into one: as before zero copy), for the side-by-side comparison
#      catmem         our server on catmem                 <- loadgen on catmem (shared-memory queues)
#      catnap         our server on catnap (kernel TCP)    <- loadgen on catnap, loopback
#      redis-catnap   redis-server 7.0 (kernel TCP)        <- loadgen on catnap, loopback
# 2. Server CPU per request over one veth pair (server pinned to core 0 in namespace A, redis-benchmark pinned to
#    core 1 in namespace B, 50 clients): our server on catnip (net_af_packet on vethA) vs on catnap (kernel TCP, the
#    address on vethA); utime+stime of the server process over each redis-benchmark run, ROUNDS alternating rounds.
# Usage: bench/catnip.sh [ROUNDS] [SECONDS] [REQUESTS]   (CATNIP_BENCH=rtt or veth runs one part only;
#        CATNIP_RTT="catnip-memif catnip-memif-copy" picks the round-trip rows). Each round trip ends with
#        pair_ns=BEFORE,AFTER: where the host had put the two vCPUs (bench/pair-probe.sh); the summary splits by it.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
seconds=${2:-5}
requests=${3:-200000}
warmup=${WARMUP:-4}
[ "$(id -u)" -eq 0 ] || { echo "needs root (namespaces, AF_PACKET)"; exit 1; }
command -v redis-server >/dev/null || { echo "needs redis-server (apt-get install redis-server)"; exit 1; }
pkg-config --exists libdpdk || { echo "needs DPDK (apt-get install libdpdk-dev)"; exit 1; }
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null
dotnet build -c Release bench/Demikernel.LoadGen -nologo -v q -clp:ErrorsOnly >/dev/null
root=$(pwd)
srv=$root/server/Demikernel.Server/bin/Release/net10.0/Demikernel.Server.dll
lg=$root/bench/Demikernel.LoadGen/bin/Release/net10.0/demi-loadgen.dll
work=$(mktemp -d)
source bench/pair-probe.sh
pair_build "$work"
pids=()
A=dkbench$$a B=dkbench$$b
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del $A 2>/dev/null || true
  ip netns del $B 2>/dev/null || true
  rm -rf "$work"
  rmdir /var/run/dpdk/rte /var/run/dpdk 2>/dev/null || true
}
trap cleanup EXIT
eal='["--no-pci", "--no-huge", "-m", "256", "--no-shconf", "--no-telemetry"]'
catnip_config() { # file address mac vdev [extra dpdk line]
  printf 'demikernel:\n  local_ipv4_addr: %s\n  local_link_addr: "%s"\ndpdk:\n  eal_init: %s\n  vdev: %s\n%b' "$2" "$3" "$eal" "$4" "${5:+  $5\n}" >"$1"
}
wait_for() { # file text
  for _ in $(seq 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "timed out waiting for '$2' in $1:"; cat "$1"; exit 1
}

# ---------------------------------------------------------------- 1. round trips
# One server at a time, pinned to core 0, the load generator pinned to core 1: every libOS here spins while it waits,
# so servers left running side by side would take the cores from the one being measured.
ours_port=56491 redis_port=56493
catnip_config "$work/memif-server.yaml" 10.88.0.1 02:00:00:00:88:01 "net_memif0,role=server,socket=$work/memif.sock"
catnip_config "$work/memif-client.yaml" 10.88.0.2 02:00:00:00:88:02 "net_memif0,role=client,socket=$work/memif.sock"
catnip_config "$work/memif-copy-server.yaml" 10.88.0.1 02:00:00:00:88:01 "net_memif0,role=server,socket=$work/memif.sock" "rx_zero_copy: false\n  tx_zero_copy: false"
catnip_config "$work/memif-copy-client.yaml" 10.88.0.2 02:00:00:00:88:02 "net_memif0,role=client,socket=$work/memif.sock" "rx_zero_copy: false\n  tx_zero_copy: false"
rtt_round() { # label
  local target libos config=""
  rm -f "$work/server.log" # else the last round's "Ready to accept" may be read before the new server truncates it
  case $1 in
    catnip-memif)
      (cd "$work" && exec taskset -c 0 dotnet "$srv" --libos catnip --config memif-server.yaml --bind 10.88.0.1 --port 6379 --protected-mode no --save "" >server.log 2>&1) &
      target=10.88.0.1:6379 libos=catnip config=$work/memif-client.yaml ;;
    catnip-memif-copy)
      (cd "$work" && exec taskset -c 0 dotnet "$srv" --libos catnip --config memif-copy-server.yaml --bind 10.88.0.1 --port 6379 --protected-mode no --save "" >server.log 2>&1) &
      target=10.88.0.1:6379 libos=catnip config=$work/memif-copy-client.yaml ;;
    catmem)
      rm -f /dev/shm/demikernel-catmem.$ours_port
      (cd "$work" && exec taskset -c 0 dotnet "$srv" --libos catmem --port $ours_port --save "" >server.log 2>&1) &
      target=127.0.0.1:$ours_port libos=catmem ;;
    catnap)
      (cd "$work" && exec taskset -c 0 dotnet "$srv" --libos catnap --port $ours_port --save "" >server.log 2>&1) &
      target=127.0.0.1:$ours_port libos=catnap ;;
    redis-catnap)
      taskset -c 0 redis-server --port $redis_port --save "" --appendonly no --daemonize no --dir "$work" >"$work/server.log" 2>&1 &
      target=127.0.0.1:$redis_port libos=catnap ;;
  esac
  pids=($!)
  case $1 in
    catnip-memif*) wait_for "$work/server.log" "Ready to accept" ;;
    catmem) for _ in $(seq 100); do [ -e /dev/shm/demikernel-catmem.$ours_port ] && break; sleep 0.1; done ;;
    *) for _ in $(seq 100); do redis-cli -p "${target#*:}" ping >/dev/null 2>&1 && break; sleep 0.1; done ;;
  esac
  local line p1; p1=$(pair)
  line=$(taskset -c 1 dotnet "$lg" --label "$1" --libos $libos --target $target ${config:+--config "$config"} --connections 1 --pipeline 1 \
    --ratio 0:1 --keyspace 10000 --value-size 32 --preload --warmup "$warmup" --duration "$seconds" | tail -1)
  kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()
  echo "$line pair_ns=$p1,$(pair)"
}
if [ "${CATNIP_BENCH:-all}" != veth ]; then
  for r in $(seq "$rounds"); do
    for l in ${CATNIP_RTT:-catnip-memif catnip-memif-copy catmem catnap redis-catnap}; do rtt_round $l; done
  done | tee "$work/rtt"
fi

# ---------------------------------------------------------------- 2. CPU per request on a veth pair
ip netns add $A; ip netns add $B
ip link add $A type veth peer name $B
ip link set $A netns $A; ip link set $B netns $B
ip -n $A link set lo up; ip -n $B link set lo up
ip netns exec $A sh -c "echo 1 > /proc/sys/net/ipv6/conf/$A/disable_ipv6"
ip -n $A link set $A up
ip -n $B addr add 10.77.0.1/24 dev $B; ip -n $B link set $B up
ip netns exec $B ethtool -K $B tx off >/dev/null   # DPDK's af_packet does not complete partial checksums
catnip_config "$work/veth.yaml" 10.77.0.2 "$(ip -n $A -o link show $A | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/')" "net_af_packet0,iface=$A"
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
server_pid() { # the dotnet process under ip netns exec / taskset
  for _ in $(seq 100); do p=$(pgrep -f "Demikernel.Server.dll --libos $1" | head -1) && [ -n "$p" ] && { echo "$p"; return; }; sleep 0.1; done
}
veth_round() { # libos pipeline
  local libos=$1 pipeline=$2 args
  if [ "$libos" = catnap ]; then
    ip -n $A addr add 10.77.0.2/24 dev $A
    args=(--libos catnap --bind 10.77.0.2)
  else
    args=(--libos catnip --config "$work/veth.yaml" --bind 10.77.0.2)
  fi
  ip netns exec $A taskset -c 0 dotnet "$srv" "${args[@]}" --port 6379 --protected-mode no --save "" --appendonly no >"$work/veth-$libos.log" 2>&1 &
  pids=($!)
  for _ in $(seq 100); do ip netns exec $B redis-cli -h 10.77.0.2 ping >/dev/null 2>&1 && break; sleep 0.2; done
  local pid; pid=$(server_pid "$libos")
  for t in set get; do
    local before after out rps
    before=$(cpu_ticks "$pid")
    out=$(ip netns exec $B taskset -c 1 redis-benchmark -h 10.77.0.2 -t $t -n "$requests" -c 50 -P "$pipeline" -q 2>/dev/null | tr '\r' '\n' | grep -E "requests per second" | tail -1)
    after=$(cpu_ticks "$pid")
    rps=$(echo "$out" | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/')
    awk -v l="$libos" -v t=$t -v p="$pipeline" -v c=$((after - before)) -v hz="$hz" -v n="$requests" -v rps="$rps" \
      'BEGIN { printf "veth %-7s %s P%-2s %10.0f req/s  server CPU %6.2f us/request\n", l, toupper(t), p, rps, c / hz * 1e6 / n }'
  done
  kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()
  [ "$libos" = catnap ] && ip -n $A addr del 10.77.0.2/24 dev $A
  sleep 0.5
}
[ "${CATNIP_BENCH:-all}" != rtt ] && for r in $(seq "$rounds"); do
  for p in 1 16; do
    veth_round catnip $p
    veth_round catnap $p
  done
done | tee "$work/veth"
touch "$work/rtt" "$work/veth"

echo
[ -s "$work/rtt" ] && echo "GET round trip (1 connection, pipeline 1, loadgen on the libOS named), median of the rounds with the vCPUs near,
and far, apart (bench/pair-probe.sh; rounds during which they moved are left out):"
[ -s "$work/rtt" ] && for where in near far; do for l in ${CATNIP_RTT:-catnip-memif catnip-memif-copy catmem catnap redis-catnap}; do
  printf "  %-17s %-4s %s\n" $l $where "$(placed_rtt "^$l requests=" $where "$work/rtt")"
done; done
[ -s "$work/veth" ] && echo "server CPU per request over the veth pair, median of $rounds rounds (redis-benchmark -c 50 -n $requests):"
[ -s "$work/veth" ] && for l in catnip catnap; do for t in SET GET; do for p in 1 16; do
  grep -E "^veth $l +$t P$p " "$work/veth" | sed -E 's/.* ([0-9.]+) req\/s +server CPU +([0-9.]+) us.*/\2 \1/' | sort -n |
    awk -v l=$l -v t=$t -v p=$p '{c[NR]=$1; r[NR]=$2} END {m=int((NR+1)/2); printf "  %-7s %s P%-2s %7.2f us/request  %9s req/s\n", l, t, p, c[m], r[m]}'
done; done; done
true

#!/usr/bin/env bash
# catpowder's two devices side by side with catnap (and catnip over DPDK's net_af_xdp), in one run (root).
#
# Server CPU per request over one veth pair: the server pinned to core 0 in namespace A, redis-benchmark pinned to
# core 1 in namespace B (50 clients, GET and SET at pipeline 1 and 16, 10,000 keys of 3 bytes). Steady state: a window of
# SECONDS (3) measured 1 s into a redis-benchmark run that outlasts it, requests counted by INFO's
# total_commands_processed; utime+stime of the server process per request, and core 0's busy time per request
# (user+nice+system+irq+softirq of /proc/stat's cpu0: the server's share of the kernel's work wherever Linux accounts
# it; only meaningful on an otherwise idle machine). Each side's kernel receive runs on its own side's core, as on two
# machines (PLACEMENT=split, the default, below); PLACEMENT=shared leaves veth's default, where each side's transmit runs
# the other side's kernel receive on the sender's core, so Linux's TCP receive for redis-benchmark is in the server's
# figures for every libOS (the placement of the passes in bench/README.md before the sixth). Without spinning
# (SPIN_US, default 0) the figures are CPU per request; a spinning server's core is busy whatever the load, and its
# figures are 1/throughput once redis-benchmark's core is the limit.
# ROUNDS alternating rounds; each round runs every libOS once per pipeline depth:
#   catnap      our server on kernel TCP (the address on vethA)
#   af_packet   our server on catpowder, raw_socket.mode af_packet (PACKET_MMAP rings)
#   af_xdp      our server on catpowder, raw_socket.mode af_xdp (AF_XDP socket, libxdp's program, copy mode on veth;
#               the program attached natively: veth's own XDP path, its NAPI)
#   af_xdp-generic  the same with raw_socket.xdp_attach: generic (skb-mode XDP)
#   af_xdp-copyrx   af_xdp with raw_socket.rx_zero_copy: false (received frames copied into pool buffers; not run
#               unless named in CATPOWDER_BENCH or RTT_BENCH: the zero-copy receive's side-by-side reference)
#   catnip-xdp  our server on catnip over DPDK net_af_xdp (skipped without DPDK)
# Linux's side sends complete checksums (ethtool -K vethB tx off, so no TSO either) for every libOS: AF_XDP frames carry
# no offload metadata, and the load must be the same for all. Ratios are to catnap's median in the same run.
# Then (PARTS="cpu rtt", the default; PARTS=rtt alone) the GET round trip with our load generator on BOTH ends of the
# veth, so no kernel TCP on either side: the server pinned to core 0 in namespace A, bench/Demikernel.LoadGen pinned to
# core 1 in namespace B on the same libOS and device (veth B's kernel address removed), 1 connection, pipeline 1, GETs
# of 10,000 preloaded 32-byte values, RTT_SECONDS (3) after a WARMUP-second warm-up (4: the JIT's tiers settle on
# both ends), ROUNDS alternating rounds:
#   catnap (kernel TCP both ends, addresses on both veths), af_packet, af_xdp, catnip-xdp (RTT_BENCH picks a subset),
#   and with af_xdp the device path's floor in the same rounds (bench/xdp-pingpong.c, raw frames, no TCP).
# Each CPU window and round trip ends with pair_ns=BEFORE,AFTER: where the host had put the two vCPUs (bench/pair-probe.sh).
# Usage: bench/catpowder.sh [ROUNDS] [SECONDS]   (CATPOWDER_BENCH="catnap af_xdp" runs a subset; PIPELINES="1" one
# depth; PLACEMENT=shared|split, see below; SPIN_US sets every server's spin_budget_us in the CPU part, catnap's
# included: default 0, a blocking server; IDLE_POLL_US every server's idle_poll_us in the CPU part: default 0, block
# right after the spin; 50 to sleep 50 us between polls for 2 ms first, as catnip's device does whatever the setting;
# RTT_SPIN_US both ends' in the round trip: default 200, the libOS default)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
window=${2:-3}
[ "$(id -u)" -eq 0 ] || { echo "needs root (namespaces, AF_PACKET, XDP)"; exit 1; }
command -v redis-benchmark >/dev/null || { echo "needs redis-benchmark (apt-get install redis-tools)"; exit 1; }
command -v ethtool >/dev/null || { echo "needs ethtool (apt-get install ethtool)"; exit 1; }
libs=${CATPOWDER_BENCH:-catnap af_packet af_xdp af_xdp-generic catnip-xdp}
pipelines=${PIPELINES:-1 16}
parts=${PARTS:-cpu rtt}
rtt_libs=${RTT_BENCH:-catnap af_packet af_xdp catnip-xdp}
rtt_seconds=${RTT_SECONDS:-3}
rtt_warmup=${WARMUP:-4}
spin=${SPIN_US:-0}
rtt_spin=${RTT_SPIN_US:-200}
idle_poll=${IDLE_POLL_US:-0}
placement=${PLACEMENT:-split}
[[ $placement == shared || $placement == split ]] || { echo "PLACEMENT must be shared or split, not '$placement'"; exit 1; }
pkg-config --exists libdpdk || { libs=${libs/catnip-xdp/}; rtt_libs=${rtt_libs/catnip-xdp/}; }
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null
dotnet build -c Release bench/Demikernel.LoadGen -nologo -v q -clp:ErrorsOnly >/dev/null
srv=$(pwd)/server/Demikernel.Server/bin/Release/net10.0/Demikernel.Server.dll
lg=$(pwd)/bench/Demikernel.LoadGen/bin/Release/net10.0/demi-loadgen.dll
work=$(mktemp -d)
source bench/pair-probe.sh
pair_build "$work"
pids=()
A=dkcpb$$a B=dkcpb$$b
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del $A 2>/dev/null || true
  ip netns del $B 2>/dev/null || true
  rm -rf "$work"
  rmdir /var/run/dpdk/rte /var/run/dpdk 2>/dev/null || true
}
trap cleanup EXIT
ip netns add $A; ip netns add $B
ip link add $A type veth peer name $B
ip link set $A netns $A; ip link set $B netns $B
ip -n $A link set lo up; ip -n $B link set lo up
ip netns exec $A sh -c "echo 1 > /proc/sys/net/ipv6/conf/$A/disable_ipv6"
ip -n $A link set $A up
ip -n $B addr add 10.77.0.1/24 dev $B; ip -n $B link set $B up
ip netns exec $B ethtool -K $B tx off >/dev/null
# PLACEMENT=split (the default): each side's kernel receive on its own side's core, as on two machines (veth
# otherwise runs the receiver's NAPI/backlog on the sender's core: redis-benchmark's TCP receive on core 0, the
# server's on core 1).
# GRO on and threaded NAPI on both veths, vethA's NAPI thread pinned to core 0, vethB's to core 1; "core 0" is then the
# server machine's CPU. And TSO off on vethA, as vethB's checksum offload already is: veth hands a frame to the peer's
# NAPI only if the sender has no TSO or the frame is a plain socket's (destructor sock_wfree); the server's frames,
# kernel TCP's or an AF_XDP socket's, are neither, so with TSO on they went to the backlog of the sending core and
# redis-benchmark's TCP receive ran on core 0 inside the server's sendto. Applies to the CPU part only.
napi_threads() { # on|off: GRO, threaded NAPI (and vethA's TSO off) on both veths, or veth's default receive path
  # GRO gives a veth its NAPI, and the threaded switch needs one: on sets GRO first, off unthreads first
  local d
  if [ "$1" = on ]; then
    for d in $A $B; do
      ip netns exec $d ethtool -K $d gro on >/dev/null; ip netns exec $d sh -c "echo 1 > /sys/class/net/$d/threaded"
    done
    ip netns exec $A ethtool -K $A tso off >/dev/null
  else
    for d in $A $B; do
      ip netns exec $d sh -c "echo 0 > /sys/class/net/$d/threaded"; ip netns exec $d ethtool -K $d gro off >/dev/null
    done
    ip netns exec $A ethtool -K $A tso on >/dev/null
  fi
}
split_cpu=false # the split placement is on while the CPU part runs
if [ "$placement" = split ] && [[ " $parts " == *" cpu "* ]]; then split_cpu=true; napi_threads on; fi
pin_napi() {
  $split_cpu || return 0
  local t
  for t in $(pgrep "^napi/$A-"); do taskset -pc 0 "$t" >/dev/null; done
  for t in $(pgrep "^napi/$B-"); do taskset -pc 1 "$t" >/dev/null; done
}
mac=$(ip -n $A -o link show $A | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/')
server_configs() { # spin_budget_us idle_poll_us: the server's config for every label
  local m
  for m in af_packet af_xdp; do
    printf 'demikernel:\n  local_ipv4_addr: 10.77.0.2\n  spin_budget_us: %s\n  idle_poll_us: %s\nraw_socket:\n  linux_interface_name: %s\n  mode: %s\n' $1 $2 $A $m >"$work/$m.yaml"
  done
  cp "$work/af_xdp.yaml" "$work/af_xdp-generic.yaml"; echo "  xdp_attach: generic" >>"$work/af_xdp-generic.yaml"
  cp "$work/af_xdp.yaml" "$work/af_xdp-copyrx.yaml"; echo "  rx_zero_copy: false" >>"$work/af_xdp-copyrx.yaml"
  printf 'demikernel:\n  spin_budget_us: %s\n  idle_poll_us: %s\n' $1 $2 >"$work/catnap.yaml"
  printf 'demikernel:\n  local_ipv4_addr: 10.77.0.2\n  local_link_addr: "%s"\n  spin_budget_us: %s\n  idle_poll_us: %s\ndpdk:\n  eal_init: ["--no-pci", "--no-huge", "-m", "256", "--no-shconf", "--no-telemetry"]\n  vdev: net_af_xdp0,iface=%s,start_queue=0,queue_count=1\n' \
    "$mac" $1 $2 $A >"$work/catnip-xdp.yaml"
}
server_configs $spin $idle_poll
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
sys_ticks() { awk '{print $15}' /proc/$1/stat; }
server_pid() { # the dotnet process under ip netns exec / taskset
  for _ in $(seq 100); do p=$(pgrep -f "Demikernel.Server.dll --libos $1 .*--port 6379" | head -1) && [ -n "$p" ] && { echo "$p"; return; }; sleep 0.1; done
}
core0_ticks() { awk '/^cpu0 / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; } # user nice system irq softirq
commands() { ip netns exec $B redis-cli -h 10.77.0.2 info stats | awk -F: '/^total_commands_processed/ {print $2 + 0}'; }
round() { # label pipeline
  local label=$1 pipeline=$2 args libos
  case $label in
    catnap) ip -n $A addr add 10.77.0.2/24 dev $A; libos=catnap; args=(--libos catnap --config "$work/catnap.yaml" --bind 10.77.0.2) ;;
    af_packet|af_xdp|af_xdp-generic|af_xdp-copyrx) libos=catpowder; args=(--libos catpowder --config "$work/$label.yaml" --bind 10.77.0.2) ;;
    catnip-xdp) libos=catnip; args=(--libos catnip --config "$work/catnip-xdp.yaml" --bind 10.77.0.2) ;;
  esac
  ip netns exec $A taskset -c 0 dotnet "$srv" "${args[@]}" --port 6379 --protected-mode no --save "" --appendonly no >"$work/$label.log" 2>&1 &
  pids=($!)
  for _ in $(seq 150); do ip netns exec $B redis-cli -h 10.77.0.2 ping >/dev/null 2>&1 && break; sleep 0.2; done
  local pid; pid=$(server_pid "$libos")
  pin_napi
  # the keys GET reads, and the JIT's tiers settled on both commands
  ip netns exec $B taskset -c 1 redis-benchmark -h 10.77.0.2 -t set,get -n 200000 -r 10000 -c 50 -P 16 -q >/dev/null 2>&1
  for t in set get; do
    local before after sysb sysa coreb corea nb na bench p1
    p1=$(pair) # the server is idle here (blocking, or spinning out its budget), and so is core 1
    # Steady state only: redis-benchmark runs on (far more requests than the window needs) while the window is
    # measured, so neither the 50 connections' setup nor the run's ragged end is in the figure.
    ip netns exec $B taskset -c 1 redis-benchmark -h 10.77.0.2 -t $t -n 1000000000 -r 10000 -c 50 -P "$pipeline" -q >/dev/null 2>&1 &
    bench=$!
    sleep 1
    nb=$(commands); before=$(cpu_ticks "$pid"); sysb=$(sys_ticks "$pid"); coreb=$(core0_ticks)
    sleep "$window"
    na=$(commands); after=$(cpu_ticks "$pid"); sysa=$(sys_ticks "$pid"); corea=$(core0_ticks)
    kill $bench 2>/dev/null || true; wait $bench 2>/dev/null || true
    awk -v l="$label" -v t=$t -v p="$pipeline" -v c=$((after - before)) -v k=$((sysa - sysb)) -v z=$((corea - coreb)) -v hz="$hz" \
      -v n=$((na - nb - 1)) -v w="$window" -v pn="$p1,$(pair)" \
      'BEGIN { printf "veth %-10s %s P%-2s %10.0f req/s  server CPU %6.2f us/request (system %6.2f, core 0 %6.2f) pair_ns=%s\n", l, toupper(t), p, n / w, c / hz * 1e6 / n, k / hz * 1e6 / n, z / hz * 1e6 / n, pn }'
  done
  kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()
  [ "$label" = catnap ] && ip -n $A addr del 10.77.0.2/24 dev $A
  sleep 0.5
}
if [[ " $parts " == *" cpu "* ]]; then
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for p in $pipelines; do
    for l in $libs; do round $l $p; done
  done
done | tee "$work/veth"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "server CPU per request over the veth pair (spin_budget_us $spin, idle_poll_us $idle_poll), median of $rounds rounds ($window s windows of redis-benchmark -c 50), ratio to catnap:"
near=$(placed near <"$work/veth" | wc -l); far=$(placed far <"$work/veth" | wc -l)
echo "  (windows with the vCPUs near / far apart / moving, bench/pair-probe.sh: $near / $far / $(($(wc -l <"$work/veth") - near - far)))"
for t in SET GET; do for p in $pipelines; do
  median() { sort -n | awk '{c[NR]=$1} END {print c[int((NR+1)/2)]}'; }
  # without catnap in CATPOWDER_BENCH there is no base: the ratios print as 0 (grep finds nothing, not a failure)
  base_rows=$(grep -E "^veth catnap +$t P$p " "$work/veth" || true)
  base=$(echo "$base_rows" | sed -E 's/.*server CPU +([0-9.]+) us.*/\1/' | median)
  base0=$(echo "$base_rows" | sed -E 's/.*core 0 +([0-9.]+)\).*/\1/' | median)
  for l in $libs; do
    rows=$(grep -E "^veth $l +$t P$p " "$work/veth")
    cpu=$(echo "$rows" | sed -E 's/.*server CPU +([0-9.]+) us.*/\1/' | median)
    core=$(echo "$rows" | sed -E 's/.*core 0 +([0-9.]+)\).*/\1/' | median)
    rps=$(echo "$rows" | sed -E 's/.* ([0-9.]+) req\/s.*/\1/' | median)
    awk -v l=$l -v t=$t -v p=$p -v b="$base" -v b0="$base0" -v c="$cpu" -v z="$core" -v r="$rps" 'BEGIN {
      printf "  %-10s %s P%-2s process %5.2f us/request %5.2fx catnap   core 0 %5.2f us/request %5.2fx catnap  %9s req/s\n",
        l, t, p, c, (b > 0 ? c / b : 0), z, (b0 > 0 ? z / b0 : 0), r }'
  done
done; done
fi

# ---------------------------------------------------------------- GET round trip, our stack on both ends
[[ " $parts " == *" rtt "* ]] || exit 0
if $split_cpu; then napi_threads off; fi # the round trip keeps veth's default receive path
ip -n $B addr flush dev $B
ip netns exec $B sh -c "echo 1 > /proc/sys/net/ipv6/conf/$B/disable_ipv6"
server_configs $rtt_spin 0
macB=$(ip -n $B -o link show $B | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/')
for m in af_packet af_xdp; do
  printf 'demikernel:\n  local_ipv4_addr: 10.77.0.1\n  spin_budget_us: %s\nraw_socket:\n  linux_interface_name: %s\n  mode: %s\n' $rtt_spin $B $m >"$work/$m-client.yaml"
done
cp "$work/af_xdp-client.yaml" "$work/af_xdp-copyrx-client.yaml"; echo "  rx_zero_copy: false" >>"$work/af_xdp-copyrx-client.yaml"
sed -e "s/10.77.0.2/10.77.0.1/" -e "s/$mac/$macB/" -e "s/iface=$A/iface=$B/" "$work/catnip-xdp.yaml" >"$work/catnip-xdp-client.yaml"
rtt_round() { # label
  local label=$1 sargs cargs
  case $label in
    catnap)
      ip -n $A addr add 10.77.0.2/24 dev $A; ip -n $B addr add 10.77.0.1/24 dev $B
      sargs=(--libos catnap --config "$work/catnap.yaml"); cargs=(--libos catnap --config "$work/catnap.yaml") ;;
    af_packet|af_xdp|af_xdp-copyrx) sargs=(--libos catpowder --config "$work/$label.yaml"); cargs=(--libos catpowder --config "$work/$label-client.yaml") ;;
    catnip-xdp) sargs=(--libos catnip --config "$work/catnip-xdp.yaml"); cargs=(--libos catnip --config "$work/catnip-xdp-client.yaml") ;;
  esac
  ip netns exec $A taskset -c 0 dotnet "$srv" "${sargs[@]}" --bind 10.77.0.2 --port 6379 --protected-mode no --save "" --appendonly no \
    >"$work/rtt-$label.log" 2>&1 &
  pids=($!)
  for _ in $(seq 150); do grep -q "Ready to accept" "$work/rtt-$label.log" && break; sleep 0.2; done
  local p1 line; p1=$(pair)
  ip netns exec $B taskset -c 1 dotnet "$lg" --label "$label" "${cargs[@]}" --target 10.77.0.2:6379 --connections 1 --pipeline 1 \
    --ratio 0:1 --keyspace 10000 --value-size 32 --preload --warmup "$rtt_warmup" --duration "$rtt_seconds" >"$work/rtt-$label-client.log" 2>&1 || { echo "$label: the load generator failed:"; tail -5 "$work/rtt-$label-client.log"; tail -5 "$work/rtt-$label.log"; }
  line=$(grep -E "^$label requests=" "$work/rtt-$label-client.log" || true)
  kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()
  [ -n "$line" ] && echo "$line pair_ns=$p1,$(pair)"
  if [ "$label" = catnap ]; then ip -n $A addr del 10.77.0.2/24 dev $A; ip -n $B addr del 10.77.0.1/24 dev $B; fi
  sleep 0.5
}
# The device path's own floor, in C, in every round (bench/xdp-pingpong.c: 64-byte raw frames between two AF_XDP
# sockets bound as catpowder binds them): what af_xdp's round trip costs before IP, TCP and the application.
source bench/xdp-floor.sh
xdp_floor=
if [[ " $rtt_libs " == *" af_xdp "* ]]; then xdp_floor=$(xdp_floor_build "$work"); fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for l in $rtt_libs; do rtt_round $l; done
  if [ -n "$xdp_floor" ]; then p1=$(pair); echo "$(xdp_floor_round "$xdp_floor" $A $B) pair_ns=$p1,$(pair)"; fi
done | tee "$work/rtt"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "GET round trip over the veth, our load generator on the same libOS at the other end (spin_budget_us $rtt_spin), median of"
echo "the rounds with the vCPUs near, and far, apart (bench/pair-probe.sh; rounds during which they moved are left out):"
for where in near far; do
  for l in $rtt_libs; do printf "  %-10s %-4s %s\n" $l $where "$(placed_rtt "^$l requests=" $where "$work/rtt")"; done
  grep "^floor af_xdp raw frame" "$work/rtt" | placed $where | sed -E 's/.* p50 ([0-9.]+) us p99 ([0-9.]+) us.*/\1 \2/' | sort -n |
    awk -v w=$where '{p50[NR]=$1; p99[NR]=$2} END {m=int((NR+1)/2); if (NR > 0)
      printf "  %-10s %-4s p50 %6.1f us   p99 %8.1f us   (64-byte raw frames, AF_XDP in C: the device path alone; %d rounds)\n", "xdp floor", w, p50[m], p99[m], NR}'
done

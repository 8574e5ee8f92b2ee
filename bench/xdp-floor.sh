# The AF_XDP raw-frame floor (bench/xdp-pingpong.c) for the round-trip benchmarks that run af_xdp over a veth pair
# (sourced by bench/latency.sh and bench/catpowder.sh, from the repository's root).

# Builds the floor into DIR and prints its path; prints nothing when libxdp/libbpf are missing.
xdp_floor_build() { # DIR
  gcc -O2 -o "$1/xdp-pingpong" bench/xdp-pingpong.c $(pkg-config --cflags --libs libxdp libbpf) 2>/dev/null && echo "$1/xdp-pingpong"
}

# One floor run over the veth whose ends are interfaces named as their namespaces: the echo side in NS_A on core 0,
# the pinging side in NS_B on core 1 (as our server and load generator are pinned). Prints "floor af_xdp raw frame
# round trip p50 ... us p99 ... us", or "floor failed".
# The kernel releases the XDP socket of a server just killed on NS_A asynchronously, so the echo side's bind can
# still find the queue busy (EBUSY): it then tries again, up to three times, a second apart.
xdp_floor_round() { # BINARY NS_A NS_B
  local echo_side attempt
  for attempt in 1 2 3; do
    ip netns exec "$2" taskset -c 0 "$1" echo "$2" &
    echo_side=$!
    sleep 1 # the echo side's socket and program in place
    kill -0 $echo_side 2>/dev/null && break
    wait $echo_side 2>/dev/null || true
  done
  echo "floor $(ip netns exec "$3" taskset -c 1 "$1" ping "$3" 100000 || echo failed)"
  kill $echo_side 2>/dev/null || true
  wait $echo_side 2>/dev/null || true
}

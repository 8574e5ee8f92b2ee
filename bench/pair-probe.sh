# Where the host has put the VM's two vCPUs, for the benchmarks that pin one side to core 0 and the other to core 1
# (sourced by bench/latency.sh, bench/catpowder.sh and bench/catnip.sh, from the repository's root). This VM's cache-line round trip
# between cores 0 and 1 is ~130-140 ns at some moments ("near") and ~480-510 ns at others ("far"); the host moves
# them every few seconds to minutes, and every cross-core figure moves with it (a catmem GET round trip 0.7 against
# 1.2 us, af_xdp's 5.6 against 7.8 us). The probe is bench/catmem-floor.c's mode 0 for 100,000 round trips (~20 ms),
# run with both cores otherwise idle, before and after each measurement.

# Builds the probe into DIR; sets pair_probe to its path (empty without gcc: pair then prints 0).
pair_build() { # DIR
  pair_probe=
  if command -v gcc >/dev/null && gcc -O2 -o "$1/catmem-floor" bench/catmem-floor.c -lpthread; then
    pair_probe=$1/catmem-floor
  fi
}

# The cache-line round trip between cores 0 and 1 now, in ns (0 without the probe).
pair() {
  if [ -n "${pair_probe:-}" ]; then "$pair_probe" 0 100000 | sed -E 's/.* p50 ([0-9]+) ns.*/\1/'; else echo 0; fi
}

# Keeps the lines whose "pair_ns=BEFORE,AFTER" both say WHERE (near: at most 300 ns; far: more); a line whose two
# probes disagree (the vCPUs moved during it) is neither.
placed() { # near|far
  awk -v want="$1" '{ if (!match($0, /pair_ns=[0-9]+,[0-9]+/)) next
    split(substr($0, RSTART + 8, RLENGTH - 8), p, ",")
    if ((want == "near" && p[1] <= 300 && p[2] <= 300) || (want == "far" && p[1] > 300 && p[2] > 300)) print }'
}

# The median round of the load generator's lines in FILE that match the extended regex PATTERN and ran with the vCPUs
# near or far apart, by p50 (with that round's p99 and throughput): "p50 ... us   p99 ... us   ... GET/s   N rounds",
# or "no round".
placed_rtt() { # PATTERN near|far FILE
  grep -E "$1" "$3" | placed "$2" | sed -E 's/.*throughput=([0-9]+).*p50_us=([0-9.]+) p99_us=([0-9.]+).*/\2 \3 \1/' | sort -n |
    awk '{p50[NR]=$1; p99[NR]=$2; t[NR]=$3} END {m=int((NR+1)/2); if (NR == 0) print "no round"
      else printf "p50 %6.1f us   p99 %8.1f us   %8s GET/s   %d rounds\n", p50[m], p99[m], t[m], NR }'
}

#!/usr/bin/env bash
# Runs every test of the repository on a fresh machine: installs what the tests need (only when missing), builds,
# runs each test project, and ends with one line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

need=()
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/bin/redis-sentinel ] || need+=(redis-sentinel)            # Sentinel failovers (DurabilityTests/SentinelTests)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)      # pcap files written by InetStack are read back with it
command -v ethtool >/dev/null 2>&1 || need+=(ethtool)      # veth checksum offload off on the Linux side of interop tests
command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
command -v clang-14 >/dev/null 2>&1 || need+=(clang-14)                    # builds the libFuzzer driver (tests/Demikernel.Fuzz)
[ -f /usr/lib/llvm-14/lib/libFuzzer.a ] || need+=(libfuzzer-14-dev)
command -v gcc >/dev/null 2>&1 || need+=(gcc)                              # builds catnip's DPDK shim
dpkg -s libdpdk-dev >/dev/null 2>&1 || need+=(libdpdk-dev)                 # DPDK 22.11 for catnip (Demikernel.Catnip.Tests, Demikernel.Conformance.Tests)
dpkg -s libxdp-dev >/dev/null 2>&1 || need+=(libxdp-dev libbpf-dev)        # catpowder's AF_XDP shim (raw_socket.mode af_xdp)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "== installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq "${need[@]}" >/dev/null \
      || echo "warning: apt-get install ${need[*]} failed; tests that need them will fail"
  else
    echo "warning: not root, cannot install ${need[*]}; tests that need them will fail"
  fi
fi
# The distribution's redis-server may start itself on 6379; our tests pick their own ports, so leave it alone.

# Thousands of connections in the API tests need file descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
echo "== building"
if ! dotnet build Demikernel.sln -c Release -nologo -v q -clp:ErrorsOnly; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# The fuzzing build: our libFuzzer driver and the harness instrumented by SharpFuzz (Demikernel.Fuzz.Tests runs them).
echo "== fuzzing build"
FUZZ_SKIP_DOTNET_BUILD=1 tests/Demikernel.Fuzz/build.sh || echo "warning: the fuzzing build failed; Demikernel.Fuzz.Tests will fail"

passed=0
failed=0
results="$root/tests/.results"
rm -rf "$results"; mkdir -p "$results"
for proj in tests/*/*Tests.csproj; do
  name=$(basename "$proj" .csproj)
  echo "== $name"
  log="$results/$name.log"
  dotnet test "$proj" -c Release --no-build -nologo --logger "console;verbosity=minimal" \
    --blame-hang-timeout 5m 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  line=$(grep -E "(Passed|Failed)!.*Failed: *[0-9]+, Passed: *[0-9]+" "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "$name: no test summary (crash or build problem)"
    failed=$((failed + 1))
    continue
  fi
  f=$(echo "$line" | sed -E 's/.*Failed: *([0-9]+).*/\1/')
  p=$(echo "$line" | sed -E 's/.*Passed: *([0-9]+).*/\1/')
  # A test host that crashes aborts the run after a summary of what finished before it, with no failure counted:
  # dotnet test's own exit status is what says so.
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "$name: dotnet test exited with status $status (the test run was aborted: see above)"
    f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

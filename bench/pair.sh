# Sourced by the side-by-side benchmarks (compare.sh, eviction.sh, scripting.sh): checks the tools, builds our
# server, starts it and redis-server 7.0 pinned to core 0 on $ours_port and $redis_port (logs in
# /tmp/$bench_name-ours.log and /tmp/$bench_name-redis.log, no save points), stops both at exit, and waits until both
# answer PING. Sets $ours and $redis (their pids) and provides `cpu_ticks PID` (utime+stime in clock ticks) and $hz.
command -v redis-benchmark >/dev/null || { echo "needs redis-benchmark (apt-get install redis-tools)"; exit 1; }
command -v redis-server >/dev/null || { echo "needs redis-server (apt-get install redis-server)"; exit 1; }
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null

taskset -c 0 dotnet server/Demikernel.Server/bin/Release/net10.0/Demikernel.Server.dll --port $ours_port --save "" >/tmp/$bench_name-ours.log 2>&1 &
ours=$!
taskset -c 0 redis-server --port $redis_port --save "" --appendonly no --daemonize no >/tmp/$bench_name-redis.log 2>&1 &
redis=$!
trap 'kill $ours $redis 2>/dev/null || true' EXIT
for p in $ours_port $redis_port; do
  for _ in $(seq 50); do redis-cli -p $p ping >/dev/null 2>&1 && break; sleep 0.2; done
done

cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
hz=$(getconf CLK_TCK)

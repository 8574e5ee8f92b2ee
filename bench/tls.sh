#!/usr/bin/env bash
# GET/SET over TLS: redis-benchmark --tls against our server and against redis-server 7.0 with TLS, side by side in
# one run. Both servers serve TLS only (--port 0 --tls-port P, tls-auth-clients no), pinned to core 0 (taskset); the
# client runs on core 1. Certificates are made with openssl in a temporary directory. Reports client-seen requests/s
# and the server's CPU time per request (utime+stime from /proc/PID/stat over the run), as compare.sh does.
#
#   bench/tls.sh [requests] [clients]      e.g. bench/tls.sh 200000 50
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
c=${2:-50}
ours_port=6421
redis_port=6422
command -v redis-benchmark >/dev/null || { echo "needs redis-benchmark (apt-get install redis-tools)"; exit 1; }
command -v redis-server >/dev/null || { echo "needs redis-server (apt-get install redis-server)"; exit 1; }
command -v openssl >/dev/null || { echo "needs openssl (apt-get install openssl)"; exit 1; }
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null

pki=$(mktemp -d)
openssl req -x509 -newkey rsa:2048 -nodes -keyout $pki/ca.key -out $pki/ca.crt -days 2 -subj "/CN=bench CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout $pki/server.key -out $pki/server.csr -subj "/CN=localhost" 2>/dev/null
printf "subjectAltName=DNS:localhost,IP:127.0.0.1\n" >$pki/ext
openssl x509 -req -in $pki/server.csr -CA $pki/ca.crt -CAkey $pki/ca.key -CAcreateserial -out $pki/server.crt -days 2 -extfile $pki/ext 2>/dev/null
tls=(--tls-cert-file $pki/server.crt --tls-key-file $pki/server.key --tls-ca-cert-file $pki/ca.crt --tls-auth-clients no)

taskset -c 0 dotnet server/Demikernel.Server/bin/Release/net10.0/Demikernel.Server.dll --port 0 --tls-port $ours_port --save "" "${tls[@]}" >/tmp/tls-ours.log 2>&1 &
ours=$!
taskset -c 0 redis-server --port 0 --tls-port $redis_port --save "" --appendonly no --daemonize no "${tls[@]}" >/tmp/tls-redis.log 2>&1 &
redis=$!
trap 'kill $ours $redis 2>/dev/null || true; rm -rf $pki' EXIT
cli=(--tls --cacert $pki/ca.crt)
for p in $ours_port $redis_port; do
  for _ in $(seq 50); do redis-cli -p $p "${cli[@]}" ping >/dev/null 2>&1 && break; sleep 0.2; done
done
cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
hz=$(getconf CLK_TCK)
# Warm up our JIT (tiered compilation) before measuring.
taskset -c 1 redis-benchmark -p $ours_port "${cli[@]}" -t set,get -n 100000 -c $c -P 16 -q >/dev/null

printf "%-10s %-4s %-5s %14s %18s\n" server test P "requests/s" "server CPU us/req"
for pipeline in 1 16; do
  for test in set get; do
    for who in ours redis; do
      if [ $who = ours ]; then pid=$ours; port=$ours_port; else pid=$redis; port=$redis_port; fi
      before=$(cpu_ticks $pid)
      rps=$(taskset -c 1 redis-benchmark -p $port "${cli[@]}" -t $test -n $n -c $c -P $pipeline -q --csv | tail -1 | cut -d, -f2 | tr -d '"')
      after=$(cpu_ticks $pid)
      us=$(awk -v t=$((after - before)) -v hz=$hz -v n=$n 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
      printf "%-10s %-4s %-5s %14s %18s\n" $who $test $pipeline "$rps" "$us"
    done
  done
done

#!/usr/bin/env bash
# Our server, redis-server 7.0.15 and Garnet (the garnet-server .NET tool) side by side: bench/Demikernel.Compare
# (demi-compare) starts the three servers pinned to core 0, drives each cell of the matrix with redis-benchmark on
# core 1, interleaving the servers cell by cell over several rounds, and writes bench/results/compare.md,
# results.json and SVG charts. Options go to demi-compare (bench/Demikernel.Compare/README.md), e.g.
#
#   bench/compare.sh                              # the default matrix (a few minutes)
#   bench/compare.sh --full                       # 16 B and 1 KB, 100k and 10M keys, P1/16/64, 1/50/1000 connections
#   bench/compare.sh --servers ours,redis --commands GET,SET --pipelines 1,16 --rounds 5
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-benchmark >/dev/null || { echo "needs redis-benchmark (apt-get install redis-tools)"; exit 1; }
command -v redis-server >/dev/null || { echo "needs redis-server (apt-get install redis-server)"; exit 1; }
redis-server --version | grep -q 'v=7\.0\.' || echo "warning: not redis-server 7.0: $(redis-server --version)"
tools=bench/.tools
[ -x $tools/garnet-server ] || dotnet tool install garnet-server --version 2.2.12 --tool-path $tools
dotnet build -c Release server/Demikernel.Server -nologo -v q -clp:ErrorsOnly >/dev/null
dotnet build -c Release bench/Demikernel.Compare -nologo -v q -clp:ErrorsOnly >/dev/null
ulimit -n 65536 2>/dev/null || true # 1,000 connections per server
exec dotnet bench/Demikernel.Compare/bin/Release/net10.0/demi-compare.dll \
  --ours server/Demikernel.Server/bin/Release/net10.0/Demikernel.Server.dll --garnet $tools/garnet-server \
  --out bench/results "$@"

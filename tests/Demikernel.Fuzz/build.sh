#!/usr/bin/env bash
# Builds what fuzzing needs into .build/ (ignored by git):
#   .build/dotnet-libfuzzer   our libFuzzer driver (driver/dotnet-libfuzzer.c, clang-14 + libFuzzer.a of libfuzzer-14-dev)
#   .build/app/               the harness with Demikernel.Resp/Server/InetStack and the facade instrumented by SharpFuzz
#   .build/tools/sharpfuzz    SharpFuzz.CommandLine 2.3.0 (the instrumenting tool, a dotnet tool from NuGet)
# Installs clang-14 and libfuzzer-14-dev with apt when missing (as root). Run again after changing the code.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/.build"
mkdir -p "$out"

if ! command -v clang-14 >/dev/null 2>&1 || [ ! -f /usr/lib/llvm-14/lib/libFuzzer.a ]; then
  if [ "$(id -u)" -eq 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq clang-14 libfuzzer-14-dev >/dev/null
  else
    echo "build.sh: clang-14 and libfuzzer-14-dev are needed (apt-get install clang-14 libfuzzer-14-dev)" >&2
    exit 1
  fi
fi
clang-14 -O1 -g -Wall -Wextra -Werror "$here/driver/dotnet-libfuzzer.c" /usr/lib/llvm-14/lib/libFuzzer.a \
  -lstdc++ -lm -lpthread -o "$out/dotnet-libfuzzer"

if [ ! -x "$out/tools/sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$out/tools" >/dev/null
fi

if [ "${FUZZ_SKIP_DOTNET_BUILD:-0}" != 1 ]; then
  dotnet build "$here/Demikernel.Fuzz.csproj" -c Release -nologo -v q -clp:ErrorsOnly
fi
rm -rf "$out/app"
cp -r "$here/bin/Release/net10.0" "$out/app"
for assembly in Demikernel.Resp Demikernel.Server Demikernel Demikernel.InetStack; do
  "$out/tools/sharpfuzz" "$out/app/$assembly.dll" >/dev/null
done
echo "fuzzing build ready in $out"

#!/usr/bin/env bash
# Builds the peer the benchmarks compare against: llama.cpp from the source that node-llama-cpp
# ships as a git bundle (no network), Release, tuned for this CPU (GGML_NATIVE), CPU only. Writes
# llama-bench and llama-server under OUT/bin and OUT/build-info.json with the commit, the flags,
# the compiler and the CPU, which every benchmark copies into its results.
#
#   bench/build-llama-cpp.sh [OUT]        (default build/llama.cpp; reuses a finished build)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build/llama.cpp}")
bundle=node_modules/node-llama-cpp/llama/gitRelease.bundle
[ -f "$bundle" ] || { echo "build-llama-cpp: $bundle is missing (run npm install first)" >&2; exit 1; }
commit=$(git bundle list-heads "$bundle" | awk 'NR==1 {print $1}')
flags=(-DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF -G Ninja)

if [ -x "$out/bin/llama-bench" ] && [ -x "$out/bin/llama-server" ] && [ -f "$out/build-info.json" ] &&
  grep -q "\"commit\": \"$commit\"" "$out/build-info.json"; then
  echo "build-llama-cpp: $out already holds llama.cpp $commit"
  exit 0
fi

src="$out/src"
rm -rf "$src"
mkdir -p "$out"
git clone --quiet "$bundle" "$src"
git -C "$src" checkout --quiet "$commit"
cmake -S "$src" -B "$out/cmake" "${flags[@]}" >"$out/configure.log"
cmake --build "$out/cmake" --target llama-bench llama-server -j "$(nproc)" >"$out/build.log"
mkdir -p "$out/bin"
cp "$out/cmake/bin/llama-bench" "$out/cmake/bin/llama-server" "$out/bin/"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2- | tr ' ' '\n' | grep -E '^(avx|avx2|avx512[a-z_]*|fma|f16c|sse4_2|bmi2)$' | sort -u | tr '\n' ' ' | sed 's/ $//')
compiler=$(c++ --version | head -1)
json_list() { local first=1; printf '['; for x in "$@"; do [ $first = 1 ] || printf ', '; first=0; printf '"%s"' "$x"; done; printf ']'; }
cat >"$out/build-info.json" <<EOF
{
  "project": "llama.cpp",
  "commit": "$commit",
  "source": "$bundle",
  "cmakeFlags": $(json_list "${flags[@]}"),
  "compiler": "$compiler",
  "cpu": "$cpu",
  "cpuFlags": "$cpu_flags",
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
EOF
echo "build-llama-cpp: llama.cpp $commit built in $out/bin"

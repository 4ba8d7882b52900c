#!/usr/bin/env bash
# Everything a machine with an NVIDIA GPU must show about the CUDA backend, in under 8 minutes,
# written to one JSON file (default build/gpu-check.json):
#   1. the native CUDA tests (kernels, attention, whole-model logits, f16 range), built for this GPU;
#   2. logits CUDA vs CPU on the tiny, 0.5B- and 1.5B-shaped synthetic files in Q4_K_M, Q8_0, Q4_0
#      and F16: a 300-token prefill, decode steps past it, and a prefix-reuse step;
#   3. our CUDA prefill/decode against llama.cpp's CUDA build (node-llama-cpp's prebuilt
#      @node-llama-cpp/linux-x64-cuda, when installed), with bytes per token and the fraction of
#      the GPU's memory bandwidth.
# Run from a checkout after `npm install` (which builds the addon with nvcc and compiles out/).
# Without a GPU it stops at once: exit code 3 and a message saying so.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/gpu-check.json}
BUDGET_S=${QWEN_GPU_CHECK_BUDGET_S:-470}
START=$(date +%s)
DEADLINE=$((START + BUDGET_S))
EXIT_NO_GPU=3
mkdir -p "$(dirname "$OUT")" build

no_gpu() {
  echo "gpu-check: no usable NVIDIA GPU here: $1. Nothing was checked (exit $EXIT_NO_GPU)." >&2
  node -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify({ ok: false, gpu: false, reason: process.argv[2] }, null, 2) + "\n")' "$OUT" "$1"
  exit $EXIT_NO_GPU
}
command -v nvidia-smi >/dev/null 2>&1 || no_gpu "nvidia-smi not found (no NVIDIA driver)"
SMI=$(nvidia-smi -L 2>&1) || no_gpu "nvidia-smi failed: $(echo "$SMI" | head -1)"
echo "$SMI" | grep -q '^GPU [0-9]' || no_gpu "nvidia-smi lists no GPU"
[ -f out/scripts/gpu-check.js ] || { echo "gpu-check: out/ is not built; run npm install first" >&2; exit 1; }
echo "gpu-check: $SMI" >&2

# 1. Native CUDA tests, built for this GPU only (-DQWEN_CUDA_ARCHS=native).
NATIVE_LOG=build/gpu-check-native.log
NATIVE_DIR=build/gpu-check-native
native_rc=0
{
  timeout $((DEADLINE - $(date +%s) - 300)) bash -c "
    cmake -S native -B $NATIVE_DIR -G Ninja -DQWEN_CUDA_ARCHS=native -DCMAKE_BUILD_TYPE=Release &&
    cmake --build $NATIVE_DIR -j\$(nproc) --target qwen_native_tests &&
    cd $NATIVE_DIR && ./qwen_native_tests cuda && ./qwen_native_tests device && ./qwen_native_tests f16"
} > "$NATIVE_LOG" 2>&1 || native_rc=$?
echo "gpu-check: native CUDA tests exit $native_rc ($(grep -c '^ok ' "$NATIVE_LOG") ok, $(grep -c '^FAIL ' "$NATIVE_LOG") failed, $(grep -c '^SKIP ' "$NATIVE_LOG") skipped)" >&2

# 2 and 3. Logits and benchmark, until the deadline.
TS_OUT=build/gpu-check-ts.json
ts_rc=0
timeout $((DEADLINE - $(date +%s))) node out/scripts/gpu-check.js --out "$TS_OUT" --deadline "$DEADLINE" || ts_rc=$?

node -e '
const fs = require("fs");
const [out, nativeLog, nativeRc, tsOut, tsRc, start] = process.argv.slice(1);
const log = fs.readFileSync(nativeLog, "utf8");
const ts = fs.existsSync(tsOut) ? JSON.parse(fs.readFileSync(tsOut, "utf8")) : null;
const result = {
  ok: Number(nativeRc) === 0 && Number(tsRc) === 0,
  gpu: true,
  seconds: Math.round(Date.now() / 1000 - Number(start)),
  nativeTests: {
    exitCode: Number(nativeRc),
    passed: log.match(/^ok \S+/gm) || [],
    failed: log.match(/^FAIL .*/gm) || [],
    skipped: log.match(/^SKIP .*/gm) || [],
    measurements: log.split("\n").filter((l) => /^    /.test(l)),
    tail: log.slice(-3000),
  },
  driverExitCode: Number(tsRc),
  probe: ts && ts.gpu,
  logits: ts && ts.logits,
  bench: ts && ts.bench,
};
fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
console.error(`gpu-check: wrote ${out} (${result.seconds} s, ok=${result.ok})`);
process.exit(result.ok ? 0 : 1);
' "$OUT" "$NATIVE_LOG" "$native_rc" "$TS_OUT" "$ts_rc" "$START"

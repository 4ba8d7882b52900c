#!/usr/bin/env bash
# Fuzzes the GGUF parser and the Qwen2 model loader: builds native/fuzz/gguf_mutate with
# AddressSanitizer + UBSan (g++ is enough) into build/fuzz, replays the kept regressions
# (native/fuzz/regressions), then checks N mutated and truncated files (default 100000) made from
# the seeds in native/fuzz/corpus. Prints the figures (files, how each ended, distinct kinds of
# error, crashes, time) and exits nonzero if any input crashed, hung, tripped a sanitizer, or
# failed without a clear error; that input is kept at build/fuzz/failure.gguf
# (replay: build/fuzz/gguf_mutate --replay build/fuzz/failure.gguf). The error kinds seen, with
# counts, go to build/fuzz/errors.txt.
#
#   scripts/fuzz-gguf.sh [N]        FUZZ_SEED=S picks the mutation sequence (default 1).
set -euo pipefail

N="${1:-100000}"
SEED="${FUZZ_SEED:-1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build/fuzz"
mkdir -p "$BUILD"

# Keep the build quiet unless it fails. Two runs at once (a test suite and a person) would
# corrupt each other's build, so builds take turns on a lock.
build() {
  cmake -S "$ROOT/native/fuzz" -B "$BUILD" -DCMAKE_CXX_COMPILER="${CXX:-g++}" &&
    cmake --build "$BUILD" --target gguf_mutate -j2
}
if command -v flock > /dev/null; then
  exec 9> "$BUILD/.build-lock"
  flock 9
fi
if ! build > "$BUILD/build.log" 2>&1; then
  cat "$BUILD/build.log" >&2
  echo "fuzz-gguf: build failed (log: $BUILD/build.log)" >&2
  exit 2
fi
if command -v flock > /dev/null; then
  flock -u 9
  exec 9>&-
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
FAIL="$BUILD/failure.gguf"
"$BUILD/gguf_mutate" --replay-dir "$ROOT/native/fuzz/regressions" --failure-path "$FAIL"
"$BUILD/gguf_mutate" --iterations "$N" --seed "$SEED" --corpus "$ROOT/native/fuzz/corpus" \
  --failure-path "$FAIL" --error-summary "$BUILD/errors.txt"
echo "error kinds with counts: $BUILD/errors.txt"

#!/usr/bin/env bash
# Fuzzes the GGUF parser: builds native/fuzz/gguf_mutate with AddressSanitizer + UBSan (g++ is
# enough) into build/fuzz, then parses N mutated and truncated GGUF files (default 100000).
# Prints "fuzzed N files: X parsed, Y rejected with GgufError, 0 crashes" and exits nonzero if any
# input crashed, tripped a sanitizer, or raised anything but GgufError; the input is kept at
# build/fuzz/failure.gguf (replay: build/fuzz/gguf_mutate --replay build/fuzz/failure.gguf).
#
#   scripts/fuzz-gguf.sh [N]        FUZZ_SEED=S picks the mutation sequence (default 1).
set -euo pipefail

N="${1:-100000}"
SEED="${FUZZ_SEED:-1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build/fuzz"
mkdir -p "$BUILD"

# Keep the build quiet unless it fails; the last line of output is the result. Two runs at once
# (a test suite and a person) would corrupt each other's build, so builds take turns on a lock.
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
exec "$BUILD/gguf_mutate" --iterations "$N" --seed "$SEED" \
  --corpus "$ROOT/native/fuzz/corpus" --failure-path "$BUILD/failure.gguf"

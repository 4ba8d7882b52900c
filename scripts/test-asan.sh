#!/usr/bin/env bash
# Builds the native unit tests with AddressSanitizer + UBSan (QWEN_SANITIZE=ON, CPU only, in its
# own folder build/asan, separate from the addon build) and runs them. Exits nonzero on a failed
# test or any sanitizer report (leaks included). `npm run test:asan` runs this.
#
#   scripts/test-asan.sh [test-name-filter...]   arguments are passed to qwen_native_tests
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build/asan"
mkdir -p "$BUILD"

start=$(date +%s)
if command -v flock > /dev/null; then
  exec 9> "$BUILD/.build-lock"
  flock 9
fi
# RelWithDebInfo: optimized like the real build (so the AVX2 paths and thread pool run as they
# do for users) with line numbers in the sanitizer reports.
if ! { cmake -S "$ROOT/native" -B "$BUILD" -DQWEN_SANITIZE=ON -DQWEN_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
  cmake --build "$BUILD" --target qwen_native_tests -j"${JOBS:-2}"; } > "$BUILD/build.log" 2>&1; then
  tail -50 "$BUILD/build.log" >&2
  echo "test-asan: build failed (log: $BUILD/build.log)" >&2
  exit 2
fi
built=$(date +%s)

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
set +e
"$BUILD/qwen_native_tests" "$@" > "$BUILD/tests.log" 2>&1
rc=$?
set -e
cat "$BUILD/tests.log"
passed=$(grep -c '^ok ' "$BUILD/tests.log" || true)
failed=$(grep -c '^FAIL ' "$BUILD/tests.log" || true)
reports=$(grep -cE '^(==[0-9]+==ERROR: |.*runtime error: )' "$BUILD/tests.log" || true)
echo "test-asan: $passed native tests passed, $failed failed, $reports sanitizer reports, exit $rc" \
  "(build $((built - start)) s, run $(($(date +%s) - built)) s)"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$reports" -eq 0 ]

#!/usr/bin/env bash
# Checks that the C++ and CUDA sources (native/ and bench/native) are laid out as .clang-format
# says, without changing them; names every file that differs and exits 1 if any does.
# `--fix` rewrites those files in place instead (npm run format:native).
#
# Usage: scripts/lint-native.sh [--fix]
# $CLANG_FORMAT names the binary (default clang-format). The tree is kept formatted with Debian's
# clang-format 14, the one CI installs; other versions may lay out a few constructs differently.
set -euo pipefail
cd "$(dirname "$0")/.."

fix=0
case "${1:-}" in
  "") ;;
  --fix) fix=1 ;;
  *) echo "usage: scripts/lint-native.sh [--fix]" >&2; exit 2 ;;
esac

clang_format="${CLANG_FORMAT:-clang-format}"
if ! command -v "$clang_format" >/dev/null 2>&1; then
  echo "lint:native needs $clang_format, which is not on the PATH: install it (Debian:" \
    "\`sudo apt-get install -y clang-format\`) or point \$CLANG_FORMAT at one." >&2
  exit 1
fi

mapfile -d '' files < <(find native bench/native -type f \
  \( -name '*.h' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' \) -print0 | sort -z)
if [ ${#files[@]} -eq 0 ]; then
  echo "lint:native found no C++ sources under native/ and bench/native (run it from the repository)" >&2
  exit 1
fi

# A .clang-format this clang-format cannot read (an unknown key, from a newer version) would make
# every file "differ"; say so instead.
if ! config_error=$("$clang_format" --dump-config "${files[0]}" 2>&1 >/dev/null); then
  echo "lint:native: $("$clang_format" --version) cannot read .clang-format:" >&2
  echo "$config_error" >&2
  exit 1
fi

if [ "$fix" -eq 1 ]; then
  "$clang_format" -i "${files[@]}"
  echo "formatted ${#files[@]} files with $("$clang_format" --version)"
  exit 0
fi

# One clang-format run over all files: it prints "FILE:LINE:COL: error: code should be
# clang-formatted" for each place that differs. Anything else it prints (a file it cannot parse)
# is shown as it is.
status=0
report=$("$clang_format" --dry-run --Werror "${files[@]}" 2>&1) || status=$?
if [ "$status" -ne 0 ]; then
  mapfile -t differ < <(printf '%s\n' "$report" |
    sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u)
  if [ ${#differ[@]} -eq 0 ]; then
    echo "lint:native: $clang_format failed (status $status):" >&2
    printf '%s\n' "$report" | tail -n 40 >&2
    exit 1
  fi
  echo "lint:native: ${#differ[@]} of ${#files[@]} C++ files are not formatted as .clang-format says" \
    "($("$clang_format" --version)):" >&2
  printf '  %s\n' "${differ[@]}" >&2
  echo "See the changes with \`$clang_format --dry-run FILE\`; \`npm run format:native\` rewrites them." >&2
  exit 1
fi
echo "lint:native: ${#files[@]} C++ files formatted as .clang-format says"

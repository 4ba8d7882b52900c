#!/usr/bin/env bash
# Installs what a test tier needs beyond `npm install`, so that the README's `npm test` works on a
# fresh machine by itself. `npm test` and `npm run test:fast` run it first.
#
#   scripts/ensure-test-deps.sh fast   nothing beyond the build (the fast tier runs in Node alone)
#   scripts/ensure-test-deps.sh full   Debian's chromium for the webview and end-to-end tests, and
#                                      code-server 4.99.4 for the end-to-end tests (built from the
#                                      npm registry with Debian's headers: about 6 minutes on 2 cores,
#                                      once; QWEN_E2E_DIR says where, see scripts/install-code-server.sh)
#
# Missing Debian packages are installed when run as root; otherwise it names them in one line and
# fails. Nothing comes from anywhere but the npm registry and Debian. When everything is already
# there it takes a fraction of a second.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tier="${1:-full}"
who="npm test"
[ "$tier" = fast ] && who="npm run test:fast"

# The tests load the addon and the bundles that `npm install` builds; without them every tier
# fails in confusing ways, so say it once here.
for built in build/native/Release/qwen_native.node dist/server.js; do
  if [ ! -f "$ROOT/$built" ]; then
    echo "$who: $built is missing: run \`npm install\` first (it builds the addon and the bundles)." >&2
    exit 1
  fi
done

case "$tier" in
  fast)
    ;;
  full)
    # One check for every package, so a user who is not root hears about all of them at once.
    read -r -a code_server_packages <<< "$("$ROOT/scripts/install-code-server.sh" --debian-packages)"
    "$ROOT/scripts/ensure-debian-packages.sh" "$who" \
      "chromium: the headless browser for the webview and end-to-end tests; the others: to build code-server for the end-to-end tests" \
      chromium "${code_server_packages[@]}"

    e2e_dir="${QWEN_E2E_DIR:-$HOME/.cache/qwen-local-e2e}"
    if ! "$ROOT/scripts/install-code-server.sh" --is-installed "$e2e_dir"; then
      mkdir -p "$e2e_dir"
      log="$e2e_dir/install.log"
      echo "$who: installing code-server for the end-to-end tests into $e2e_dir (once; about 6 minutes on 2 cores; log: $log)" >&2
      start=$(date +%s)
      if ! "$ROOT/scripts/install-code-server.sh" "$e2e_dir" > "$log" 2>&1; then
        tail -40 "$log" >&2
        echo "$who: installing code-server failed (full log: $log)" >&2
        exit 1
      fi
      echo "$who: code-server installed in $(($(date +%s) - start)) s" >&2
    fi
    ;;
  *)
    echo "usage: scripts/ensure-test-deps.sh fast|full" >&2
    exit 2
    ;;
esac

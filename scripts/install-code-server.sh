#!/usr/bin/env bash
# Installs code-server 4.99.4 (VS Code 1.99.3, the last release that runs on Node 20) for the
# end-to-end tests, fully offline apart from the npm registry and Debian packages.
#
# Why so many steps: a plain `npm install code-server` tries to download ripgrep and Node headers
# and refuses to run its postinstall as root. We install with scripts off and build the handful of
# native modules ourselves against the system Node headers (/usr).
#
# Usage: scripts/install-code-server.sh [DIR]   (default: $QWEN_E2E_DIR or ~/.cache/qwen-local-e2e)
#          Prints the path of the code-server launcher on its last line. Idempotent: a finished
#          install is reused.
#        scripts/install-code-server.sh --is-installed [DIR]   exits 0 when a finished install is there
#        scripts/install-code-server.sh --debian-packages      prints the Debian packages it needs
# `npm test` runs it (through scripts/ensure-test-deps.sh) when code-server is not installed yet.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Headers for the native modules (Kerberos, X11, xkbfile, libsecret), python3 for node-gyp, and
# ripgrep, whose binary VS Code's search would otherwise download.
DEBIAN_PACKAGES=(libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev python3 ripgrep)
if [ "${1:-}" = --debian-packages ]; then echo "${DEBIAN_PACKAGES[*]}"; exit 0; fi
check_only=false
if [ "${1:-}" = --is-installed ]; then check_only=true; shift; fi

DIR="${1:-${QWEN_E2E_DIR:-$HOME/.cache/qwen-local-e2e}}"
VERSION=4.99.4
BIN="$DIR/node_modules/code-server/out/node/entry.js"
STAMP="$DIR/.installed-$VERSION"

if $check_only; then [ -f "$STAMP" ] && [ -f "$BIN" ]; exit; fi
if [ -f "$STAMP" ]; then echo "$BIN"; exit 0; fi

"$HERE/ensure-debian-packages.sh" install-code-server.sh "to build code-server's native modules" "${DEBIAN_PACKAGES[@]}"

mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{"name":"qwen-local-e2e","private":true}' > package.json
npm install --ignore-scripts --no-audit --no-fund "code-server@$VERSION" >&2

VS="$DIR/node_modules/code-server/lib/vscode"
(cd "$VS" && npm install --omit=dev --ignore-scripts --no-audit --no-fund >&2)
for mod in @parcel/watcher @vscode/deviceid @vscode/spdlog kerberos native-watchdog node-pty; do
  if [ -d "$VS/node_modules/$mod" ]; then
    echo "building $mod" >&2
    (cd "$VS/node_modules/$mod" && npx --yes node-gyp rebuild --nodedir=/usr -j 2 >&2)
  fi
done
mkdir -p "$VS/node_modules/@vscode/ripgrep/bin"
cp /usr/bin/rg "$VS/node_modules/@vscode/ripgrep/bin/rg"
ln -sfn node_modules "$VS/node_modules.asar"
ln -sfn code-linux.sh "$VS/bin/remote-cli/code-server"
ln -sfn browser-linux.sh "$VS/bin/helpers/browser.sh"
(cd "$VS/extensions" && npm install --omit=dev --ignore-scripts --no-audit --no-fund >&2)

ARGON="$DIR/node_modules/argon2"
if [ -d "$ARGON" ]; then
  (cd "$ARGON" && npx --yes node-gyp rebuild --nodedir=/usr --module_name=argon2 \
      --module_path=lib/binding/napi-v3 --napi_build_version=3 -j 2 >&2)
  mkdir -p "$ARGON/lib/binding/napi-v3"
  cp "$ARGON/build/Release/argon2.node" "$ARGON/lib/binding/napi-v3/"
fi

node "$BIN" --version >&2
touch "$STAMP"
echo "$BIN"

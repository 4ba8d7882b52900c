#!/usr/bin/env bash
# Builds the platform .vsix: bundled extension + server + webview (dist/), the compiled native
# addon copied next to them (dist/native/qwen_native.node), grammars and the manifest. Nothing else
# goes in (.vscodeignore is an allow-list). Prints the .vsix path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
addon=build/native/Release/qwen_native.node
[ -f "$addon" ] || { echo "package: $addon is missing: run npm install first" >&2; exit 1; }
node scripts/build-bundles.mjs >&2
mkdir -p dist/native
cp "$addon" dist/native/qwen_native.node
version=$(node -p "require('./package.json').version")
target="linux-x64"
out="build/qwen-local-$version-$target.vsix"
mkdir -p build
# --no-rewrite-relative-links: the project has no public repository URL for vsce to point the
# README's relative links (ARCHITECTURE.md, ...) at; without it vsce refuses to package.
npx vsce package --no-dependencies --allow-missing-repository --skip-license --no-rewrite-relative-links \
  --target "$target" -o "$out" >&2
echo "$out"

#!/usr/bin/env bash
# Soak test of the language server: 10,000 mixed completion/chat/cancel requests with random
# (seeded) timing against the real engine and the tiny synthetic model; prints the figures.
#   scripts/soak-server.sh [requests] [seed]
# Needs the native addon (npm run build:native) and a compiled tree (npx tsc -p tsconfig.json).
set -euo pipefail
cd "$(dirname "$0")/.."
requests="${1:-10000}"
seed="${2:-1}"
if [ ! -f out/test/soak/server-soak.js ]; then
  npx tsc -p tsconfig.json
fi
exec node out/test/soak/server-soak.js --requests "$requests" --seed "$seed"

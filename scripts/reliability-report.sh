#!/usr/bin/env bash
# Produces bench/results/reliability.md from real runs: the GGUF parser + model loader fuzzer
# (scripts/fuzz-gguf.sh, FUZZ_N files, default 100000), the native tests under ASan + UBSan
# (scripts/test-asan.sh), and the limits and webview-security tests (test/reliability). Needs the
# TypeScript compiled (npx tsc -p tsconfig.json) and the addon built (npm run build:native).
#
#   scripts/reliability-report.sh            FUZZ_N=N FUZZ_SEED=S override the fuzz run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
N="${FUZZ_N:-100000}"
OUT="$ROOT/bench/results/reliability.md"
LOGS="$ROOT/build/reliability"
mkdir -p "$LOGS" "$(dirname "$OUT")"

echo "reliability-report: fuzzing $N files" >&2
bash scripts/fuzz-gguf.sh "$N" > "$LOGS/fuzz.log" 2>&1 || { tail -20 "$LOGS/fuzz.log" >&2; exit 1; }
echo "reliability-report: native tests under ASan + UBSan" >&2
bash scripts/test-asan.sh > "$LOGS/asan.log" 2>&1 || { tail -20 "$LOGS/asan.log" >&2; exit 1; }
echo "reliability-report: limits and webview security tests" >&2
npx mocha --no-config --timeout 300000 --reporter json out/test/reliability/*.test.js > "$LOGS/mocha.json" 2> "$LOGS/mocha.err" ||
  { tail -20 "$LOGS/mocha.err" >&2; exit 1; }

fuzz_line=$(grep '^fuzzed ' "$LOGS/fuzz.log")
replay_line=$(grep '^replayed ' "$LOGS/fuzz.log")
asan_line=$(grep '^test-asan: ' "$LOGS/asan.log")

node - "$OUT" "$LOGS" "$fuzz_line" "$replay_line" "$asan_line" "$N" <<'NODE'
const fs = require('fs');
const os = require('os');
const [out, logs, fuzz, replay, asan, n] = process.argv.slice(2);
const mocha = JSON.parse(fs.readFileSync(`${logs}/mocha.json`, 'utf8'));
const errors = fs.readFileSync('build/fuzz/errors.txt', 'utf8').trimEnd().split('\n');
const bySuite = new Map();
for (const t of mocha.tests) {
  const suite = t.fullTitle.slice(0, t.fullTitle.length - t.title.length).trim();
  if (!bySuite.has(suite)) bySuite.set(suite, []);
  bySuite.get(suite).push(`${t.err && t.err.message ? 'FAIL' : 'ok'} — ${t.title}`);
}
const m = /fuzzed (\d+) files: (\d+) loaded and ran, (\d+) rejected by the model loader, (\d+) rejected by the GGUF parser, (\d+) distinct kinds of error, (\d+) crashes .*?, ([\d.]+) s,/.exec(fuzz);
const lines = [
  '# Reliability figures',
  '',
  `Produced by \`scripts/reliability-report.sh\` on ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPU cores ` +
    `(${os.cpus()[0].model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM. Do not edit by hand: run the script.`,
  '',
  '## GGUF parser and model loader fuzzing (ASan + UBSan + float-cast-overflow)',
  '',
  `Command: \`scripts/fuzz-gguf.sh ${n}\` (CI: test/native/fuzz-gguf.test.ts runs 10,000).`,
  '',
  '| files fuzzed | loaded and ran a forward pass | rejected by the model loader | rejected by the GGUF parser | distinct kinds of error | crashes, hangs, sanitizer reports | time |',
  '|---:|---:|---:|---:|---:|---:|---:|',
  m ? `| ${m[1]} | ${m[2]} | ${m[3]} | ${m[4]} | ${m[5]} | ${m[6]} | ${m[7]} s |` : `| ${fuzz} |`,
  '',
  `Kept regression inputs (native/fuzz/regressions): ${replay}`,
  '',
  'Most frequent kinds of error (numbers shown as N, quoted names as \'…\'):',
  '',
  '```',
  ...errors.slice(0, 15),
  '```',
  '',
  '## Native tests under sanitizers',
  '',
  `Command: \`npm run test:asan\` — ${asan.replace(/^test-asan: /, '')}`,
  '',
  '## Limits and webview security',
  '',
  `Command: \`npx mocha --no-config out/test/reliability/*.test.js\` — ${mocha.stats.passes} passed, ${mocha.stats.failures} failed, ${mocha.stats.pending} skipped.`,
  '',
];
for (const [suite, tests] of bySuite) lines.push(`**${suite}**`, '', ...tests.map((t) => `- ${t}`), '');
fs.writeFileSync(out, lines.join('\n'));
console.log(`wrote ${out}`);
NODE

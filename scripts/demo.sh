#!/usr/bin/env bash
# The main job, end to end, after `npm install`: package the extension, then run the engine on a
# model from the command line. With no model given, a 0.5B-shaped synthetic model (real Qwen2.5
# tokenizer, random weights, so the text is gibberish) is written and quantized to Q4_K_M to stand
# in for a download.
#
#   npm run demo                       # synthetic model
#   npm run demo -- /path/model.gguf   # your own Qwen2.5 GGUF
set -euo pipefail
cd "$(dirname "$0")/.."

cli=(node bin/qwen-local.js)
model="${1:-}"
if [ -z "$model" ]; then
  mkdir -p models
  model=models/synthetic-0.5b-q4_k_m.gguf
  if [ ! -f "$model" ]; then
    echo "== writing a 0.5B-shaped synthetic model (F16), then quantizing it to Q4_K_M"
    node out/scripts/make-synthetic-model.js --shape 0.5b --type f16 --seed 1 --out models/synthetic-0.5b-f16.gguf
    "${cli[@]}" quantize models/synthetic-0.5b-f16.gguf "$model" Q4_K_M
    rm -f models/synthetic-0.5b-f16.gguf
  fi
fi

echo "== packaging the extension"
vsix=$(npm run --silent package | tail -1)

echo "== qwen-local info"
"${cli[@]}" info --model "$model"
echo "== qwen-local run (greedy, 32 tokens)"
"${cli[@]}" run --model "$model" --prompt 'def fibonacci(n):' -n 32 --temp 0
echo
echo "== qwen-local bench (prefill 128, decode 32)"
"${cli[@]}" bench --model "$model" -p 128 -n 32
echo
echo "done: install the extension with  code --install-extension $vsix"
echo "      and set qwenLocal.modelPath to $(realpath "$model")"

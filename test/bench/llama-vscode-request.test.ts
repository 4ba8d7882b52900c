// The keystroke benchmark's peer requests: the /infill bodies must be the ones llama.vscode
// v0.0.63 builds (windows of whole lines, the cursor line split into prompt and suffix), or the
// comparison measures a client nobody uses.

import * as assert from 'assert';
import { chunkAroundCursor, infillRequest, ringWarmupRequest } from '../../bench/lib/llama-vscode-target';

const numbered = (n: number, indent = '') => Array.from({ length: n }, (_, i) => `${indent}line${i}`);

describe('keystroke benchmark: llama.vscode request shape', function () {
  const lines = numbered(400, '  ');
  const text = lines.join('\n') + '\n';
  // Cursor on line 300 after "  li".
  const offset = lines.slice(0, 300).join('\n').length + 1 + 4;

  it('sends 256 lines before the cursor line, the line up to the cursor as prompt, the rest and 64 lines as suffix', function () {
    const body = infillRequest(text, offset, { nPredict: 16, clientDefaults: false }, []);
    assert.strictEqual(body.input_prefix, lines.slice(44, 300).join('\n') + '\n');
    assert.strictEqual(body.prompt, '  li');
    assert.strictEqual(body.input_suffix, 'ne300\n' + lines.slice(301, 365).join('\n') + '\n');
    assert.deepStrictEqual(body.input_extra, []);
    assert.strictEqual(body.n_predict, 16);
    assert.deepStrictEqual(body.samplers, ['top_k', 'top_p']);
    assert.strictEqual(body.cache_prompt, true);
    for (const k of ['n_indent', 't_max_predict_ms', 't_max_prompt_ms']) assert.ok(!(k in body), `${k} is only sent with the client's defaults`);
  });

  it("adds n_indent and the time limits with llama.vscode's defaults", function () {
    const body = infillRequest(text, offset, { nPredict: 128, clientDefaults: true }, []);
    assert.strictEqual(body.n_indent, 2);
    assert.strictEqual(body.t_max_predict_ms, 500);
    assert.strictEqual(body.t_max_prompt_ms, 500);
  });

  it('sends an empty prompt when the cursor line holds only blanks before the cursor, and short windows near the file ends', function () {
    const small = 'a\n    \nb\n';
    const body = infillRequest(small, 2 + 4, { nPredict: 16, clientDefaults: true }, []);
    assert.strictEqual(body.prompt, '');
    assert.strictEqual(body.input_prefix, 'a\n');
    assert.strictEqual(body.input_suffix, '\nb\n\n');
    assert.ok(!('n_indent' in infillRequest('x\n', 1, { nPredict: 16, clientDefaults: true }, [])), 'no n_indent for an unindented line');
  });

  it('takes a 32-line ring chunk from around the cursor and warms it with n_predict 0', function () {
    const chunk = chunkAroundCursor(text, offset, '/w/f.js');
    const chunkLines = chunk.text.split('\n');
    assert.strictEqual(chunkLines.pop(), '');
    assert.strictEqual(chunkLines.length, 32);
    const first = lines.indexOf(chunkLines[0]);
    assert.ok(first >= 268 && first + 31 <= 332, `chunk starts at line ${first}`);
    assert.deepStrictEqual(chunkLines, lines.slice(first, first + 32));
    const warm = ringWarmupRequest([chunk]);
    assert.strictEqual(warm.n_predict, 0);
    assert.deepStrictEqual(warm.input_extra, [chunk]);
    assert.strictEqual(warm.input_prefix, '');
  });
});

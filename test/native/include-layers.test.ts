// The native layers (ARCHITECTURE.md, "Native layers"): each folder of native/src may include
// only itself and the layers below it. The build already enforces this through each layer
// library's include path (native/cmake/layers.cmake); this test reads the #include lines
// themselves, so a back-edge that a compiler would still resolve (a relative "../cpu/x.h", a
// bare name, a header reached through the tests' wider include path) fails here too. A new
// folder under native/src fails until it is given a place in LAYERS and in ARCHITECTURE.md.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const NATIVE_SRC = path.join(ROOT, 'native', 'src');

/** Each layer and the layers it may include besides itself (what native/cmake/layers.cmake links). */
const LAYERS: Record<string, string[]> = {
  base: [],
  quants: ['base'],
  gguf: ['base', 'quants'],
  model: ['base', 'quants', 'gguf'],
  cpu: ['base', 'quants', 'gguf', 'model'],
  cuda: ['base', 'quants', 'gguf', 'model'],
  loader: ['base', 'quants', 'gguf', 'model', 'cpu', 'cuda'],
  napi: ['base', 'quants', 'gguf', 'model', 'cpu', 'cuda', 'loader'],
};

const SOURCE = /\.(h|hpp|cpp|cc|cu|cuh)$/;
const INCLUDE = /^\s*#\s*include\s*([<"])([^>"]+)[>"]/;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (SOURCE.test(e.name)) out.push(p);
  }
  return out;
}

/**
 * Every include under srcDir that breaks the layer rule, as "file:line: why". Project headers
 * are named "<layer>/file.h" from native/src; anything else with a slash that names no layer
 * (<sys/stat.h>, <cuda_runtime.h>) is a system header and not this test's business.
 */
function layerViolations(srcDir: string, layers: Record<string, string[]>): string[] {
  const problems: string[] = [];
  for (const entry of fs.readdirSync(srcDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const layer = entry.name;
    if (!(layer in layers)) {
      problems.push(`native/src/${layer}: a folder that is not a layer; add it to LAYERS, layers.cmake and ARCHITECTURE.md`);
      continue;
    }
    const allowed = new Set([layer, ...layers[layer]]);
    for (const file of sourceFiles(path.join(srcDir, layer))) {
      const rel = path.relative(srcDir, file).split(path.sep).join('/');
      fs.readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const m = INCLUDE.exec(line);
          if (!m) return;
          const [, delim, name] = m;
          const where = `${rel}:${i + 1}: #include ${delim}${name}${delim === '<' ? '>' : '"'}`;
          if (name.split('/').includes('..')) {
            problems.push(`${where} climbs out with ..; name headers as "<layer>/file.h"`);
            return;
          }
          const first = name.includes('/') ? name.split('/')[0] : null;
          if (first === null) {
            // A bare quoted name resolves next to the including file first: allowed only for a
            // file in the same folder, which is the same layer.
            if (delim === '"' && !fs.existsSync(path.join(path.dirname(file), name))) {
              problems.push(`${where} names no file in its own folder; use "<layer>/file.h"`);
            }
            return;
          }
          if (first in layers && !allowed.has(first)) {
            problems.push(`${where} reaches up from ${layer} into ${first} (${layer} may include ${[...allowed].join(', ')})`);
          }
        });
    }
  }
  return problems;
}

describe('native layers: #include lines follow base <- quants <- gguf <- model <- {cpu, cuda} <- loader <- napi', () => {
  it('no file in native/src includes a layer above its own, and every folder is a layer', () => {
    const problems = layerViolations(NATIVE_SRC, LAYERS);
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  it('every layer exists and has sources (the rule above is not checking an empty tree)', () => {
    for (const layer of Object.keys(LAYERS)) {
      const dir = path.join(NATIVE_SRC, layer);
      assert.ok(fs.existsSync(dir), `native/src/${layer} is missing`);
      assert.ok(sourceFiles(dir).length > 0, `native/src/${layer} has no sources`);
    }
  });

  it('ARCHITECTURE.md names every folder of native/src', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'ARCHITECTURE.md'), 'utf8');
    for (const e of fs.readdirSync(NATIVE_SRC, { withFileTypes: true })) {
      if (e.isDirectory()) assert.ok(doc.includes(`native/src/${e.name}/`), `ARCHITECTURE.md does not describe native/src/${e.name}/`);
    }
  });

  it('the checker reports a back-edge, a ../ path, a stray bare name and an unplaced folder', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-layers-'));
    try {
      const write = (rel: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
        fs.writeFileSync(path.join(tmp, rel), text);
      };
      write('base/a.h', '#pragma once\n#include <vector>\n#include <sys/stat.h>\n');
      write('base/b.cpp', '#include "base/a.h"\n#include "a.h"\n');
      write('model/m.h', '#include "base/a.h"\n#include "cpu/k.h"\n');
      write('model/n.cpp', '#include "../cpu/k.h"\n#include "k.h"\n');
      write('cpu/k.h', '#include "model/m.h"\n');
      write('extra/x.cpp', '');
      const found = layerViolations(tmp, { base: [], model: ['base'], cpu: ['base', 'model'] });
      assert.equal(found.length, 4, found.join('\n'));
      assert.ok(found.some((p) => p.startsWith('model/m.h:2:') && p.includes('reaches up from model into cpu')), found.join('\n'));
      assert.ok(found.some((p) => p.startsWith('model/n.cpp:1:') && p.includes('climbs out')), found.join('\n'));
      assert.ok(found.some((p) => p.startsWith('model/n.cpp:2:') && p.includes('names no file in its own folder')), found.join('\n'));
      assert.ok(found.some((p) => p.startsWith('native/src/extra:')), found.join('\n'));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

// Holds the settings table to package.json (the settings UI), and the engine's own context
// default to the native one, so a range or default changed in one place only fails here.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_CONTEXT_SIZE } from '../../src/engine/model';
import { SettingSpec, settingsTable } from '../../src/protocol/settings-table';

const root = path.join(__dirname, '..', '..', '..');

interface ContributedProperty {
  type: string;
  default: unknown;
  minimum?: number;
  maximum?: number;
  enum?: string[];
}

function contributed(): Record<string, ContributedProperty> {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const out: Record<string, ContributedProperty> = {};
  for (const [key, value] of Object.entries(pkg.contributes.configuration.properties as Record<string, ContributedProperty>)) {
    assert.ok(key.startsWith('qwenLocal.'), `${key} is under the qwenLocal section`);
    out[key.slice('qwenLocal.'.length)] = value;
  }
  return out;
}

describe('settings table', () => {
  const table = settingsTable as Record<string, SettingSpec>;
  const pkg = contributed();

  it('lists exactly the settings package.json contributes', () => {
    const rows = Object.keys(table)
      .filter((k) => table[k].contributed)
      .sort();
    assert.deepStrictEqual(rows, Object.keys(pkg).sort());
  });

  for (const [key, spec] of Object.entries(settingsTable as Record<string, SettingSpec>)) {
    if (!spec.contributed) continue;
    it(`agrees with package.json on qwenLocal.${key}`, () => {
      const p = pkg[key];
      assert.ok(p, `package.json contributes qwenLocal.${key}`);
      assert.strictEqual(p.type, spec.type, 'type');
      assert.deepStrictEqual(p.default, spec.default, 'default');
      if (spec.type === 'integer' || spec.type === 'number') {
        assert.strictEqual(p.minimum, spec.minimum, 'minimum');
        assert.strictEqual(p.maximum, spec.maximum, 'maximum');
      } else {
        assert.strictEqual(p.minimum, undefined, 'no minimum on a non-number');
        assert.strictEqual(p.maximum, undefined, 'no maximum on a non-number');
      }
      assert.deepStrictEqual(p.enum, spec.type === 'string' ? spec.enum : undefined, 'enum');
    });
  }

  it('keeps every default inside its own range and enum', () => {
    for (const [key, spec] of Object.entries(table)) {
      if (spec.type === 'integer' || spec.type === 'number') {
        assert.ok(spec.minimum <= spec.default && spec.default <= spec.maximum, `${key}: ${spec.minimum} <= ${spec.default} <= ${spec.maximum}`);
        if (spec.type === 'integer') assert.ok(Number.isInteger(spec.default) && Number.isInteger(spec.minimum) && Number.isInteger(spec.maximum), key);
      }
      if (spec.type === 'string' && spec.enum) assert.ok(spec.enum.includes(spec.default), key);
    }
  });

  it('gives the native ModelOptions the same context default as the engine', () => {
    // Found by its declaration wherever the native tree keeps it, so moving the header does not
    // silently drop the check.
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(h|hpp)$/.test(e.name)) {
          const m = /\bint\s+context_size\s*=\s*(\d+)\s*;/.exec(fs.readFileSync(p, 'utf8'));
          if (m) found.push(`${path.relative(root, p)}=${m[1]}`);
        }
      }
    };
    walk(path.join(root, 'native', 'src'));
    assert.strictEqual(found.length, 1, `one native default context size: ${found.join(', ')}`);
    assert.strictEqual(Number(found[0].split('=')[1]), DEFAULT_CONTEXT_SIZE, found[0]);
  });
});

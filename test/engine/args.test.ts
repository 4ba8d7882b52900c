// The CLI's argument parser: typed values, aliases, --name=value, and clear errors.
import * as assert from 'assert';
import { Args, parseArgs, UsageError } from '../../src/cli/args';

const specs = {
  model: { kind: 'string' as const, alias: '-m', required: true, description: '' },
  threads: { kind: 'int' as const, alias: '-t', min: 0, max: 256, description: '' },
  temp: { kind: 'number' as const, min: 0, description: '' },
  json: { kind: 'flag' as const, description: '' },
  allow: { kind: 'string' as const, repeatable: true, description: '' },
};

describe('cli: argument parser', () => {
  it('reads long options, aliases, = forms, flags and positionals', () => {
    const a = new Args(parseArgs(['-m', 'a.gguf', '--threads=4', '--temp', '0.5', '--json', 'pos'], specs));
    assert.strictEqual(a.string('model'), 'a.gguf');
    assert.strictEqual(a.int('threads'), 4);
    assert.strictEqual(a.number('temp'), 0.5);
    assert.strictEqual(a.flag('json'), true);
    assert.deepStrictEqual(a.positional, ['pos']);
    assert.strictEqual(a.int('missing', 7), 7);
  });

  it('collects every value of a repeatable option, in order', () => {
    const a = new Args(parseArgs(['-m', 'a', '--allow', 'x.lan', '--allow=y.lan', '--allow', 'z'], specs));
    assert.deepStrictEqual(a.strings('allow'), ['x.lan', 'y.lan', 'z']);
    assert.deepStrictEqual(new Args(parseArgs(['-m', 'a'], specs)).strings('allow'), []);
    // A plain string option given twice still keeps the last value.
    assert.strictEqual(new Args(parseArgs(['-m', 'a', '-m', 'b'], specs)).string('model'), 'b');
  });

  const bad: Array<[string[], RegExp]> = [
    [['--model', 'a', '--threads', 'abc'], /--threads expects a number, got 'abc'/],
    [['--model', 'a', '--threads', '1.5'], /--threads expects an integer/],
    [['--model', 'a', '--threads', '-3'], /--threads must be at least 0/],
    [['--model', 'a', '--threads', '999'], /--threads must be at most 256/],
    [['--model', 'a', '--bogus'], /unknown option '--bogus'/],
    [['--model'], /--model needs a value/],
    [['--threads', '2'], /missing required option --model/],
    [['--model', 'a', '--json=1'], /--json takes no value/],
  ];
  for (const [argv, message] of bad) {
    it(`rejects ${argv.join(' ')}`, () => {
      assert.throws(
        () => parseArgs(argv, specs),
        (e: unknown) => e instanceof UsageError && message.test(e.message),
      );
    });
  }
});

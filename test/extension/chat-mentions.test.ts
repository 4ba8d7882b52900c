// The @-mention messages the chat webview may send are validated like every other message, and
// the @file list's fuzzy matcher ranks what people type.
import * as assert from 'assert';
import { validateWebviewMessage } from '../../src/extension/webview-messages';
import { fuzzyFilter, fuzzyScore } from '../../src/server/workspace-index/fuzzy-path';

describe('extension: @-mention messages and the @file matcher', () => {
  it('accepts well-formed mention, attach, detach and openSource messages', () => {
    for (const m of [
      { type: 'mentionQuery', kind: 'file', query: 'chat' },
      { type: 'mentionQuery', kind: 'symbol', query: '' },
      { type: 'attach', kind: 'workspace', id: '' },
      { type: 'attach', kind: 'file', id: '0b7c6d1e-1111-2222-3333-444455556666' },
      { type: 'detach', id: 'abc' },
      { type: 'openSource', uri: 'file:///w/src/a.ts', line: 12 },
      { type: 'applyAll', id: 'reply-1' },
    ]) {
      const result = validateWebviewMessage(m);
      assert.ok(result.ok, `rejected ${JSON.stringify(m)}: ${result.ok ? '' : result.error}`);
      assert.deepStrictEqual(result.message, m);
    }
  });

  it('rejects unknown kinds, bad lines, missing ids and oversized queries with a reason', () => {
    const cases: [unknown, RegExp][] = [
      [{ type: 'attach', kind: 'disk', id: '' }, /"kind" must be one of file, symbol/],
      [{ type: 'attach', kind: 'file' }, /"id" must be a string/],
      [{ type: 'mentionQuery', kind: 'file', query: 'x'.repeat(5000) }, /more than the limit/],
      [{ type: 'detach', id: '' }, /must not be empty/],
      [{ type: 'applyAll', id: 7 }, /"id" must be a string/],
      [{ type: 'openSource', uri: 'file:///a', line: 0 }, /line number/],
      [{ type: 'openSource', uri: 'file:///a', line: 1.5 }, /line number/],
      [{ type: 'openSource', uri: 'file:///a', line: '3' }, /line number/],
    ];
    for (const [raw, reason] of cases) {
      const result = validateWebviewMessage(raw);
      assert.strictEqual(result.ok, false, `accepted ${JSON.stringify(raw).slice(0, 80)}`);
      if (!result.ok) assert.match(result.error, reason);
    }
  });

  it('matches characters in order, preferring file names, word starts and runs', () => {
    const paths = ['src/server/chat/chat-service.ts', 'src/extension/chat-html.ts', 'test/webview/chat.test.ts', 'README.md', 'src/server/cache/slot-pool.ts'];
    assert.strictEqual(fuzzyScore('xyz', 'src/a.ts'), -1);
    assert.deepStrictEqual(fuzzyFilter('chsvc', paths, 3), ['src/server/chat/chat-service.ts']);
    assert.strictEqual(fuzzyFilter('chathtml', paths, 1)[0], 'src/extension/chat-html.ts');
    assert.strictEqual(fuzzyFilter('slot', paths, 1)[0], 'src/server/cache/slot-pool.ts');
    assert.strictEqual(fuzzyFilter('', paths, 10).length, paths.length, 'an empty query lists files');
  });
});

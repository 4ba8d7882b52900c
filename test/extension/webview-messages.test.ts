// Validation of messages from the chat webview: known types with well-typed, bounded fields pass
// (stripped of anything extra); everything else is rejected with a reason naming the problem.
import * as assert from 'assert';
import { WebviewLimits } from '../../src/protocol/webview';
import { validateWebviewMessage } from '../../src/extension/webview-messages';

function rejects(raw: unknown, reason: RegExp): void {
  const result = validateWebviewMessage(raw);
  assert.strictEqual(result.ok, false, `accepted ${JSON.stringify(raw)?.slice(0, 80)}`);
  if (!result.ok) assert.match(result.error, reason);
}

describe('extension: webview message validation', () => {
  it('accepts every well-formed message type', () => {
    const good = [
      { type: 'ready' },
      { type: 'stop' },
      { type: 'regenerate' },
      { type: 'newChat' },
      { type: 'send', text: 'hello', includeContext: true },
      { type: 'copy', text: '' },
      { type: 'insert', code: 'x = 1' },
      { type: 'apply', code: 'y = 2' },
    ];
    for (const m of good) {
      const result = validateWebviewMessage(m);
      assert.ok(result.ok, `rejected ${JSON.stringify(m)}`);
      assert.deepStrictEqual(result.message, m);
    }
  });

  it('strips fields that are not part of the message', () => {
    const result = validateWebviewMessage({ type: 'insert', code: 'a', path: '/etc/passwd', __proto__x: 1 });
    assert.ok(result.ok);
    assert.deepStrictEqual(result.message, { type: 'insert', code: 'a' });
  });

  it('rejects non-objects, missing or unknown types', () => {
    rejects(null, /must be an object, got null/);
    rejects('send', /must be an object, got string/);
    rejects([{ type: 'ready' }], /got an array/);
    rejects({}, /no string "type"/);
    rejects({ type: 42 }, /no string "type"/);
    rejects({ type: 'runCommand', command: 'rm -rf /' }, /unknown message type "runCommand"/);
    rejects({ type: 'toString' }, /unknown message type "toString"/);
    rejects({ type: '__proto__' }, /unknown message type/);
  });

  it('rejects wrong field types, empty prompts and oversized text', () => {
    rejects({ type: 'send', text: 'hi' }, /"send" message: field "includeContext" must be a boolean, got undefined/);
    rejects({ type: 'send', text: 5, includeContext: true }, /field "text" must be a string, got number/);
    rejects({ type: 'send', text: '   ', includeContext: false }, /field "text" must not be empty/);
    rejects({ type: 'insert', code: { toString: 'x' } }, /field "code" must be a string, got object/);
    rejects({ type: 'apply' }, /field "code" must be a string, got undefined/);
    rejects({ type: 'send', text: 'x'.repeat(WebviewLimits.maxPromptChars + 1), includeContext: true }, /more than the limit of 200000/);
    rejects({ type: 'copy', text: 'x'.repeat(WebviewLimits.maxCodeChars + 1) }, /more than the limit/);
  });
});

// The extension's read of VS Code's configuration: the same defaults and clamps as the server,
// with the extension-only settings (debounce, disabled languages) beside them.
import * as assert from 'assert';
import { installFakeVscode } from '../http/fake-vscode';
import { defaultSettings } from '../../src/protocol/settings-merge';

describe('extension settings', () => {
  let installed: ReturnType<typeof installFakeVscode>;
  let readSettings: typeof import('../../src/extension/config.js').readSettings;

  before(async () => {
    installed = installFakeVscode();
    // Loaded after the fake is installed: it imports 'vscode'.
    ({ readSettings } = await import('../../src/extension/config.js'));
  });
  after(() => installed.uninstall());
  beforeEach(() => installed.fake.settings.clear());

  it('sends the server the table defaults, without the server-only tuning', () => {
    const s = readSettings();
    const { tuning: _tuning, ...expected } = defaultSettings;
    assert.deepStrictEqual(s.server, expected);
    assert.strictEqual(s.debounceMs, 0);
    assert.deepStrictEqual([...s.disabledLanguages], ['plaintext', 'markdown', 'scminput']);
  });

  it('clamps and type-checks what the user wrote', () => {
    const set = installed.fake.settings;
    set.set('contextSize', 10_000_000);
    set.set('completion.maxTokens', 'lots');
    set.set('device', 'cpu');
    set.set('completion.debounceMs', 99999);
    set.set('completion.disabledLanguages', ['go', 3, 'rust']);
    const s = readSettings();
    assert.strictEqual(s.server.contextSize, 131072);
    assert.strictEqual(s.server.completion.maxTokens, defaultSettings.completion.maxTokens);
    assert.strictEqual(s.server.device, 'cpu');
    assert.strictEqual(s.debounceMs, 2000);
    assert.deepStrictEqual([...s.disabledLanguages], ['go', 'rust']);
  });
});

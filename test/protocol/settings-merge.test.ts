// Merging what a client sends over the previous settings: the path every setting takes on both
// sides (the server on initialize and didChangeConfiguration, the extension on reading VS Code).
import * as assert from 'assert';
import { defaultSettings, EffectiveSettings, mergeSettings, unwrapSettings } from '../../src/protocol/settings-merge';
import { settingsTable } from '../../src/protocol/settings-table';

describe('settings merge', () => {
  it('takes its defaults from the settings table', () => {
    assert.strictEqual(defaultSettings.contextSize, settingsTable.contextSize.default);
    assert.strictEqual(defaultSettings.completion.maxTokens, settingsTable['completion.maxTokens'].default);
    assert.strictEqual(defaultSettings.chat.topP, settingsTable['chat.topP'].default);
    assert.strictEqual(defaultSettings.tuning.completionSlots, settingsTable['tuning.completionSlots'].default);
  });

  it('finds the settings object bare, under .settings, or under .qwenLocal', () => {
    const inner = { threads: 3 };
    assert.strictEqual(unwrapSettings(inner), inner);
    assert.strictEqual(unwrapSettings({ settings: inner }), inner);
    assert.strictEqual(unwrapSettings({ settings: { qwenLocal: inner } }), inner);
    assert.strictEqual(unwrapSettings([inner]), undefined);
    assert.strictEqual(unwrapSettings(null), undefined);
  });

  it('applies a partial object and keeps every other value', () => {
    const next = mergeSettings(defaultSettings, { completion: { maxTokens: 64 }, chat: { temperature: 0 } });
    assert.strictEqual(next.completion.maxTokens, 64);
    assert.strictEqual(next.chat.temperature, 0);
    assert.deepStrictEqual({ ...next, completion: { ...next.completion, maxTokens: 128 }, chat: { ...next.chat, temperature: 0.7 } }, defaultSettings);
  });

  it('merges over the previous values, not over the defaults', () => {
    const prev: EffectiveSettings = mergeSettings(defaultSettings, { threads: 6, device: 'cpu' });
    const next = mergeSettings(prev, { contextSize: 2048 });
    assert.strictEqual(next.threads, 6);
    assert.strictEqual(next.device, 'cpu');
    assert.strictEqual(next.contextSize, 2048);
  });

  it('clamps numbers to the table range and rounds integers', () => {
    const next = mergeSettings(defaultSettings, {
      threads: 1000,
      contextSize: 1,
      completion: { maxLines: 3.6, temperature: 9 },
      tuning: { completionSlots: 0 },
    });
    assert.strictEqual(next.threads, settingsTable.threads.maximum);
    assert.strictEqual(next.contextSize, settingsTable.contextSize.minimum);
    assert.strictEqual(next.completion.maxLines, 4);
    assert.strictEqual(next.completion.temperature, settingsTable['completion.temperature'].maximum);
    assert.strictEqual(next.tuning.completionSlots, settingsTable['tuning.completionSlots'].minimum);
    assert.strictEqual(mergeSettings(defaultSettings, { chat: { temperature: 0.35 } }).chat.temperature, 0.35, 'a real number is not rounded');
  });

  it('keeps the previous value for mistyped, non-finite or unknown values', () => {
    const next = mergeSettings(defaultSettings, {
      threads: '4',
      contextSize: Number.NaN,
      device: 'tpu',
      modelPath: 42,
      completion: { enabled: 'no', maxTokens: Infinity },
      chat: 'fast',
      unknownSetting: true,
    });
    assert.deepStrictEqual(next, defaultSettings);
  });

  it('trims paths and URLs, and accepts only the device enum', () => {
    const next = mergeSettings(defaultSettings, { modelPath: '  /m/qwen.gguf \n', remoteUrl: ' http://h/v1 ', device: 'cuda' });
    assert.strictEqual(next.modelPath, '/m/qwen.gguf');
    assert.strictEqual(next.remoteUrl, 'http://h/v1');
    assert.strictEqual(next.device, 'cuda');
  });

  it('returns the previous object unchanged when nothing usable was sent', () => {
    assert.strictEqual(mergeSettings(defaultSettings, undefined), defaultSettings);
    assert.strictEqual(mergeSettings(defaultSettings, 'x'), defaultSettings);
  });
});

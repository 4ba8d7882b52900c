// Saved chat transcripts: the format, titles and file names, and an exact round trip even when a
// message contains lines that look like role headings.
import * as assert from 'assert';
import { formatTranscript, parseTranscript, transcriptFileName, transcriptTitle } from '../../src/extension/transcript';

const meta = { title: 'Reverse a string', savedAt: new Date('2026-11-23T08:00:00Z'), model: 'qwen2.5-coder-0.5b' };

describe('extension: chat transcripts', () => {
  it('formats front matter and one heading per message', () => {
    const text = formatTranscript(
      [
        { role: 'user', text: 'Reverse a string?' },
        { role: 'assistant', text: 'Use:\n\n```js\n[...s].reverse().join("")\n```\n\n' },
      ],
      meta,
    );
    assert.strictEqual(
      text,
      [
        '---',
        'title: Reverse a string',
        'saved: 2026-11-23T08:00:00.000Z',
        'model: qwen2.5-coder-0.5b',
        '---',
        '',
        '## User',
        '',
        'Reverse a string?',
        '',
        '## Assistant',
        '',
        'Use:',
        '',
        '```js',
        '[...s].reverse().join("")',
        '```',
        '',
      ].join('\n'),
    );
  });

  it('round-trips messages, escaping lines that look like headings', () => {
    const messages = [
      { role: 'system' as const, text: 'Be brief.' },
      { role: 'user' as const, text: 'What does this print?\n## Assistant\n\\## User\n\\\\## System' },
      { role: 'assistant' as const, text: '## Assistant heading inside, indented:\n  ## User\nend' },
    ];
    const text = formatTranscript(messages, meta);
    assert.ok(text.includes('\n\\## Assistant\n'), 'heading-like line escaped');
    assert.deepStrictEqual(parseTranscript(text), messages);
    assert.deepStrictEqual(parseTranscript(text.replace(/\n/g, '\r\n')), messages);
  });

  it('makes a title and a safe file name', () => {
    assert.strictEqual(transcriptTitle([{ role: 'user', text: '\n  **Fix** the `parser`, please\nmore' }]), 'Fix the parser, please');
    assert.strictEqual(transcriptTitle([{ role: 'assistant', text: 'x' }]), 'Chat');
    assert.strictEqual(transcriptTitle([{ role: 'user', text: 'a'.repeat(100) }]).length, 60);
    assert.strictEqual(transcriptFileName('Fix the parser, please!'), 'fix-the-parser-please.qwenchat.md');
    assert.strictEqual(transcriptFileName('../../etc/passwd'), 'etc-passwd.qwenchat.md');
    assert.strictEqual(transcriptFileName('???'), 'chat.qwenchat.md');
  });
});

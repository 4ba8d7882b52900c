// User prompt files (front matter, variables, errors naming file and line) and the built-in
// action prompts (messages, fences, extracting code from replies, keeping outer whitespace).
import * as assert from 'assert';
import { actionSpecs, buildActionMessages, extractCode, fenceFor, fitToContext, matchOuterWhitespace } from '../../src/extension/action-prompts';
import { parsePromptFile, PromptFileError, renderPrompt } from '../../src/extension/prompt-files';

const good = `---
title: Add logging
description: "Log every branch"
context: selection
mode: edit
---
Add a log line to every branch of this {{language}} code from {{fileName}}:

{{selection}}
`;

const values = { selection: 'if (a) b();', file: 'FILE', fileName: 'src/x.ts', language: 'typescript', input: 'INPUT' };

function throwsAt(source: string, pattern: RegExp): void {
  assert.throws(
    () => parsePromptFile('p.prompt.md', source),
    (e: unknown) => {
      assert.ok(e instanceof PromptFileError);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

describe('extension: prompt files', () => {
  it('parses front matter and body, with defaults', () => {
    const p = parsePromptFile('log.prompt.md', good);
    assert.deepStrictEqual(
      { title: p.title, description: p.description, context: p.context, mode: p.mode, needsInput: p.needsInput },
      { title: 'Add logging', description: 'Log every branch', context: 'selection', mode: 'edit', needsInput: false },
    );
    const minimal = parsePromptFile('m.prompt.md', '\uFEFF---\r\ntitle: Review\r\n---\r\nReview {{input}}\r\n');
    assert.strictEqual(minimal.context, 'selection');
    assert.strictEqual(minimal.mode, 'chat');
    assert.strictEqual(minimal.needsInput, true);
  });

  it('fills variables once, never re-expanding substituted text', () => {
    const p = parsePromptFile('log.prompt.md', good);
    const text = renderPrompt(p, { ...values, selection: 'print("{{input}}")' });
    assert.strictEqual(text, 'Add a log line to every branch of this typescript code from src/x.ts:\n\nprint("{{input}}")');
  });

  it('appends the code when the body names no code variable', () => {
    const p = parsePromptFile('r.prompt.md', '---\ntitle: Review\ncontext: file\n---\nReview this file.');
    assert.strictEqual(renderPrompt(p, values), 'Review this file.\n\n```typescript\nFILE\n```');
    const none = parsePromptFile('n.prompt.md', '---\ntitle: Joke\ncontext: none\n---\nTell a joke.');
    assert.strictEqual(renderPrompt(none, values), 'Tell a joke.');
  });

  it('reports bad files with file name, line and the problem', () => {
    throwsAt('title: x\n', /^p\.prompt\.md:1: expected a front matter block/);
    throwsAt('---\ntitle: x\n', /^p\.prompt\.md:1: the front matter block is not closed/);
    throwsAt('---\ndescription: d\n---\nbody', /the front matter has no "title"/);
    throwsAt('---\ntitle: t\nmodel: big\n---\nbody', /^p\.prompt\.md:3: unknown key "model"/);
    throwsAt('---\ntitle: t\ntitle: u\n---\nbody', /^p\.prompt\.md:3: key "title" is given twice/);
    throwsAt('---\ntitle: t\n- list item\n---\nbody', /^p\.prompt\.md:3: expected "key: value"/);
    throwsAt('---\ntitle: t\nmode: replace\n---\nbody', /^p\.prompt\.md:3: "mode" must be chat or edit, got "replace"/);
    throwsAt('---\ntitle: t\ncontext: repo\n---\nbody', /"context" must be selection, file or none/);
    throwsAt('---\ntitle: t\n---\n\n  \n', /^p\.prompt\.md:4: the prompt body after the front matter is empty/);
    throwsAt('---\ntitle: t\n---\nline one\nuse {{clipboard}} here', /^p\.prompt\.md:5: unknown variable \{\{clipboard\}\}/);
  });
});

describe('extension: action prompts', () => {
  it('builds system + user messages with the code fenced and the task stated', () => {
    const messages = buildActionMessages(actionSpecs.fix, { code: 'x = 1', languageId: 'python', fileName: 'a.py', wholeFile: false });
    assert.strictEqual(messages.length, 2);
    assert.strictEqual(messages[0].role, 'system');
    assert.match(messages[1].content, /^Find and fix the bugs/);
    assert.match(messages[1].content, /a selection from a\.py \(python\):\n\n```python\nx = 1\n```/);
    assert.match(messages[1].content, /single fenced code block/);
    const edit = buildActionMessages(actionSpecs.editWithInstruction, {
      code: 'f()',
      languageId: 'js',
      fileName: 'b.js',
      wholeFile: true,
      instruction: '  make it async ',
    });
    assert.match(edit[1].content, /^Rewrite the following code as instructed: make it async\n/);
    assert.match(edit[1].content, /the file b\.js/);
    assert.throws(
      () => buildActionMessages(actionSpecs.editWithInstruction, { code: 'f()', languageId: 'js', fileName: 'b.js', wholeFile: true, instruction: ' ' }),
      /non-empty instruction/,
    );
  });

  it('uses a fence longer than any backtick run in the code', () => {
    assert.strictEqual(fenceFor('plain'), '```');
    assert.strictEqual(fenceFor('a ```b``` c'), '````');
    assert.strictEqual(fenceFor('`````'), '``````');
  });

  it('extracts the code from replies: fenced, several blocks, unterminated, bare', () => {
    assert.strictEqual(extractCode('Here:\n```ts\nconst a = 1;\n```\nDone.'), 'const a = 1;');
    assert.strictEqual(extractCode('```py\nshort()\n```\ntext\n```py\nmuch_longer_block()\nsecond_line()\n```'), 'much_longer_block()\nsecond_line()');
    assert.strictEqual(extractCode('````md\n```inner```\n````'), '```inner```');
    assert.strictEqual(extractCode('Sure:\n```js\nlet x = 1;\nlet y'), 'let x = 1;\nlet y');
    assert.strictEqual(extractCode('  return a + b;  '), 'return a + b;');
    assert.strictEqual(extractCode('   \n'), undefined);
  });

  it('keeps the outer whitespace of the replaced selection', () => {
    assert.strictEqual(matchOuterWhitespace('    x = 1\n', 'x = 2'), '    x = 2\n');
    assert.strictEqual(matchOuterWhitespace('\n  a()\n  b()\n\n', '\n  a2()\n  b2()   \n'), '\n  a2()\n  b2()\n\n');
    assert.strictEqual(matchOuterWhitespace('f()', 'g()\n'), 'g()');
  });

  it('drops the oldest chat turns to fit the context, starting on a user turn, keeping the newest', () => {
    const settings = { contextSize: 2048, chat: { maxTokens: 1024, temperature: 0.7, topP: 0.8 } };
    // Budget: (2048 - 1024) x 3 = 3072 characters.
    const turn = (role: 'user' | 'assistant', n: number) => ({ role, content: 'x'.repeat(n) });
    const turns = [turn('user', 1000), turn('assistant', 1000), turn('user', 1000), turn('assistant', 1000), turn('user', 500)];
    const kept = fitToContext(turns, settings);
    assert.deepStrictEqual(
      kept.map((t) => t.content.length),
      [1000, 1000, 500],
    );
    assert.strictEqual(kept[0].role, 'user');
    assert.deepStrictEqual(fitToContext([turn('user', 50_000)], settings).length, 1, 'the newest turn is always kept');
    assert.deepStrictEqual(fitToContext(turns.slice(0, 2), settings), turns.slice(0, 2));
  });
});

// End-to-end: the packaged .vsix installed into a real VS Code (code-server 4.99.4), a synthetic
// Qwen2.5 model configured, and headless Chromium typing into the workbench like a user:
//   1. typing in a file shows ghost text, and Tab inserts exactly that text;
//   2. a chat message streams a reply into the chat view;
//   3. "Qwen Local: Explain" from the command palette answers in the chat;
//   4. "Qwen Local: Fix Code" shows its result as a diff; Accept writes exactly that, one Undo reverts it.
// The model has random weights, so its text is gibberish; what is checked is that the text
// travels correctly through the server, the extension and VS Code. Screenshots of each step go to
// test-artifacts/e2e/, and VS Code's logs too when a test fails (or QWEN_E2E_KEEP_LOGS=1).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { recordReplies, streamingProblem, waitForReply } from './chat-view';
import { artifacts, useE2eWorkbench } from './e2e-session';
import {
  diffEditorLines,
  ghostText,
  ghostTextAfterTyping,
  notificationButtons,
  openFile,
  runCommand,
  screenshot,
  statusText,
  waitForNotification,
  webviewFrame,
} from './workbench-ui';

const sourceFile = 'src/add.py';
const sourceText = 'def add(a, b):\n    return a + b\n\n';

/** The processes whose command line mentions `needle` (Linux /proc). */
function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(needle)) found.push(`${pid}: ${cmd.trim()}`);
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

/** Polls a file until it holds `expected` (saving is asynchronous); returns what it last held. */
async function waitForFileContent(file: string, expected: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = fs.readFileSync(file, 'utf8');
    if (now === expected || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('end-to-end: the packaged extension in code-server', function () {
  this.timeout(120_000);
  const timings: Record<string, number> = {};
  const since = (start: number) => Date.now() - start;
  // Only this file's outputs: crash-recovery.e2e.test.ts writes crash-* into the same folder.
  const workbench = useE2eWorkbench({
    artifactPrefix: '',
    ownsArtifact: (n) => !n.startsWith('crash-'),
    files: { [sourceFile]: sourceText },
    chatMaxTokens: 160,
    timings,
    timingsLabel: 'e2e',
  });

  it('0. runs the extension installed from the .vsix, with its bundled server and addon', async function () {
    const w = workbench();
    const installed = w.installedExtension;
    for (const rel of ['dist/extension.js', 'dist/server.js', 'dist/native/qwen_native.node', 'package.json']) {
      assert.ok(fs.existsSync(path.join(installed, rel)), `${rel} is missing from the installed extension ${installed}`);
    }
    assert.ok(!fs.existsSync(path.join(installed, 'src')), 'the installed extension holds src/: it was not installed from the .vsix');
    // The language server that loaded the model is the installed copy's, not the checkout's.
    const servers = processesMentioning(path.join(installed, 'dist', 'server.js'));
    assert.strictEqual(servers.length, 1, `expected one language server from ${installed}, found:\n${servers.join('\n')}`);
    const status = await statusText(w.page);
    assert.match(status, /tiny synthetic/, `the status bar should name the loaded model; it says "${status}"`);
    assert.match(status, /CPU/, `the status bar should name the device; it says "${status}"`);
  });

  it('1. shows ghost text while typing, and Tab inserts exactly that text', async function () {
    const page = workbench().page;
    const file = path.join(workbench().workspace, sourceFile);
    let t = Date.now();
    const logBefore = workbench().extensionLog().length;
    await openFile(page, sourceFile);
    timings.openFile = since(t);
    await page.keyboard.press('Control+End');
    // Typed as a user would; VS Code indents the new line after the colon.
    await page.keyboard.type('def mul(a, b):\n', { delay: 40 });
    t = Date.now();
    const suggestion = await ghostTextAfterTyping(page, workbench().extensionLog, logBefore, 60_000);
    timings.ghostText = since(t);
    await screenshot(page, artifacts, '1-ghost-text');
    assert.ok(suggestion.trim().length > 0, `the ghost text is blank: ${JSON.stringify(suggestion)}`);

    await page.keyboard.press('Tab');
    await page
      .waitForFunction(() => document.querySelectorAll('.ghost-text-decoration').length === 0, undefined, { timeout: 5_000 })
      .catch(() => {
        throw new Error('the ghost text is still shown after Tab');
      });
    assert.strictEqual(await ghostText(page), '', 'the ghost text is still shown after Tab');
    await page.keyboard.press('Control+S');
    const expected = `${sourceText}def mul(a, b):\n    ${suggestion}`;
    const saved = await waitForFileContent(file, expected, 10_000);
    await screenshot(page, artifacts, '1-accepted');
    assert.strictEqual(saved, expected, 'after Tab the file should be the typed text plus exactly the ghost text');
  });

  it('2. streams a chat reply into the chat view', async function () {
    const page = workbench().page;
    let t = Date.now();
    await runCommand(page, 'Qwen Local: Open Chat');
    const frame = await webviewFrame(page, '#prompt', 30_000);
    timings.openChat = since(t);
    await frame
      .waitForFunction(
        () => {
          const s = document.getElementById('status');
          return !!s && !s.classList.contains('not-ready') && s.textContent !== 'Starting…';
        },
        undefined,
        { timeout: 20_000 },
      )
      .catch(async () => {
        throw new Error(`the chat view's status line never said ready: "${await frame.textContent('#status')}"`);
      });
    const question = 'Write a Python function that multiplies two numbers.';
    await recordReplies(frame);
    await frame.fill('#prompt', question);
    t = Date.now();
    await frame.press('#prompt', 'Enter');
    // A picture of the reply half-written. Only a picture: on a fast machine the reply may finish
    // before it is taken, so streaming itself is checked from the page's own record below.
    const midStream = await frame
      .waitForFunction(
        () => {
          const body = document.querySelector('#messages article.message.assistant .message-body.streaming');
          return !!body && (body.textContent ?? '').length >= 120;
        },
        undefined,
        { timeout: 30_000, polling: 'raf' },
      )
      .then(
        () => true,
        () => false,
      );
    if (midStream) await screenshot(page, artifacts, '2-chat-streaming');
    else console.log('    (no mid-stream screenshot: the reply finished before one could be taken)');
    const reply = await waitForReply(frame, 1, 90_000);
    timings.chatReply = since(t);
    await screenshot(page, artifacts, '2-chat-reply');

    assert.strictEqual(reply.question, question, 'the user turn shown above the reply');
    assert.ok(!reply.failed, `the reply ended with an error: ${reply.footer}`);
    assert.ok(reply.text.trim().length > 0, 'the reply is empty');
    const stats = /(\d+) tokens · ([\d.]+) tokens\/s/.exec(reply.footer);
    assert.ok(stats, `the reply's footer should show token stats; it shows "${reply.footer}"`);
    assert.ok(Number(stats[1]) >= 2 && Number(stats[1]) <= 160, `generated ${stats[1]} tokens; chat.maxTokens is 160`);
    const problem = streamingProblem(reply);
    assert.strictEqual(problem, undefined, problem);
    console.log(
      `    chat reply: ${stats[1]} tokens, ${reply.text.length} characters, seen at ${new Set(reply.samples.map((x) => x.length)).size} lengths while streaming`,
    );
  });

  it('3. runs "Qwen Local: Explain Code" from the command palette on a selection, answered in the chat', async function () {
    const page = workbench().page;
    await openFile(page, sourceFile);
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+ArrowDown');
    const frame = await webviewFrame(page, '#prompt', 10_000);
    await recordReplies(frame);
    const t = Date.now();
    await runCommand(page, 'Qwen Local: Explain Code');
    const reply = await waitForReply(frame, 2, 90_000);
    timings.explain = since(t);
    await screenshot(page, artifacts, '3-explain');

    // The action names itself and the selected lines (1 to 3: the selection ends at the start of line 3).
    assert.strictEqual(reply.question, `Explain: ${sourceFile}:1-3`, 'the user turn the action adds to the chat');
    assert.ok(!reply.failed, `the explanation ended with an error: ${reply.footer}`);
    assert.ok(reply.text.trim().length > 0, 'the explanation is empty');
    assert.match(reply.footer, /\d+ tokens · [\d.]+ tokens\/s/, `the explanation's footer shows no token stats: "${reply.footer}"`);
  });

  it('4. runs "Qwen Local: Fix Code" on a selection: a diff to accept, which writes it, and one Undo reverts it', async function () {
    const page = workbench().page;
    const file = path.join(workbench().workspace, sourceFile);
    const before = fs.readFileSync(file, 'utf8');
    // The selection: the first two lines, ending at the start of line 3.
    const selected = before.split('\n').slice(0, 2).join('\n') + '\n';
    const untouched = before.slice(selected.length);
    await openFile(page, sourceFile);
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+ArrowDown');
    const t = Date.now();
    await runCommand(page, 'Qwen Local: Fix Code');
    const diffTab = page.locator('.tab.active[aria-label*="Fix (proposed)"]');
    await diffTab.waitFor({ timeout: 90_000 }).catch(async () => {
      const shown = await page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
      throw new Error(`no diff editor "… Fix (proposed)" opened; notifications: ${JSON.stringify(shown)}`);
    });
    timings.fixToDiff = since(t);
    const toast = await waitForNotification(page, /Fix — apply the proposed change to add\.py\?/, 10_000);
    const buttons = await notificationButtons(toast);
    assert.deepStrictEqual(
      buttons.filter((b) => b === 'Accept' || b === 'Reject'),
      ['Accept', 'Reject'],
      `the notification offers ${JSON.stringify(buttons)}`,
    );
    const acceptButton = toast.locator('.notification-list-item-buttons-container .monaco-button', { hasText: /^Accept$/ });
    await acceptButton.waitFor({ state: 'visible', timeout: 5_000 });
    await page.waitForTimeout(500); // the toast fades in; a picture taken at once shows it half-transparent
    await screenshot(page, artifacts, '4-fix-diff');

    // The left side is the file as it is; the right side the proposal, which changes the selected lines.
    const original = await diffEditorLines(page, 'original');
    const proposed = await diffEditorLines(page, 'modified');
    assert.strictEqual(
      original[0],
      selected.split('\n')[0],
      `the diff's left side should start with the file's first line; it shows ${JSON.stringify(original.slice(0, 3))}`,
    );
    assert.ok(proposed.length > 0, 'the diff shows no proposed text');
    assert.notDeepStrictEqual(proposed.slice(0, 2), original.slice(0, 2), 'the proposal does not change the selected lines');
    assert.strictEqual(fs.readFileSync(file, 'utf8'), before, 'the file changed before the proposal was accepted');

    await acceptButton.click();
    await diffTab.waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {
      throw new Error('the diff editor stayed open after Accept');
    });
    await openFile(page, sourceFile);
    await page.keyboard.press('Control+S');
    const deadline = Date.now() + 10_000;
    let after = before;
    while (after === before && Date.now() < deadline) {
      await page.waitForTimeout(100);
      after = fs.readFileSync(file, 'utf8');
    }
    await screenshot(page, artifacts, '4-fix-accepted');
    assert.notStrictEqual(after, before, 'Accept did not change the file');
    assert.ok(after.endsWith(untouched), 'Accept changed the file outside the selection');
    // What was written is what the diff showed: its first line, as Monaco rendered it (tabs
    // become spaces up to the next tab stop there, so runs of white space are compared as one).
    const written = after.slice(0, after.length - untouched.length);
    const words = (line: string) => line.replace(/\s+/g, ' ').trim();
    assert.strictEqual(words(written.split('\n')[0]), words(proposed[0]), "the first written line differs from the diff's first proposed line");

    // One edit: a single Undo brings the file back.
    await page.keyboard.press('Control+Z');
    await page.keyboard.press('Control+S');
    const undone = await waitForFileContent(file, before, 10_000);
    assert.strictEqual(undone, before, 'one Undo should revert the accepted proposal');
  });
});

// End-to-end: the workspace-aware chat in a real VS Code (code-server 4.99.4) with the packaged
// .vsix, driven from headless Chromium the way a user types:
//   1. "@file" in the chat input offers workspace files; choosing one shows a chip with its token
//      count; sending puts the file into the prompt the server sends, and the turn records it;
//   2. "@workspace" with a question: the language server's index retrieves the file that defines
//      what was asked about, the reply lists it, and the link opens it;
//   3. a reply with two fenced blocks naming two files gets "Apply All": the multi-file diff and a
//      per-file checklist; accepting writes both files, and one Undo reverts both.
// The replies come from a scripted OpenAI-compatible server on loopback through the extension's
// remote mode (qwenLocal.remoteUrl; see scripted-openai-server.ts for why): everything else — the
// webview, the extension, the language server's index, prompt fitting and the remote hop — is the
// product's real path, and the script records what reached it. Screenshots go to
// test-artifacts/e2e/workspace-chat-*.png.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame, Page } from 'playwright-core';
import { waitForReply } from './chat-view';
import { artifacts, useE2eWorkbench } from './e2e-session';
import { RecordedChat, ScriptedOpenAiServer, startScriptedOpenAiServer } from './scripted-openai-server';
import { openFile, runCommand, screenshot, webviewFrame } from './workbench-ui';

const files: Record<string, string> = {
  'src/calc.py': 'def add(a, b):\n    return a + b\n',
  'src/util.py': 'def slugify_title(title):\n    """Lower-case words joined by dashes."""\n    return "-".join(title.lower().split())\n',
  'src/billing/invoice.py':
    'def compute_invoice_total(lines, tax_rate):\n    """Sum quantity times price over the lines, then add the tax."""\n' +
    '    subtotal = sum(quantity * price for quantity, price in lines)\n    return round(subtotal * (1 + tax_rate), 2)\n',
  'src/report.py': 'def print_report(rows):\n    for row in rows:\n        print(row)\n',
  'README.md': '# Demo shop\n\nA tiny workspace for the chat tests.\n',
};

/** What the scripted server answers to the Apply All question: both files rewritten. */
const applyAllMarker = 'Rewrite calc and util';
const proposedCalc = 'def add(a: int, b: int) -> int:\n    return a + b\n';
const proposedUtil = 'def slugify_title(title: str) -> str:\n    return "-".join(title.lower().split())\n';
const applyAllReply =
  'Here are both files with type hints.\n\n' + '```python src/calc.py\n' + proposedCalc + '```\n\n' + '```python src/util.py\n' + proposedUtil + '```\n';

function scriptedReply(messages: RecordedChat['messages']): string {
  const last = messages[messages.length - 1]?.content ?? '';
  return last.includes(applyAllMarker) ? applyAllReply : 'A scripted answer about the code you sent.';
}

/** The text of the last user message of the newest chat request the scripted server received. */
function lastPrompt(remote: ScriptedOpenAiServer): string {
  const chat = remote.chats[remote.chats.length - 1];
  assert.ok(chat, 'the scripted server received no chat request');
  return chat.messages.filter((m) => m.role === 'user').pop()?.content ?? '';
}

async function waitForFileContent(file: string, expected: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = fs.readFileSync(file, 'utf8');
    if (now === expected || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The labels of the @-mention list, waiting until it shows one matching `want`. */
async function mentionChoices(frame: Frame, want: RegExp, timeoutMs: number): Promise<string[]> {
  try {
    await frame.waitForFunction(
      (source) => {
        const list = document.getElementById('mentions');
        return !!list && !list.hidden && Array.from(list.querySelectorAll('li')).some((li) => new RegExp(source).test(li.textContent ?? ''));
      },
      want.source,
      { timeout: timeoutMs, polling: 100 },
    );
  } catch {
    const shown = await frame.evaluate(() => {
      const list = document.getElementById('mentions');
      return list?.hidden
        ? '(hidden)'
        : Array.from(list?.querySelectorAll('li') ?? [])
            .map((li) => li.textContent)
            .join(' | ');
    });
    throw new Error(`the @-mention list never offered ${want}; it shows: ${shown}`);
  }
  return frame.evaluate(() => Array.from(document.querySelectorAll('#mentions li')).map((li) => li.textContent ?? ''));
}

/** The chips above the input, as their text ("src/util.py 23 tokens ×"). */
async function chipTexts(frame: Frame): Promise<string[]> {
  return frame.evaluate(() => Array.from(document.querySelectorAll('#chips .chip')).map((c) => (c.textContent ?? '').trim()));
}

async function waitForChips(frame: Frame, count: number): Promise<string[]> {
  await frame
    .waitForFunction((n) => document.querySelectorAll('#chips .chip').length === n, count, { timeout: 15_000, polling: 100 })
    .catch(async () => {
      throw new Error(`expected ${count} attachment chip(s); the view shows ${JSON.stringify(await chipTexts(frame))}`);
    });
  return chipTexts(frame);
}

/** Saves each file from its editor (Apply All edits them as an Undo-able, unsaved change). */
async function saveFiles(page: Page, relPaths: string[]): Promise<void> {
  for (const rel of relPaths) {
    const tab = page.locator(`.tab[aria-label^="${path.basename(rel)}"]`);
    if ((await tab.count()) > 0) {
      await tab.first().click();
      await page.locator(`.tab.active[aria-label^="${path.basename(rel)}"]`).waitFor({ timeout: 10_000 });
      await page.locator('.editor-group-container.active .monaco-editor .view-lines').click();
    } else await openFile(page, rel);
    await page.keyboard.press('Control+S');
  }
}

async function activeTabLabel(page: Page): Promise<string> {
  return (
    (await page
      .locator('.tab.active')
      .first()
      .getAttribute('aria-label')
      .catch(() => null)) ?? ''
  );
}

describe('end-to-end: @-mentions, @workspace and Apply All in code-server', function () {
  this.timeout(120_000);
  let remote: ScriptedOpenAiServer;
  let frame: Frame;
  const timings: Record<string, number> = {};

  // Registered before the workbench's hook, so the server is listening when the settings are written.
  before(async () => {
    remote = await startScriptedOpenAiServer(scriptedReply);
  });
  after(async () => {
    await remote?.close();
  });
  const workbench = useE2eWorkbench({
    artifactPrefix: 'workspace-chat-',
    ownsArtifact: (n) => n.startsWith('workspace-chat-'),
    files,
    chatMaxTokens: 200,
    timings,
    timingsLabel: 'workspace chat e2e',
    extraSettings: () => ({ 'qwenLocal.remoteUrl': remote.url }),
  });

  before(async function () {
    const page = workbench().page;
    await runCommand(page, 'Qwen Local: Open Chat');
    frame = await webviewFrame(page, '#prompt', 30_000);
    await frame
      .waitForFunction(
        () => {
          const s = document.getElementById('status');
          return !!s && !s.classList.contains('not-ready') && s.textContent !== 'Starting…';
        },
        undefined,
        { timeout: 30_000 },
      )
      .catch(async () => {
        throw new Error(`the chat view's status line never said ready: "${await frame.textContent('#status')}"`);
      });
    // Only what the @-mentions attach may reach the prompt, not the last editor's file (with no
    // editor open the box is disabled and nothing is included).
    if (await frame.isEnabled('#include-context')) await frame.uncheck('#include-context');
  });

  it('1. @file offers workspace files, shows a chip with its token count, and sends the file', async function () {
    const page = workbench().page;
    await frame.click('#prompt');
    await frame.type('#prompt', '@fi', { delay: 30 });
    const kinds = await mentionChoices(frame, /^@file/, 10_000);
    assert.ok(
      kinds.some((k) => k.startsWith('@file')),
      `typing "@fi" should offer @file; it offers ${JSON.stringify(kinds)}`,
    );
    await frame.press('#prompt', 'Enter');
    assert.strictEqual(await frame.inputValue('#prompt'), '@file ', 'choosing @file leaves "@file " to type a name after');
    await frame.type('#prompt', 'util', { delay: 30 });
    const offered = await mentionChoices(frame, /src\/util\.py/, 20_000);
    assert.ok(!offered.some((o) => o.includes('invoice.py')), `"util" should not offer invoice.py: ${JSON.stringify(offered)}`);
    await screenshot(page, artifacts, 'workspace-chat-1-file-list');
    const index = offered.findIndex((o) => o.includes('src/util.py'));
    for (let i = 0; i < index; i++) await frame.press('#prompt', 'ArrowDown');
    await frame.press('#prompt', 'Enter');

    const [chip] = await waitForChips(frame, 1);
    const tokens = /([\d,]+) tokens/.exec(chip);
    assert.ok(chip.startsWith('src/util.py'), `the chip should name the file; it shows "${chip}"`);
    assert.ok(tokens && Number(tokens[1].replace(/,/g, '')) > 0, `the chip should show the file's token count; it shows "${chip}"`);
    assert.strictEqual((await frame.inputValue('#prompt')).trim(), '', 'the typed mention is removed from the message');
    await screenshot(page, artifacts, 'workspace-chat-1-chip');

    const question = 'What does this file do?';
    await frame.type('#prompt', question);
    await frame.press('#prompt', 'Enter');
    const reply = await waitForReply(frame, 1, 60_000);
    assert.ok(!reply.failed, `the reply ended with an error: ${reply.footer}`);
    assert.strictEqual(reply.question, question);
    assert.deepStrictEqual(await chipTexts(frame), [], 'sending takes the chips');
    // The file reached the prompt the language server built, and the turn says it was attached.
    assert.ok(lastPrompt(remote).includes(files['src/util.py']), `the prompt sent lacks src/util.py:\n${lastPrompt(remote).slice(0, 1500)}`);
    const context = await frame.evaluate(() => {
      const users = document.querySelectorAll('#messages article.message.user');
      return users[users.length - 1]?.querySelector('.message-context')?.textContent ?? '';
    });
    assert.match(context, /with src\/util\.py/, `the user turn should record the attachment; its header says "${context}"`);
    await screenshot(page, artifacts, 'workspace-chat-1-sent');
  });

  it('2. @workspace answers with the retrieved files listed, and a listed file opens', async function () {
    const page = workbench().page;
    await frame.click('#prompt');
    await frame.type('#prompt', '@work', { delay: 30 });
    await mentionChoices(frame, /^@workspace/, 10_000);
    await frame.press('#prompt', 'Enter');
    const [chip] = await waitForChips(frame, 1);
    assert.match(chip, /^@workspace/, `the chip should say @workspace; it shows "${chip}"`);
    const question = 'Where is compute_invoice_total defined, and how is the tax applied?';
    await frame.type('#prompt', question);
    await frame.press('#prompt', 'Enter');
    const reply = await waitForReply(frame, 2, 60_000);
    assert.ok(!reply.failed, `the reply ended with an error: ${reply.footer}`);

    // Retrieval put the defining chunk into the prompt...
    const prompt = lastPrompt(remote);
    assert.ok(prompt.includes('subtotal * (1 + tax_rate)'), `the prompt lacks the retrieved invoice.py chunk:\n${prompt.slice(0, 1500)}`);
    // ...and the reply lists the file as a link.
    const links = await frame.evaluate(() => {
      const replies = document.querySelectorAll('#messages article.message.assistant');
      return Array.from(replies[replies.length - 1]?.querySelectorAll('.reply-sources .source-link') ?? []).map((a) => a.textContent ?? '');
    });
    assert.ok(
      links.some((l) => l.startsWith('src/billing/invoice.py:')),
      `the reply should list src/billing/invoice.py; it lists ${JSON.stringify(links)}`,
    );
    await screenshot(page, artifacts, 'workspace-chat-2-sources');

    await frame.locator('#messages article.message.assistant').last().locator('.source-link', { hasText: 'src/billing/invoice.py' }).first().click();
    await page
      .locator('.tab.active[aria-label^="invoice.py"]')
      .waitFor({ timeout: 15_000 })
      .catch(async () => {
        throw new Error(`clicking the source did not open invoice.py; the active tab is "${await activeTabLabel(page)}"`);
      });
  });

  it('3. Apply All reviews both files, applies them, and one Undo reverts both', async function () {
    const page = workbench().page;
    const root = workbench().workspace;
    const calc = path.join(root, 'src/calc.py');
    const util = path.join(root, 'src/util.py');
    await frame.click('#prompt');
    await frame.type('#prompt', `${applyAllMarker} with type hints.`);
    await frame.press('#prompt', 'Enter');
    const reply = await waitForReply(frame, 3, 60_000);
    assert.ok(!reply.failed, `the reply ended with an error: ${reply.footer}`);
    const button = frame.locator('#messages article.message.assistant').last().locator('button.apply-all');
    await button.waitFor({ timeout: 10_000 }).catch(() => {
      throw new Error('the reply naming two files has no Apply All button');
    });
    assert.strictEqual((await button.textContent())?.trim(), 'Apply All (2 files)');

    await button.click();
    // The review: VS Code's multi-file diff editor with both files, and the per-file checklist.
    const tab = page.locator('.tab.active[aria-label^="Qwen Local: Apply All"]');
    await tab.waitFor({ timeout: 15_000 }).catch(async () => {
      throw new Error(`no "Qwen Local: Apply All" review editor opened; the active tab is "${await activeTabLabel(page)}"`);
    });
    const picker = page.locator('.quick-input-widget');
    await picker.waitFor({ state: 'visible', timeout: 15_000 });
    const rows = page.locator('.quick-input-list .monaco-list-row');
    await rows.nth(1).waitFor({ timeout: 10_000 });
    const listed = await rows.allInnerTexts();
    assert.ok(
      listed.some((r) => r.includes('src/calc.py')) && listed.some((r) => r.includes('src/util.py')),
      `the checklist should list both files; it lists ${JSON.stringify(listed)}`,
    );
    const checked = await page.locator('.quick-input-list .monaco-list-row input[type="checkbox"]:checked').count();
    assert.strictEqual(checked, 2, 'both files start checked');
    // Monaco renders spaces as no-break spaces.
    const review = (await page.locator('.editor-group-container.active').innerText()).replace(/\u00a0/g, ' ');
    assert.ok(review.includes('calc.py') && review.includes('util.py'), `the multi-file diff should show both files; it shows:\n${review.slice(0, 800)}`);
    // Each file's diff: the current text against the proposal, not read as a rename.
    assert.ok(
      review.includes('def add(a: int, b: int) -> int:') && review.includes('def slugify_title(title: str) -> str:'),
      'the review shows the proposed lines',
    );
    assert.ok(!/proposed|original/.test(review), `the review's headers show internal paths:\n${review.slice(0, 800)}`);
    await screenshot(page, artifacts, 'workspace-chat-3-review');
    assert.strictEqual(fs.readFileSync(calc, 'utf8'), files['src/calc.py'], 'calc.py changed before the review was accepted');

    await page.locator('.quick-input-widget .quick-input-box input.input').press('Enter');
    await picker.waitFor({ state: 'hidden', timeout: 10_000 });
    await saveFiles(page, ['src/calc.py', 'src/util.py']);
    assert.strictEqual(await waitForFileContent(calc, proposedCalc, 10_000), proposedCalc, 'Apply All did not write src/calc.py');
    assert.strictEqual(await waitForFileContent(util, proposedUtil, 10_000), proposedUtil, 'Apply All did not write src/util.py');
    await screenshot(page, artifacts, 'workspace-chat-3-applied');

    // One Undo from either file reverts the whole edit. VS Code may first ask whether to undo in
    // both files (it does when not every file is visible); the files on disk decide either way.
    // Both files are open from saving them: switch by the tab (Quick Open can still be listing
    // the previous file when Enter lands).
    await page.locator('.tab[aria-label^="calc.py"]').click();
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').click();
    await page.keyboard.press('Control+Z');
    const everywhere = page.locator('.monaco-dialog-box .monaco-button', { hasText: /Undo in 2 Files/ });
    if (
      await everywhere.waitFor({ timeout: 3_000 }).then(
        () => true,
        () => false,
      )
    )
      await everywhere.click();
    await screenshot(page, artifacts, 'workspace-chat-3-undo');
    await saveFiles(page, ['src/calc.py', 'src/util.py']);
    assert.strictEqual(await waitForFileContent(calc, files['src/calc.py'], 10_000), files['src/calc.py'], 'one Undo did not restore src/calc.py');
    assert.strictEqual(await waitForFileContent(util, files['src/util.py'], 10_000), files['src/util.py'], 'one Undo did not restore src/util.py');
  });
});

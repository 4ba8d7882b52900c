// The chat view's HTML shell. Everything the page runs comes from dist/webview (chat.js, chat.css)
// through the webview's own resource URIs; the Content Security Policy allows nothing else: no
// inline script without the per-load nonce, no remote hosts, no frames, no forms, no plugins.
// Free of `vscode` so the webview test loads exactly this page in headless Chromium.
import { randomBytes } from 'crypto';

export interface ChatHtmlInput {
  /** webview.cspSource: the origin the webview serves local resources from. */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  nonce?: string;
}

/** 128 random bits, base64: a fresh nonce per page load so injected markup cannot guess it. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
    "connect-src 'none'",
    "frame-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join('; ');
}

const escapeAttribute = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function chatHtml(input: ChatHtmlInput): string {
  const nonce = input.nonce ?? makeNonce();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(contentSecurityPolicy(input.cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttribute(input.styleUri)}">
<title>Qwen Local Chat</title>
</head>
<body>
<header class="status" id="status" role="status" aria-live="polite">Starting…</header>
<main id="messages" class="messages" role="log" aria-live="polite" aria-label="Conversation"></main>
<section class="composer" aria-label="Write a message">
  <div class="composer-context">
    <label><input type="checkbox" id="include-context" checked> Include <span id="context-label">no editor context</span></label>
  </div>
  <div id="chips" class="chips" aria-label="Attachments"></div>
  <ul id="mentions" class="mentions" role="listbox" aria-label="Mentions" hidden></ul>
  <textarea id="prompt" rows="3" placeholder="Ask about your code; @ to attach files, symbols, problems, changes or @workspace (Enter to send)" aria-label="Message" aria-autocomplete="list" aria-controls="mentions"></textarea>
  <div class="composer-buttons">
    <button id="send" type="button" title="Send (Enter)">Send</button>
    <button id="stop" type="button" title="Stop generating (Escape)" hidden>Stop</button>
    <button id="regenerate" type="button" class="secondary" title="Generate the last reply again">Regenerate</button>
    <button id="new-chat" type="button" class="secondary" title="Start a new conversation">New chat</button>
  </div>
</section>
<script nonce="${escapeAttribute(nonce)}" src="${escapeAttribute(input.scriptUri)}"></script>
</body>
</html>`;
}

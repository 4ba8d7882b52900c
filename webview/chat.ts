// The chat view's page. It renders what the host sends (src/protocol/webview.ts), streams reply
// deltas into the last message (re-rendering its markdown at most once per animation frame), and
// posts the user's intents back: send, stop, regenerate, new chat, and copy / insert / apply for
// each code block. It never touches files or the clipboard itself; the host validates and acts.
import type { HostMessage, ReplyStats, ViewMessage, WebviewMessage } from '../src/protocol/webview';
import { renderMarkdown } from './markdown';

const vscode = acquireVsCodeApi<{ draft?: string; includeContext?: boolean }>();
const post = (message: WebviewMessage) => vscode.postMessage(message);

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`chat view: element #${id} is missing from the page`);
  return el as T;
}

const list = byId<HTMLElement>('messages');
const statusLine = byId<HTMLElement>('status');
const prompt = byId<HTMLTextAreaElement>('prompt');
const sendButton = byId<HTMLButtonElement>('send');
const stopButton = byId<HTMLButtonElement>('stop');
const regenerateButton = byId<HTMLButtonElement>('regenerate');
const newChatButton = byId<HTMLButtonElement>('new-chat');
const includeContext = byId<HTMLInputElement>('include-context');
const contextLabel = byId<HTMLElement>('context-label');

interface Shown {
  message: ViewMessage;
  body: HTMLElement;
  footer: HTMLElement;
  dirty: boolean;
}
const shown = new Map<string, Shown>();
let busy = false;
let frameRequested = false;

// ---- rendering --------------------------------------------------------------------------------

function renderBody(item: Shown): void {
  if (item.message.role === 'user') {
    // The user's own words are shown as typed: plain text, no markdown surprises.
    item.body.textContent = item.message.text;
  } else {
    item.body.innerHTML = renderMarkdown(item.message.text);
    addCodeToolbars(item.body);
  }
  item.body.classList.toggle('streaming', item.message.streaming === true);
  // Screen readers wait for the finished reply instead of reading every re-render.
  item.body.parentElement?.setAttribute('aria-busy', String(item.message.streaming === true));
}

/** Gives every code block its Copy / Insert / Apply buttons (made here, after sanitizing). */
function addCodeToolbars(body: HTMLElement): void {
  for (const pre of Array.from(body.querySelectorAll('pre'))) {
    const bar = document.createElement('div');
    bar.className = 'code-toolbar';
    // The fence's language survives sanitizing as the code element's `language-*` class.
    const lang = /(?:^|\s)language-([\w#+.-]+)/.exec(pre.querySelector('code')?.className ?? '')?.[1];
    if (lang) {
      const tag = document.createElement('span');
      tag.className = 'code-lang';
      tag.textContent = lang;
      bar.append(tag);
    }
    for (const [action, label, title] of [
      ['copy', 'Copy', 'Copy the code to the clipboard'],
      ['insert', 'Insert', 'Insert the code at the cursor in the editor'],
      ['apply', 'Apply', 'Replace the selection (or file) with this code, shown as a diff first'],
    ] as const) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'code-action';
      button.dataset.action = action;
      button.textContent = label;
      button.title = title;
      bar.append(button);
    }
    pre.before(bar);
  }
}

function renderFooter(item: Shown, stats?: ReplyStats): void {
  item.footer.replaceChildren();
  if (item.message.error) {
    const err = document.createElement('span');
    err.className = item.message.error === 'stopped' ? 'note' : 'error';
    err.textContent = item.message.error === 'stopped' ? 'Stopped.' : `Error: ${item.message.error}`;
    item.footer.append(err);
  }
  if (stats && stats.generatedTokens > 0) {
    const s = document.createElement('span');
    s.className = 'note';
    s.textContent = `${stats.generatedTokens} tokens · ${stats.tokensPerSecond.toFixed(1)} tokens/s`;
    item.footer.append(s);
  }
  if (item.message.role === 'assistant' && !item.message.streaming && item.message.text !== '') {
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.className = 'message-action';
    copy.dataset.action = 'copy-message';
    copy.textContent = 'Copy reply';
    item.footer.append(copy);
  }
}

function appendMessage(message: ViewMessage): void {
  const article = document.createElement('article');
  article.className = `message ${message.role}`;
  article.dataset.id = message.id;
  const header = document.createElement('div');
  header.className = 'message-header';
  header.textContent = message.role === 'user' ? 'You' : 'Qwen';
  if (message.contextLabel) {
    const ctx = document.createElement('span');
    ctx.className = 'message-context';
    ctx.textContent = ` · with ${message.contextLabel}`;
    header.append(ctx);
  }
  const body = document.createElement('div');
  body.className = 'message-body';
  const footer = document.createElement('div');
  footer.className = 'message-footer';
  article.append(header, body, footer);
  list.append(article);
  const item: Shown = { message: { ...message }, body, footer, dirty: false };
  shown.set(message.id, item);
  renderBody(item);
  renderFooter(item);
  scrollToEnd();
}

function scrollToEnd(): void {
  list.scrollTop = list.scrollHeight;
}

// Deltas can arrive hundreds of times a second; re-rendering the markdown on each would be
// quadratic work for the page. Mark the message dirty and render once per frame instead.
function scheduleRender(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(flushRender);
}

function flushRender(): void {
  frameRequested = false;
  for (const item of shown.values()) {
    if (!item.dirty) continue;
    item.dirty = false;
    renderBody(item);
  }
  scrollToEnd();
}

function setBusy(value: boolean): void {
  busy = value;
  sendButton.hidden = value;
  stopButton.hidden = !value;
  regenerateButton.disabled = value || !Array.from(shown.values()).some((s) => s.message.role === 'user');
  // Keep keyboard focus useful: the Stop button replaces Send while a reply streams.
  if (value && document.activeElement === sendButton) stopButton.focus();
  if (!value && document.activeElement === stopButton) prompt.focus();
}

// ---- host messages ----------------------------------------------------------------------------

function onHostMessage(message: HostMessage): void {
  switch (message.type) {
    case 'state':
      list.replaceChildren();
      shown.clear();
      message.messages.forEach(appendMessage);
      setContext(message.contextLabel);
      setBusy(message.busy);
      return;
    case 'append':
      appendMessage(message.message);
      if (message.message.streaming) setBusy(true);
      return;
    case 'delta': {
      const item = shown.get(message.id);
      if (!item) return;
      item.message.text += message.text;
      item.dirty = true;
      scheduleRender();
      return;
    }
    case 'done': {
      const item = shown.get(message.id);
      if (item) {
        item.message.streaming = false;
        item.message.error = message.error;
        item.dirty = false;
        renderBody(item);
        renderFooter(item, message.stats);
        // The footer (stats, or why the reply ended) is new content at the bottom: keep it in view.
        scrollToEnd();
      }
      setBusy(false);
      return;
    }
    case 'context':
      setContext(message.label);
      return;
    case 'status':
      statusLine.textContent = message.label;
      statusLine.classList.toggle('not-ready', !message.ready);
      return;
    case 'focusInput':
      prompt.focus();
      return;
  }
}

function setContext(label: string | null): void {
  contextLabel.textContent = label ?? 'no editor context';
  includeContext.disabled = label === null;
}

const hostTypes = new Set<string>(['state', 'append', 'delta', 'done', 'context', 'status', 'focusInput']);
window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const data = event.data as { type?: unknown } | null;
  if (typeof data !== 'object' || data === null || typeof data.type !== 'string' || !hostTypes.has(data.type)) return;
  onHostMessage(data as HostMessage);
});

// ---- user input -------------------------------------------------------------------------------

function send(): void {
  const text = prompt.value.trim();
  if (text === '' || busy) return;
  post({ type: 'send', text, includeContext: includeContext.checked && !includeContext.disabled });
  prompt.value = '';
  saveDraft();
}

function saveDraft(): void {
  vscode.setState({ draft: prompt.value, includeContext: includeContext.checked });
}

prompt.addEventListener('keydown', (e) => {
  // Enter sends; Shift+Enter inserts a newline; Enter while an IME is composing belongs to the IME.
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send();
  }
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && busy) {
    e.preventDefault();
    post({ type: 'stop' });
  }
});
prompt.addEventListener('input', saveDraft);
includeContext.addEventListener('change', saveDraft);
sendButton.addEventListener('click', send);
stopButton.addEventListener('click', () => post({ type: 'stop' }));
regenerateButton.addEventListener('click', () => post({ type: 'regenerate' }));
newChatButton.addEventListener('click', () => post({ type: 'newChat' }));

// One listener for every button inside messages, including those re-created while streaming.
list.addEventListener('click', (e) => {
  const button = (e.target as Element | null)?.closest('button[data-action]') as HTMLButtonElement | null;
  if (!button) return;
  const action = button.dataset.action;
  if (action === 'copy-message') {
    const id = button.closest('article')?.getAttribute('data-id');
    const item = id ? shown.get(id) : undefined;
    if (item) post({ type: 'copy', text: item.message.text });
    return;
  }
  const code = button.parentElement?.nextElementSibling?.querySelector('code')?.textContent ?? '';
  if (action === 'copy') post({ type: 'copy', text: code });
  else if (action === 'insert') post({ type: 'insert', code });
  else if (action === 'apply') post({ type: 'apply', code });
});

const saved = vscode.getState();
if (saved?.draft) prompt.value = saved.draft;
if (saved?.includeContext === false) includeContext.checked = false;
setBusy(false);
post({ type: 'ready' });

// The chat view's page. It renders what the host sends (src/protocol/webview.ts), streams reply
// deltas into the last message (re-rendering its markdown at most once per animation frame), and
// posts the user's intents back: send, stop, regenerate, new chat, and copy / insert / apply for
// each code block. It never touches files or the clipboard itself; the host validates and acts.
import type { AttachmentChip, HostMessage, MentionItem, MentionKind, ReplyStats, SourceLink, ViewMessage, WebviewMessage } from '../src/protocol/webview';
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
const chipList = byId<HTMLElement>('chips');
const mentionList = byId<HTMLUListElement>('mentions');

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
  if (item.message.sources?.length) item.footer.append(sourceLinks(item.message.sources));
  for (const notice of item.message.notices ?? []) {
    const n = document.createElement('span');
    n.className = 'note notice';
    n.textContent = notice;
    item.footer.append(n);
  }
  if (stats && stats.generatedTokens > 0) {
    const s = document.createElement('span');
    s.className = 'note';
    s.textContent = `${stats.generatedTokens} tokens · ${stats.tokensPerSecond.toFixed(1)} tokens/s`;
    item.footer.append(s);
  }
  if (item.message.applyFiles?.length && !item.message.streaming) {
    const apply = document.createElement('button');
    apply.type = 'button';
    apply.className = 'message-action apply-all';
    apply.dataset.action = 'apply-all';
    apply.textContent = `Apply All (${item.message.applyFiles.length} file${item.message.applyFiles.length === 1 ? '' : 's'})`;
    apply.title = `Review the changes to ${item.message.applyFiles.join(', ')} and apply them in one step`;
    item.footer.append(apply);
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
  const attached = [...(message.contextLabel ? [message.contextLabel] : []), ...(message.attachments ?? [])];
  if (attached.length > 0) {
    const ctx = document.createElement('span');
    ctx.className = 'message-context';
    ctx.textContent = ` · with ${attached.join(', ')}`;
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

/** "Used: a.ts:1-20, b.ts:5-9" as links that ask the host to open each file at its lines. */
function sourceLinks(sources: SourceLink[]): HTMLElement {
  const box = document.createElement('div');
  box.className = 'reply-sources note';
  box.append('Workspace files used:');
  for (const src of sources) {
    const link = document.createElement('button');
    link.type = 'button';
    link.className = 'source-link';
    link.dataset.action = 'open-source';
    link.dataset.uri = src.uri;
    link.dataset.line = String(src.startLine);
    link.textContent = `${src.path}:${src.startLine}-${src.endLine}`;
    box.append(link);
  }
  return box;
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
    case 'mentionItems':
      if (mention && mention.kind === message.kind && mention.query === message.query) showMentionItems(message.items);
      return;
    case 'attachments':
      renderChips(message.chips);
      return;
    case 'replyContext': {
      const item = shown.get(message.id);
      if (!item) return;
      item.message.sources = message.sources;
      item.message.notices = message.notices;
      item.message.applyFiles = message.applyFiles;
      renderFooter(item);
      return;
    }
  }
}

// ---- @-mentions ---------------------------------------------------------------------------------

const kindHelp: Record<MentionKind, string> = {
  file: 'a file of the workspace',
  symbol: 'a function, class or other symbol',
  selection: 'the selection in the editor',
  problems: 'the problems (diagnostics) of the current file',
  changes: 'the uncommitted changes (git diff)',
  workspace: 'search the workspace for this question',
};
const kinds = Object.keys(kindHelp) as MentionKind[];

/** The mention being typed: "@fi" (choosing a kind) or "@file que" (choosing an item). */
let mention: { start: number; kind?: MentionKind; query: string } | undefined;
let choices: { label: string; detail: string; pick: () => void }[] = [];
let chosen = 0;

function currentMention(): typeof mention {
  const before = prompt.value.slice(0, prompt.selectionStart ?? prompt.value.length);
  const item = /(?:^|\s)@(file|symbol) ([^\n@]*)$/.exec(before);
  if (item) return { start: before.length - item[0].trimStart().length, kind: item[1] as MentionKind, query: item[2] };
  const kind = /(?:^|\s)@([a-z]*)$/.exec(before);
  if (kind) return { start: before.length - kind[1].length - 1, query: kind[1] };
  return undefined;
}

function onPromptInput(): void {
  mention = currentMention();
  if (!mention) return hideMentions();
  if (!mention.kind) {
    const m = mention;
    showChoices(kinds.filter((k) => k.startsWith(m.query)).map((k) => ({ label: `@${k}`, detail: kindHelp[k], pick: () => pickKind(k) })));
    return;
  }
  post({ type: 'mentionQuery', kind: mention.kind, query: mention.query });
}

function pickKind(kind: MentionKind): void {
  if (!mention) return;
  if (kind === 'file' || kind === 'symbol') {
    replaceMention(`@${kind} `);
    onPromptInput();
    return;
  }
  replaceMention('');
  post({ type: 'attach', kind, id: '' });
  hideMentions();
}

function showMentionItems(items: MentionItem[]): void {
  const kind = mention?.kind;
  if (!kind) return;
  showChoices(
    items.map((i) => ({
      label: i.label,
      detail: i.detail,
      pick: () => {
        replaceMention('');
        post({ type: 'attach', kind, id: i.id });
        hideMentions();
      },
    })),
  );
}

/** Replaces the typed mention (from its "@" to the caret) with `text`. */
function replaceMention(text: string): void {
  if (!mention) return;
  const caret = prompt.selectionStart ?? prompt.value.length;
  prompt.value = prompt.value.slice(0, mention.start) + text + prompt.value.slice(caret);
  const at = mention.start + text.length;
  prompt.setSelectionRange(at, at);
  saveDraft();
}

function showChoices(list: typeof choices): void {
  choices = list;
  chosen = 0;
  mentionList.replaceChildren();
  list.forEach((c, i) => {
    const li = document.createElement('li');
    li.setAttribute('role', 'option');
    li.id = `mention-${i}`;
    const label = document.createElement('span');
    label.textContent = c.label;
    const detail = document.createElement('span');
    detail.className = 'mention-detail';
    detail.textContent = c.detail;
    li.append(label, detail);
    li.addEventListener('mousedown', (e) => {
      e.preventDefault();
      c.pick();
    });
    mentionList.append(li);
  });
  mentionList.hidden = list.length === 0;
  highlightChoice();
}

function highlightChoice(): void {
  Array.from(mentionList.children).forEach((li, i) => li.setAttribute('aria-selected', String(i === chosen)));
  if (choices.length > 0) prompt.setAttribute('aria-activedescendant', `mention-${chosen}`);
  else prompt.removeAttribute('aria-activedescendant');
}

function hideMentions(): void {
  mention = undefined;
  choices = [];
  mentionList.hidden = true;
  mentionList.replaceChildren();
  prompt.removeAttribute('aria-activedescendant');
}

function renderChips(chips: AttachmentChip[]): void {
  chipList.replaceChildren();
  for (const chip of chips) {
    const el = document.createElement('span');
    el.className = 'chip';
    el.dataset.id = chip.id;
    const label = document.createElement('span');
    label.textContent = chip.label;
    el.append(label);
    if (chip.kind !== 'workspace') {
      const tokens = document.createElement('span');
      tokens.className = 'chip-tokens';
      tokens.textContent = `${chip.tokens.toLocaleString('en-US')} tokens`;
      el.append(tokens);
    }
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'chip-remove';
    remove.title = `Remove ${chip.label}`;
    remove.setAttribute('aria-label', `Remove ${chip.label}`);
    remove.textContent = '×';
    remove.addEventListener('click', () => post({ type: 'detach', id: chip.id }));
    el.append(remove);
    chipList.append(el);
  }
}

function setContext(label: string | null): void {
  contextLabel.textContent = label ?? 'no editor context';
  includeContext.disabled = label === null;
}

const hostTypes = new Set<string>(['state', 'append', 'delta', 'done', 'context', 'status', 'focusInput', 'mentionItems', 'attachments', 'replyContext']);
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
  // While the mention list is open, arrows move in it and Enter/Tab pick; Escape closes it.
  if (!mentionList.hidden && choices.length > 0) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      chosen = (chosen + (e.key === 'ArrowDown' ? 1 : choices.length - 1)) % choices.length;
      highlightChoice();
      return;
    }
    if ((e.key === 'Enter' || e.key === 'Tab') && !e.isComposing) {
      e.preventDefault();
      choices[chosen].pick();
      return;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      hideMentions();
      return;
    }
  }
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
prompt.addEventListener('input', () => {
  saveDraft();
  onPromptInput();
});
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
  if (action === 'open-source') {
    post({ type: 'openSource', uri: button.dataset.uri ?? '', line: Number(button.dataset.line) || 1 });
    return;
  }
  if (action === 'apply-all') {
    const id = button.closest('article')?.getAttribute('data-id');
    if (id) post({ type: 'applyAll', id });
    return;
  }
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

// Ghost-text completions. For each request VS Code makes (every keystroke, each with its own
// cancellation token that fires on the next keystroke) we:
//   1. answer at once from the cache when the user typed through or undid back to a suggestion,
//   2. skip automatic requests where a completion is unlikely to help (mid-word, mid-line edits),
//   3. wait the adaptive debounce delay, giving up if another keystroke cancels us,
//   4. send the standard textDocument/inlineCompletion request (cancelled with the token, so the
//      server aborts the prefill/decode too), then clean up the text and remember it.
// Accepting a whole suggestion, the next word or the next line is VS Code's own behaviour; a partial
// accept looks to us like typing through, which the cache answers. Accepting a whole suggestion runs
// the item's command, which prefetches the next one (accepted-prefetch.ts) into the same cache.
import * as vscode from 'vscode';
import { InlineCompletionRequest, InlineCompletionTriggerKind } from 'vscode-languageclient/node';
import type { InlineCompletionItem as LspItem, InlineCompletionList as LspList } from 'vscode-languageclient/node';
import type { ServerState } from '../protocol';
import type { PrefetchCompletionParams } from '../protocol';
import { Requests } from '../protocol/messages';
import type { EditorCursor } from './accepted-prefetch';
import type { ServerConnection } from './client';
import { CompletionCache, CursorText } from './completion-cache';
import { inlineSuggestEnabled } from './config';
import type { ExtensionSettings } from './config';
import { DebouncePolicy, waitUnlessCancelled } from './debounce-policy';
import { shouldRequestAutomatically } from './auto-trigger';

/** The command a shown suggestion runs when it is accepted whole. */
export const suggestionAcceptedCommand = 'qwenLocal.suggestionAccepted';

export class QwenInlineCompletionProvider implements vscode.InlineCompletionItemProvider {
  readonly cache = new CompletionCache();

  constructor(
    private readonly server: ServerConnection,
    private readonly settings: () => ExtensionSettings,
    private readonly debounce: DebouncePolicy,
    private readonly log: vscode.LogOutputChannel,
    /** The server's last reported state: no request is worth sending without a model. */
    private readonly serverState: () => ServerState,
  ) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const s = this.settings();
    this.log.trace(
      `Inline completion asked at ${position.line + 1}:${position.character + 1} (${context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke ? 'invoked' : 'automatic'})`,
    );
    if (!s.completionEnabled || s.disabledLanguages.has(document.languageId) || !inlineSuggestEnabled(document)) {
      this.log.trace('Inline completion skipped: completions are off for this document');
      return undefined;
    }
    const offset = document.offsetAt(position);
    const text = document.getText();
    const at: CursorText = {
      documentKey: `${document.uri.toString()}#${document.languageId}`,
      prefix: text.slice(0, offset),
      suffix: text.slice(offset),
    };

    const hit = this.cache.lookup(at, Date.now());
    if (hit) {
      const range = new vscode.Range(position, position.translate(0, hit.replaceChars));
      return [this.item(hit.remaining, range)];
    }
    const state = this.serverState();
    if (!this.server.running || state === 'noModel' || state === 'error') {
      this.log.trace(`Inline completion skipped: the server is ${this.server.running ? state : 'not running'}`);
      return undefined;
    }

    const line = document.lineAt(position.line).text;
    const linePrefix = line.slice(0, position.character);
    const lineSuffix = line.slice(position.character);
    const explicit = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    if (!explicit && !shouldRequestAutomatically(linePrefix, lineSuffix)) {
      this.log.trace('Inline completion skipped: the cursor is mid-word or mid-line');
      return undefined;
    }
    if (!explicit) {
      const waited = await waitUnlessCancelled(this.debounce.delayMs(), (listener) => token.onCancellationRequested(listener));
      if (!waited) return undefined;
    }

    const started = Date.now();
    let result: LspList | LspItem[] | null;
    try {
      result = await this.server.request(
        InlineCompletionRequest.type,
        {
          textDocument: { uri: document.uri.toString() },
          position: { line: position.line, character: position.character },
          context: { triggerKind: explicit ? InlineCompletionTriggerKind.Invoked : InlineCompletionTriggerKind.Automatic },
        },
        token,
      );
    } catch (e) {
      // A cancelled request rejects too; only other failures are worth a log line.
      if (!token.isCancellationRequested) this.log.warn(`Inline completion failed: ${(e as Error).message}`);
      return undefined;
    }
    this.debounce.recordLatency(Date.now() - started);
    if (token.isCancellationRequested || !result) return undefined;

    const items = Array.isArray(result) ? result : result.items;
    const shown: vscode.InlineCompletionItem[] = [];
    for (const item of items) {
      const completion = this.completionAtCursor(document, position, item);
      // The server has cleaned the text up already (its post-process.ts); blank means nothing to show.
      if (completion === undefined || completion.trim() === '') continue;
      if (shown.length === 0) this.cache.store(at, completion, Date.now());
      shown.push(this.item(completion, new vscode.Range(position, position)));
    }
    this.log.trace(`Inline completion: ${shown.length} item(s) in ${Date.now() - started} ms (${JSON.stringify(this.debounce.snapshot())})`);
    return shown;
  }

  private item(text: string, range: vscode.Range): vscode.InlineCompletionItem {
    const item = new vscode.InlineCompletionItem(text, range);
    item.command = { command: suggestionAcceptedCommand, title: 'Prefetch the next suggestion' };
    return item;
  }

  /** Whether completions (and so prefetches) apply to this document. */
  enabledFor(document: vscode.TextDocument): boolean {
    const s = this.settings();
    return s.completionEnabled && !s.disabledLanguages.has(document.languageId) && inlineSuggestEnabled(document);
  }

  /**
   * qwen/prefetchCompletion at `at`: the server computes it at background priority; the answer is
   * cleaned up like a shown suggestion ('' when there is none).
   */
  async prefetch(at: EditorCursor, signal: AbortSignal): Promise<string> {
    if (!this.server.running) return '';
    const source = new vscode.CancellationTokenSource();
    if (signal.aborted) source.cancel();
    else signal.addEventListener('abort', () => source.cancel(), { once: true });
    const params: PrefetchCompletionParams = { textDocument: { uri: at.uri, version: at.version }, position: { line: at.line, character: at.character } };
    try {
      const items = await this.server.request(Requests.prefetchCompletion, params, source.token);
      // The server answers at the position asked (its items' ranges are empty, at the cursor).
      const first = items?.[0];
      if (!first || signal.aborted) return '';
      // The server has cleaned the text up already (its post-process.ts), as for a shown suggestion.
      return typeof first.insertText === 'string' ? first.insertText : first.insertText.value;
    } catch (e) {
      if (!signal.aborted) this.log.trace(`Prefetch failed: ${(e as Error).message}`);
      return '';
    } finally {
      source.dispose();
    }
  }

  /** The editor's cursor as the cache and the prefetch see it. */
  static cursorOf(editor: vscode.TextEditor): EditorCursor {
    const document = editor.document;
    const position = editor.selection.active;
    const offset = document.offsetAt(position);
    const text = document.getText();
    return {
      documentKey: `${document.uri.toString()}#${document.languageId}`,
      uri: document.uri.toString(),
      version: document.version,
      line: position.line,
      character: position.character,
      prefix: text.slice(0, offset),
      suffix: text.slice(offset),
    };
  }

  /**
   * The text a server item inserts at the cursor. Items usually have no range (insert at the
   * cursor); an item whose range starts earlier on the line must repeat the text it replaces, and
   * we keep only what comes after the cursor. Snippet items are used as plain text.
   */
  private completionAtCursor(document: vscode.TextDocument, position: vscode.Position, item: LspItem): string | undefined {
    const insert = typeof item.insertText === 'string' ? item.insertText : item.insertText.value;
    if (!item.range) return insert;
    const start = new vscode.Position(item.range.start.line, item.range.start.character);
    if (start.isEqual(position)) return insert;
    if (start.line !== position.line || start.isAfter(position)) return undefined;
    const replaced = document.getText(new vscode.Range(start, position));
    return insert.startsWith(replaced) ? insert.slice(replaced.length) : undefined;
  }

  /** Forget suggestions for a document whose text was replaced wholesale (reload from disk). */
  forget(document: vscode.TextDocument): void {
    this.cache.forgetDocument(`${document.uri.toString()}#${document.languageId}`);
  }
}

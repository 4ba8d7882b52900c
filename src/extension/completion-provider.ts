// Ghost-text completions. For each request VS Code makes (every keystroke, each with its own
// cancellation token that fires on the next keystroke) we:
//   1. answer at once from the cache when the user typed through or undid back to a suggestion,
//   2. skip automatic requests where a completion is unlikely to help (mid-word, mid-line edits),
//   3. wait the adaptive debounce delay, giving up if another keystroke cancels us,
//   4. send the standard textDocument/inlineCompletion request (cancelled with the token, so the
//      server aborts the prefill/decode too), then clean up the text and remember it.
// Accepting a whole suggestion, the next word or the next line is VS Code's own behaviour; a partial
// accept looks to us like typing through, which the cache answers.
import * as vscode from 'vscode';
import { InlineCompletionRequest, InlineCompletionTriggerKind } from 'vscode-languageclient/node';
import type { InlineCompletionItem as LspItem, InlineCompletionList as LspList } from 'vscode-languageclient/node';
import type { ServerState } from '../protocol';
import type { ServerConnection } from './client';
import { CompletionCache, CursorText } from './completion-cache';
import { inlineSuggestEnabled } from './config';
import type { ExtensionSettings } from './config';
import { DebouncePolicy, waitUnlessCancelled } from './debounce-policy';
import { shouldRequestAutomatically } from './auto-trigger';

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
    this.log.trace(`Inline completion asked at ${position.line + 1}:${position.character + 1} (${context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke ? 'invoked' : 'automatic'})`);
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
      return [new vscode.InlineCompletionItem(hit.remaining, range)];
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
      shown.push(new vscode.InlineCompletionItem(completion, new vscode.Range(position, position)));
    }
    this.log.trace(`Inline completion: ${shown.length} item(s) in ${Date.now() - started} ms (${JSON.stringify(this.debounce.snapshot())})`);
    return shown;
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

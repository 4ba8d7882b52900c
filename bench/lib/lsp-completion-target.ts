// Our language server as a typing-replay target: one document over LSP (didOpen, incremental
// didChange, textDocument/inlineCompletion), the token counts from the stats the server attaches
// to the item or, when it shows nothing, from qwen/lastCompletionStats.
import type { CompletionStats } from '../../src/protocol';
import { items, LspTestClient } from '../../test/server/lsp-client';
import type { CompletionAnswer, CompletionTarget } from './typing-replay';

/** The last stats read from each server, to tell a fresh qwen/lastCompletionStats answer from a stale one. */
const lastStatsSeen = new WeakMap<LspTestClient, string>();

export class LspCompletionTarget implements CompletionTarget {
  constructor(
    readonly client: LspTestClient,
    readonly uri: string,
    private readonly languageId = 'javascript',
  ) {}

  async open(text: string): Promise<void> {
    this.client.open(this.uri, text, this.languageId);
  }

  insert(offset: number, text: string): void {
    this.client.insert(this.uri, offset, text);
  }

  async complete(offset: number): Promise<CompletionAnswer> {
    const shown = items(await this.client.complete(this.uri, offset));
    const stats: CompletionStats | null = shown[0]?.qwenStats ?? (await this.client.lastStats());
    // lastCompletionStats keeps the previous request's stats when this one never reached the engine.
    const key = stats ? JSON.stringify(stats) : null;
    if (!stats || key === lastStatsSeen.get(this.client)) {
      throw new Error(`${this.uri} at offset ${offset}: the server answered without running a completion (no new stats)`);
    }
    lastStatsSeen.set(this.client, key!);
    return {
      text: shown[0]?.insertText ?? '',
      promptTokens: stats.promptTokens,
      cachedTokens: stats.cachedTokens,
      evaluatedTokens: stats.evaluatedTokens,
      generatedTokens: stats.generatedTokens,
      prefillMs: stats.prefillMs,
      stopReason: stats.stopReason,
      window: stats.window,
    };
  }

  /** What the extension sends when the file is opened or the cursor put somewhere: warm the cache there. */
  warm(offset: number): Promise<void> {
    return this.client.warm(this.uri, offset);
  }

  /** Closes the document (so it stops being context for other documents). */
  close(): Promise<void> {
    return this.client.conn.sendNotification('textDocument/didClose', { textDocument: { uri: this.uri } });
  }
}

// textDocument/inlineCompletion: builds the FIM prompt for the cursor, runs it on the completion
// slot that already holds the longest part of it, stops early when the completion leaves its
// block or runs out of time, and post-processes the text.
//
// Cancellation comes from three places, all aborting the same generate() call (which stops within
// one micro-batch or token): the client's $/cancelRequest, a newer completion request for the same
// document (the older one is no longer wanted), and the time budget (then what was generated so
// far is returned).
import type { CancellationToken, InlineCompletionItem, InlineCompletionParams } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { CompletionStats, FimPromptLayout, QwenInlineCompletionItemExtras } from '../../protocol';
import { asResponseError, invalidParams, promptTooLongError, unknownDocumentError } from '../errors';
import type { LoadedModel, ModelHost } from '../model-host';
import { AbortFan, AbortReasons, isAbortError } from '../scheduler/abort';
import { RequestOutcome, RequestTally } from '../request-counters';
import type { EffectiveSettings } from '../settings';
import type { WorkspacePaths } from '../workspace-paths';
import type { CompletionContextStore, OpenDocumentView } from './context-store';
import { FimPromptBuilder } from './fim-prompt';
import { remoteBackendFor, RemoteBackend } from '../../openai/remote-backend';
import { completeRemotely } from './remote-completion';
import { CursorContext, cutCompletion, postProcessCompletion } from './post-process';

export interface CompletionDeps {
  host: ModelHost;
  settings: () => EffectiveSettings;
  document: (uri: string) => TextDocument | undefined;
  openDocuments: () => OpenDocumentView[];
  paths: WorkspacePaths;
  context: CompletionContextStore;
}

/** How many finished completions' stats qwen/debugStats shows. */
const RECENT_STATS = 32;

export type QwenInlineCompletionItem = InlineCompletionItem & QwenInlineCompletionItemExtras;

export class CompletionService {
  private readonly inFlight = new Map<string, AbortFan>();
  private readonly prefixStarts = new Map<string, number>();
  private builder: { model: LoadedModel['model']; builder: FimPromptBuilder } | null = null;
  lastStats: CompletionStats | null = null;
  /** Token layout (and ids) of the last FIM prompt, for qwen/debugStats. */
  lastPrompt: (Omit<FimPromptLayout, 'text'> & { tokens: readonly number[] }) | null = null;
  readonly tally = new RequestTally();
  /** Stats of the last finished completions, oldest first, and the pieces streamed by running ones. */
  readonly recent: CompletionStats[] = [];
  readonly live = new Map<string, number>();

  constructor(private readonly deps: CompletionDeps) {}

  forget(uri: string): void {
    this.prefixStarts.delete(uri);
    this.inFlight.get(uri)?.abort(AbortReasons.documentClosed);
  }

  async complete(params: InlineCompletionParams, token: CancellationToken): Promise<QwenInlineCompletionItem[]> {
    const ended = this.tally.start();
    let outcome: RequestOutcome = 'failed';
    try {
      const { items, fan } = await this.completeCounted(params, token);
      outcome = outcomeOf(fan);
      return items;
    } finally {
      ended(outcome);
    }
  }

  private async completeCounted(
    params: InlineCompletionParams,
    token: CancellationToken,
  ): Promise<{ items: QwenInlineCompletionItem[]; fan: AbortFan | null }> {
    const uri = params?.textDocument?.uri;
    if (typeof uri !== 'string') throw invalidParams('textDocument/inlineCompletion: params.textDocument.uri is missing');
    const doc = this.deps.document(uri);
    if (!doc) throw unknownDocumentError(uri);
    const settings = this.deps.settings();
    if (!settings.completion.enabled) return { items: [], fan: null };
    const started = performance.now();

    // A newer request for this document makes the older one pointless.
    this.inFlight.get(uri)?.abort(AbortReasons.superseded);
    const fan = new AbortFan();
    this.inFlight.set(uri, fan);
    const cancelListener = token.onCancellationRequested(() => fan.abort(AbortReasons.client));
    fan.onDispose(() => cancelListener.dispose());
    try {
      let items: QwenInlineCompletionItem[];
      const remote = remoteBackendFor(settings);
      if (remote) {
        items = await this.runRemote(remote, doc, params, settings, fan, started);
      } else {
        const loaded = await this.deps.host.require();
        if (fan.signal.aborted) return { items: [], fan };
        items = await this.run(loaded, doc, params, settings, fan, started);
      }
      // Only the time budget returns partial text; a request nobody wants any more gets nothing.
      const unwanted = fan.reason !== null && fan.reason !== AbortReasons.timeBudget;
      return { items: unwanted ? [] : items, fan };
    } catch (e) {
      // Cancelled while waiting for the engine: nothing to show, and nothing went wrong.
      if (isAbortError(e)) return { items: [], fan };
      throw asResponseError(e, 'Inline completion');
    } finally {
      fan.dispose();
      if (this.inFlight.get(uri) === fan) this.inFlight.delete(uri);
    }
  }

  /** settings.remoteUrl is set: the completion comes from that OpenAI-compatible server. */
  private async runRemote(
    remote: RemoteBackend,
    doc: TextDocument,
    params: InlineCompletionParams,
    settings: EffectiveSettings,
    fan: AbortFan,
    started: number,
  ): Promise<QwenInlineCompletionItem[]> {
    const position = doc.positionAt(doc.offsetAt(params.position));
    const ctx = cursorContext(doc, position.line, position.character, settings.completion.maxLines);
    const { text, stats } = await completeRemotely(remote, { doc, position, ctx, settings, fan, started });
    this.lastStats = stats;
    return text.length === 0 ? [] : [{ insertText: text, range: { start: position, end: position }, qwenStats: stats }];
  }

  private run(
    loaded: LoadedModel,
    doc: TextDocument,
    params: InlineCompletionParams,
    settings: EffectiveSettings,
    fan: AbortFan,
    started: number,
  ): Promise<QwenInlineCompletionItem[]> {
    const { model, pool } = loaded;
    const c = settings.completion;
    const text = doc.getText();
    const offset = doc.offsetAt(params.position);
    const position = doc.positionAt(offset);
    const ctx = cursorContext(doc, position.line, position.character, c.maxLines);

    const builder = this.promptBuilder(model);
    const capacity = model.info.contextSize;
    // The prompt and the reply must fit the context together.
    const budget = Math.max(32, Math.min(c.contextTokens, capacity - c.maxTokens - 1));
    const prompt = builder.build({
      prefix: text.slice(0, offset),
      suffix: text.slice(offset),
      path: this.deps.paths.relativePath(doc.uri),
      repoName: this.deps.paths.repoName(doc.uri),
      snippets: this.deps.context.snippetsFor(doc.uri, this.deps.openDocuments()),
      prefixLines: c.prefixLines,
      suffixLines: c.suffixLines,
      contextTokens: budget,
      prefixStartHint: this.prefixStarts.get(doc.uri),
    });
    this.prefixStarts.set(doc.uri, prompt.prefixStartLine);
    this.lastPrompt = {
      tokens: prompt.tokens,
      contextTokens: prompt.contextTokens,
      prefixTokens: prompt.prefixTokens,
      suffixTokens: prompt.suffixTokens,
      prefixStartLine: prompt.prefixStartLine,
    };

    const scheduler = this.deps.host.scheduler;
    return scheduler.withLease('completion', fan.signal, async () => {
      const queuedMs = performance.now() - started;
      const reuse = settings.tuning.reusePrefix;
      const { slot } = pool.pickCompletionSlot(doc.uri, prompt.tokens, reuse);
      pool.setBusy(slot, true);
      try {
        if (!reuse) slot.seq.truncate(0);
        const limit = pool.makeRoom(slot, prompt.tokens.length + c.maxTokens);
        // A running chat may hold part of the context: shorten the completion rather than fail.
        if (limit <= prompt.tokens.length) throw promptTooLongError('completion prompt', prompt.tokens.length, limit);
        // The time budget counts from the request's arrival: waiting in the queue uses it too.
        fan.abortAfter(Math.max(1, c.timeBudgetMs - queuedMs), AbortReasons.timeBudget);
        let raw = '';
        this.live.set(doc.uri, 0);
        const result = await this.deps.host.engineModule.generate(model, slot.seq, prompt.tokens, {
          maxTokens: Math.min(c.maxTokens, limit - prompt.tokens.length),
          sampling: { temperature: c.temperature, topK: 40, topP: 0.95 },
          stopTokens: builder.stopTokenIds(),
          stopStrings: ['<|file_sep|>', '<|endoftext|>'],
          signal: fan.signal,
          // Stop as soon as the shown text is settled (block left, enough lines): every further
          // token would be thrown away by post-processing anyway.
          onText: (piece) => {
            raw += piece;
            this.live.set(doc.uri, (this.live.get(doc.uri) ?? 0) + 1);
            return !cutCompletion(raw, ctx, false).ended;
          },
        });
        const shown = postProcessCompletion(result.text, ctx);
        const stats: CompletionStats = {
          promptTokens: result.promptTokens,
          cachedTokens: result.cachedTokens,
          evaluatedTokens: result.evaluatedTokens,
          generatedTokens: result.tokens.length,
          tokensPerSecond: result.tokensPerSecond,
          prefillMs: result.prefillMs,
          decodeMs: result.decodeMs,
          elapsedMs: performance.now() - started,
          slot: slot.id,
          stopReason: result.stopReason === 'aborted' && fan.reason ? `aborted (${fan.reason})` : result.stopReason,
          queuedMs,
        };
        this.lastStats = stats;
        this.recent.push(stats);
        if (this.recent.length > RECENT_STATS) this.recent.shift();
        if (result.tokens.length > 0) this.deps.host.lastTokensPerSecond = result.tokensPerSecond;
        if (shown.length === 0) return [];
        return [{ insertText: shown, range: { start: position, end: position }, qwenStats: stats }];
      } finally {
        pool.setBusy(slot, false);
        this.live.delete(doc.uri);
      }
    });
  }

  private promptBuilder(model: LoadedModel['model']): FimPromptBuilder {
    if (!this.builder || this.builder.model !== model) {
      this.builder = { model, builder: new FimPromptBuilder(model.tokenizer) };
      this.prefixStarts.clear();
    }
    return this.builder.builder;
  }
}

/** How a finished completion request counts: by the first abort reason, if any. */
function outcomeOf(fan: AbortFan | null): RequestOutcome {
  if (fan?.reason === AbortReasons.client) return 'cancelled';
  if (fan?.reason === AbortReasons.superseded || fan?.reason === AbortReasons.documentClosed) return 'superseded';
  return 'answered';
}

/** The cursor's surroundings that post-processing needs. */
export function cursorContext(doc: TextDocument, line: number, character: number, maxLines: number): CursorContext {
  const lineText = (n: number): string =>
    doc.getText({ start: { line: n, character: 0 }, end: { line: n + 1, character: 0 } }).replace(/\r?\n$/, '');
  const current = lineText(line);
  let lineAbove = '';
  for (let n = line - 1; n >= 0 && n >= line - 50; n--) {
    const t = lineText(n);
    if (t.trim().length > 0) {
      lineAbove = t;
      break;
    }
  }
  const next: string[] = [];
  for (let n = line + 1; n < doc.lineCount && next.length < 8; n++) next.push(lineText(n));
  return {
    linePrefix: current.slice(0, character),
    lineSuffix: current.slice(character),
    lineAbove,
    nextLines: next.join('\n'),
    maxLines,
  };
}

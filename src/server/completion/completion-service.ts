// textDocument/inlineCompletion: builds the FIM prompt for the cursor, runs it on the completion
// slot that already holds the longest part of it, stops early when the completion leaves its
// block or runs out of time, and post-processes the text.
//
// Cancellation comes from three places, all aborting the same work (which stops within one
// micro-batch or token): the client's $/cancelRequest, a newer completion request for the same
// document (the older one is no longer wanted), and the time budget (then what was generated so
// far is returned).
//
// The time budget never makes a request answer nothing because its prefill was cut:
//  - the prompt is prefilled in micro-batches; when the measured prefill rate (PrefillRate) says
//    the rest cannot be done within the budget's prefill share, the request answers from a short
//    window around the cursor (its own slot, `${uri}#short`) and leaves the full prompt filling in
//    the background (background-prefill.ts), keeping what it filled: the next keystroke finds it;
//  - the budget then cuts only the decode, which always gets a share of it, and never before the
//    reply has something to show.
// Background work on the same slots: warm-ups (qwen/warmCompletion: a file opened or focused, a
// cursor jump) and prefetches after an accepted suggestion (qwen/prefetchCompletion). A real
// request for a document stops that document's background work first.
import type { CancellationToken, InlineCompletionItem, InlineCompletionParams } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type {
  BackgroundStats,
  CompletionStats,
  FimPromptLayout,
  PrefetchCompletionParams,
  QwenInlineCompletionItemExtras,
  WarmCompletionParams,
} from '../../protocol';
import { commonPrefixLength } from '../../engine/generate';
import type { Sequence } from '../../engine/api';
import type { Slot } from '../cache/slot-pool';
import { asResponseError, invalidParams, promptTooLongError, unknownDocumentError } from '../errors';
import type { LoadedModel, ModelHost } from '../model-host';
import { AbortFan, AbortReasons, isAbortError } from '../scheduler/abort';
import { ScheduledSequence } from '../scheduler/scheduled-sequence';
import { RequestOutcome, RequestTally } from '../request-counters';
import type { EffectiveSettings } from '../settings';
import type { WorkspacePaths } from '../workspace-paths';
import type { CompletionContextStore, OpenDocumentView } from './context-store';
import { BackgroundPrefill } from './background-prefill';
import { FimPrompt, FimPromptBuilder } from './fim-prompt';
import { PrefillRate } from './prefill-rate';
import { REPLY_RESERVE_MS, StepClock } from './decode-deadline';
import { FIM_STOP_TEXTS, FimRequest } from './fim-layout';
import { completionSampling } from './completion-sampling';
import { remoteBackendFor, RemoteBackend } from '../remote/remote-backend';
import { completeRemotely } from './remote-completion';
import { CursorContext, cutCompletion, postProcessCompletion } from './post-process';

export interface CompletionDeps {
  host: ModelHost;
  settings: () => EffectiveSettings;
  document: (uri: string) => TextDocument | undefined;
  openDocuments: () => OpenDocumentView[];
  paths: WorkspacePaths;
  context: CompletionContextStore;
  log?: (message: string) => void;
}

/** How many finished completions' stats qwen/debugStats shows. */
const RECENT_STATS = 32;
/** Tokens per background micro-batch: the most a real request waits for background work. */
export const BACKGROUND_MICRO_BATCH = 32;
/** A request's own prefill batches: small until the rate is known, then larger (faster per token). */
const FIRST_PREFILL_BATCH = 32;
const PREFILL_BATCH = 256;
/** Share of the time budget the full prompt's prefill may take; the rest is for the reply. */
const PREFILL_SHARE = 0.6;
/** The decode always gets at least this share of the budget, even after a slow prefill. */
const MIN_DECODE_SHARE = 0.25;
/**
 * Sizes of the short window, smallest first: the largest that the measured rate can prefill within
 * the budget's prefill share is used (at most shortContextTokens). Fixed steps, so the window (and
 * its slot's cache) stays the same from keystroke to keystroke while the rate wobbles.
 */
const SHORT_WINDOW_STEPS = [64, 128, 256, 384, 512, 768, 1024];

/** The slot key of a document's short window. */
export const shortWindowKey = (uri: string): string => `${uri}#short`;

export type QwenInlineCompletionItem = InlineCompletionItem & QwenInlineCompletionItemExtras;

type Window = 'full' | 'short';

/** A request's short-window choice, worked out at most once: its size and what its slot lacks. */
interface ShortWindowPlan {
  tokens: number | undefined;
  size: number;
}

export class CompletionService {
  private readonly inFlight = new Map<string, AbortFan>();
  private readonly prefetching = new Map<string, { fan: AbortFan; done: Promise<unknown> }>();
  private readonly prefixStarts = new Map<string, number>();
  private builder: { model: LoadedModel['model']; builder: FimPromptBuilder } | null = null;
  readonly rate = new PrefillRate();
  readonly background: BackgroundPrefill;
  private readonly extra = { shortWindowAnswers: 0, prefetches: 0, prefetchAnswers: 0 };
  lastStats: CompletionStats | null = null;
  /** Token layout (and ids) of the last FIM prompt, for qwen/debugStats. */
  lastPrompt: (Omit<FimPromptLayout, 'text'> & { tokens: readonly number[] }) | null = null;
  readonly tally = new RequestTally();
  /** Stats of the last finished completions, oldest first, and the pieces streamed by running ones. */
  readonly recent: CompletionStats[] = [];
  readonly live = new Map<string, number>();

  constructor(private readonly deps: CompletionDeps) {
    this.background = new BackgroundPrefill({ scheduler: deps.host.scheduler, rate: this.rate, microBatch: BACKGROUND_MICRO_BATCH, log: deps.log });
  }

  /** What ran in the background, for qwen/debugStats. */
  get backgroundStats(): BackgroundStats {
    return { ...this.background.counters, ...this.extra, prefillTokensPerSecond: this.rate.tokensPerSecond };
  }

  forget(uri: string): void {
    this.prefixStarts.delete(uri);
    this.prefixStarts.delete(shortWindowKey(uri));
    this.inFlight.get(uri)?.abort(AbortReasons.documentClosed);
    this.prefetching.get(uri)?.fan.abort(AbortReasons.documentClosed);
    void this.background.preempt(uri);
    void this.background.preempt(shortWindowKey(uri));
  }

  async complete(params: InlineCompletionParams, token: CancellationToken): Promise<QwenInlineCompletionItem[]> {
    const ended = this.tally.start();
    // From now until the answer, background work keeps off the engine.
    const foregroundEnded = this.deps.host.scheduler.beginForeground();
    let outcome: RequestOutcome = 'failed';
    try {
      const { items, fan } = await this.completeCounted(params, token);
      outcome = outcomeOf(fan);
      return items;
    } finally {
      foregroundEnded();
      ended(outcome);
    }
  }

  /**
   * qwen/warmCompletion: prefills the prompt a completion at this cursor would use, in the
   * background. Stale or unusable notifications are ignored (a notification has no answer).
   */
  warm(params: WarmCompletionParams): void {
    const target = this.backgroundTarget(params, 'warmup');
    if (!target) return;
    const { doc, offset, loaded, settings } = target;
    if (this.inFlight.has(doc.uri) || this.prefetching.has(doc.uri)) return;
    const prompt = this.buildPrompt(loaded.model, doc, offset, settings, 'full');
    void this.background.start(loaded, { key: doc.uri, tokens: prompt.tokens, reserve: settings.completion.maxTokens, kind: 'warmup' });
  }

  /**
   * qwen/prefetchCompletion: the completion at the cursor after an accepted suggestion, run at
   * background priority so any real request goes first. A real request for the document stops it.
   */
  async prefetch(params: PrefetchCompletionParams, token: CancellationToken): Promise<QwenInlineCompletionItem[]> {
    if (typeof params?.textDocument?.uri !== 'string') throw invalidParams('qwen/prefetchCompletion: params.textDocument.uri is missing');
    let target: ReturnType<CompletionService['backgroundTarget']>;
    try {
      // The model may still be loading: a prefetch waits for it like a request.
      await this.deps.host.require();
      target = this.backgroundTarget(params, 'prefetch');
    } catch {
      return [];
    }
    if (!target || this.inFlight.has(target.doc.uri)) return [];
    const { doc, offset, loaded, settings } = target;
    this.extra.prefetches++;
    this.prefetching.get(doc.uri)?.fan.abort(AbortReasons.superseded);
    const fan = new AbortFan();
    const cancelListener = token.onCancellationRequested(() => fan.abort(AbortReasons.client));
    fan.onDispose(() => cancelListener.dispose());
    const run = (async () => {
      await this.background.preempt(doc.uri);
      if (fan.signal.aborted) return [];
      return this.generateAt(loaded, doc, offset, settings, fan, performance.now(), 'prefetch');
    })();
    const entry = { fan, done: run.catch(() => undefined) };
    this.prefetching.set(doc.uri, entry);
    try {
      const items = await run;
      if (fan.reason !== null) return [];
      if (items.length > 0) this.extra.prefetchAnswers++;
      return items;
    } catch (e) {
      if (isAbortError(e)) return [];
      throw asResponseError(e, 'Prefetching a completion');
    } finally {
      fan.dispose();
      if (this.prefetching.get(doc.uri) === entry) this.prefetching.delete(doc.uri);
    }
  }

  /** The document, cursor and model a warm-up or prefetch works on, or null when it should not run. */
  private backgroundTarget(
    params: WarmCompletionParams,
    kind: 'warmup' | 'prefetch',
  ): { doc: TextDocument; offset: number; loaded: LoadedModel; settings: EffectiveSettings } | null {
    const uri = params?.textDocument?.uri;
    const version = params?.textDocument?.version;
    const position = params?.position;
    if (typeof uri !== 'string' || typeof version !== 'number' || !position || typeof position.line !== 'number' || typeof position.character !== 'number')
      return null;
    const settings = this.deps.settings();
    const c = settings.completion;
    if (!c.enabled || (kind === 'warmup' ? !c.warmup : !c.prefetch) || remoteBackendFor(settings)) return null;
    const doc = this.deps.document(uri);
    // The text moved on since the client asked: the prompt would be for a state nobody sees.
    if (!doc || doc.version !== version) return null;
    const loaded = this.deps.host.current;
    if (!loaded) return null;
    return { doc, offset: doc.offsetAt(position), loaded, settings };
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
        // Background work on this document's slots stops here; what it filled stays for us.
        await this.stopBackgroundFor(uri);
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

  /** Stops a document's prefetch and background prefills, and waits until they let go of its slots. */
  private async stopBackgroundFor(uri: string): Promise<void> {
    const prefetch = this.prefetching.get(uri);
    prefetch?.fan.abort(AbortReasons.superseded);
    await Promise.all([prefetch?.done, this.background.preempt(uri), this.background.preempt(shortWindowKey(uri))]);
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
    const offset = doc.offsetAt(params.position);
    const position = doc.positionAt(offset);
    const ctx = cursorContext(doc, position.line, position.character, settings.completion.maxLines);
    const fim = this.fimRequest(doc, offset, settings, settings.completion.contextTokens, doc.uri, true);
    const { text, stats, prefixStartLine } = await completeRemotely(remote, { fim, ctx, settings, fan, started });
    this.prefixStarts.set(doc.uri, prefixStartLine);
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
    return this.deps.host.scheduler.withLease('completion', fan.signal, () =>
      this.generateAt(loaded, doc, doc.offsetAt(params.position), settings, fan, started, 'request'),
    );
  }

  /**
   * One completion at `offset`: a request (holding the engine lease) or a prefetch (taking the
   * engine token by token at background priority).
   */
  private async generateAt(
    loaded: LoadedModel,
    doc: TextDocument,
    offset: number,
    settings: EffectiveSettings,
    fan: AbortFan,
    started: number,
    kind: 'request' | 'prefetch',
  ): Promise<QwenInlineCompletionItem[]> {
    const { model, pool } = loaded;
    const c = settings.completion;
    const position = doc.positionAt(offset);
    const ctx = cursorContext(doc, position.line, position.character, c.maxLines);
    const full = this.buildPrompt(model, doc, offset, settings, 'full');
    if (kind === 'request') this.lastPrompt = { ...full };
    const queuedMs = performance.now() - started;
    const reuse = settings.tuning.reusePrefix;
    const prefilled = { tokens: 0, ms: 0 };
    let window: Window = 'full';
    let prompt: FimPrompt = full;
    let slot = this.takeSlot(loaded, doc.uri, full, settings);
    const cachedTokens = reuse ? Math.min(commonPrefixLength(slot.seq.tokens, full.tokens), full.tokens.length - 1) : 0;
    let shortCached = 0;
    try {
      if (kind === 'request') {
        const shortLeft: ShortWindowPlan = { tokens: undefined, size: 0 };
        const giveWay = (remaining: number): boolean => this.shortWindowIsQuicker(loaded, doc, offset, settings, started, remaining, shortLeft);
        const done = await this.prefill(slot.seq, full.tokens, fan.signal, prefilled, giveWay);
        if (!done) {
          // The full prompt keeps filling in the background once this request is done; the
          // short window answers now.
          void this.background.start(loaded, { key: doc.uri, tokens: full.tokens, reserve: c.maxTokens, kind: 'longFill' });
          const short = this.buildPrompt(model, doc, offset, settings, 'short', true, shortLeft.size);
          const fullSlot = slot;
          // Picked while the full slot is still busy, so the short window never overwrites it.
          slot = this.takeSlot(loaded, shortWindowKey(doc.uri), short, settings);
          pool.setBusy(fullSlot, false);
          prompt = short;
          window = 'short';
          shortCached = reuse ? Math.min(commonPrefixLength(slot.seq.tokens, short.tokens), short.tokens.length - 1) : 0;
          prefilled.tokens = 0;
          prefilled.ms = 0;
          await this.prefill(slot.seq, short.tokens, fan.signal, prefilled);
        }
      }
      const limit = pool.makeRoom(slot, prompt.tokens.length + c.maxTokens);
      // The time budget cuts the reply only, never the prefill; the reply always gets a share of it.
      const decodeFan = new AbortFan();
      const linked = (): void => decodeFan.abort(fan.reason ?? AbortReasons.client);
      if (fan.signal.aborted) linked();
      fan.signal.addEventListener('abort', linked, { once: true });
      let raw = '';
      // Once the budget has passed, the reply stops as soon as it has something to show: until then
      // stopping would answer nothing (maxTokens and the block end still bound it).
      let budgetPassed = false;
      const shows = (): boolean => postProcessCompletion(raw, ctx).trim().length > 0;
      const decodeStarted = performance.now();
      let deadline = Infinity;
      const steps = new StepClock();
      if (kind === 'request') {
        const delay = Math.max(c.timeBudgetMs - (decodeStarted - started) - REPLY_RESERVE_MS, c.timeBudgetMs * MIN_DECODE_SHARE);
        deadline = decodeStarted + delay;
        const timer = setTimeout(() => {
          budgetPassed = true;
          if (shows()) decodeFan.abort(AbortReasons.timeBudget);
        }, delay);
        decodeFan.onDispose(() => clearTimeout(timer));
      }
      const stepWouldOverrun = (): boolean => steps.nextStepPassesDeadline(performance.now(), deadline);
      const seq: Sequence = kind === 'prefetch' ? new ScheduledSequence(slot.seq, this.deps.host.scheduler, 'background', BACKGROUND_MICRO_BATCH) : slot.seq;
      if (kind === 'request') this.live.set(doc.uri, 0);
      const builder = this.promptBuilder(model);
      try {
        const result = await this.deps.host.engineModule.generate(model, seq, prompt.tokens, {
          maxTokens: Math.max(0, Math.min(c.maxTokens, limit - prompt.tokens.length)),
          ...completionSampling(c.temperature, settings.tuning.speculativeDraft),
          stopTokens: builder.stopTokenIds(),
          stopStrings: [...FIM_STOP_TEXTS],
          signal: decodeFan.signal,
          // Stop as soon as the shown text is settled (block left, enough lines): every further
          // token would be thrown away by post-processing anyway.
          onText: (piece) => {
            raw += piece;
            steps.piece(performance.now());
            if (kind === 'request') this.live.set(doc.uri, (this.live.get(doc.uri) ?? 0) + 1);
            if ((budgetPassed || stepWouldOverrun()) && shows()) decodeFan.abort(AbortReasons.timeBudget);
            return !cutCompletion(raw, ctx, false).ended;
          },
        });
        const shown = postProcessCompletion(result.text, ctx);
        const stats: CompletionStats = {
          promptTokens: result.promptTokens,
          cachedTokens: window === 'full' ? cachedTokens : shortCached,
          evaluatedTokens: prefilled.tokens + result.evaluatedTokens,
          generatedTokens: result.tokens.length,
          tokensPerSecond: result.tokensPerSecond,
          prefillMs: prefilled.ms + result.prefillMs,
          decodeMs: result.decodeMs,
          elapsedMs: performance.now() - started,
          slot: slot.id,
          stopReason: result.stopReason === 'aborted' && decodeFan.reason ? `aborted (${decodeFan.reason})` : result.stopReason,
          queuedMs,
          draftTokens: result.draftTokens,
          acceptedDraftTokens: result.acceptedDraftTokens,
          window,
          ...(kind === 'prefetch' ? { prefetch: true } : {}),
        };
        if (kind === 'request') this.lastStats = stats;
        this.recent.push(stats);
        if (this.recent.length > RECENT_STATS) this.recent.shift();
        if (result.tokens.length > 0) this.deps.host.lastTokensPerSecond = result.tokensPerSecond;
        if (shown.length === 0) return [];
        if (window === 'short') this.extra.shortWindowAnswers++;
        return [{ insertText: shown, range: { start: position, end: position }, qwenStats: stats }];
      } finally {
        fan.signal.removeEventListener('abort', linked);
        decodeFan.dispose();
      }
    } finally {
      pool.setBusy(slot, false);
      if (kind === 'request') this.live.delete(doc.uri);
    }
  }

  /** The slot for `key`, marked busy, with room for the prompt and the reply. */
  private takeSlot(loaded: LoadedModel, key: string, prompt: FimPrompt, settings: EffectiveSettings): Slot {
    const { pool } = loaded;
    const reuse = settings.tuning.reusePrefix;
    const { slot } = pool.pickCompletionSlot(key, prompt.tokens, reuse);
    pool.setBusy(slot, true);
    if (!reuse) slot.seq.truncate(0);
    const limit = pool.makeRoom(slot, prompt.tokens.length + settings.completion.maxTokens);
    // A running chat may hold part of the context: shorten the completion rather than fail.
    if (limit <= prompt.tokens.length) {
      pool.setBusy(slot, false);
      throw promptTooLongError('completion prompt', prompt.tokens.length, limit);
    }
    return slot;
  }

  /**
   * Prefills all but the last token of `tokens` (generate() evaluates that one for fresh logits)
   * in batches, measuring the rate. Returns false, keeping what was filled, as soon as `giveWay`
   * says the rest should not be waited for.
   */
  private async prefill(
    seq: Sequence,
    tokens: readonly number[],
    signal: AbortSignal,
    done: { tokens: number; ms: number },
    giveWay?: (remaining: number) => boolean,
  ): Promise<boolean> {
    const target = tokens.length - 1;
    let filled = Math.min(commonPrefixLength(seq.tokens, tokens), target);
    seq.truncate(filled);
    while (filled < target) {
      if (giveWay?.(target - filled)) return false;
      const size = this.rate.tokensPerSecond === null ? FIRST_PREFILL_BATCH : PREFILL_BATCH;
      const batch = tokens.slice(filled, Math.min(target, filled + size));
      const t0 = performance.now();
      await seq.eval(batch, { logits: 'none', signal });
      const ms = performance.now() - t0;
      this.rate.record(batch.length, ms);
      done.tokens += batch.length;
      done.ms += ms;
      filled += batch.length;
    }
    return true;
  }

  /**
   * True when, at the measured prefill rate, the `remaining` tokens of the full prompt would take
   * more than the budget's prefill share, and the short window has less left to prefill.
   */
  private shortWindowIsQuicker(
    loaded: LoadedModel,
    doc: TextDocument,
    offset: number,
    settings: EffectiveSettings,
    started: number,
    remaining: number,
    plan: ShortWindowPlan,
  ): boolean {
    const c = settings.completion;
    if (c.shortContextTokens <= 0) return false;
    const need = this.rate.msFor(remaining);
    if (need === null) return false;
    const left = c.timeBudgetMs - (performance.now() - started);
    if (need <= left * PREFILL_SHARE) return false;
    if (plan.tokens === undefined) {
      // Worked out once per request: the window size the rate affords, and what the short
      // window's own slot still lacks of it.
      const affordable = (this.rate.tokensPerSecond ?? 0) * (Math.max(0, left) / 1000) * PREFILL_SHARE;
      const cap = Math.min(c.shortContextTokens, SHORT_WINDOW_STEPS[SHORT_WINDOW_STEPS.length - 1]);
      plan.size = SHORT_WINDOW_STEPS.filter((n) => n <= cap && n <= affordable).pop() ?? Math.min(cap, SHORT_WINDOW_STEPS[0]);
      const short = this.buildPrompt(loaded.model, doc, offset, settings, 'short', false, plan.size);
      const key = shortWindowKey(doc.uri);
      const slot = loaded.pool.all.find((s) => s.kind === 'completion' && s.key === key && !s.busy);
      const shared = slot && settings.tuning.reusePrefix ? commonPrefixLength(slot.seq.tokens, short.tokens) : 0;
      plan.tokens = Math.max(0, short.tokens.length - 1 - shared);
    }
    return plan.tokens < remaining;
  }

  /**
   * The FIM prompt at `offset`: the full one (the completion budget, other files' snippets) or
   * the short window (`shortTokens` around the cursor, this file only). Each keeps its own
   * sticky prefix-window start, so the same cursor gives the same prompt again.
   */
  private buildPrompt(
    model: LoadedModel['model'],
    doc: TextDocument,
    offset: number,
    settings: EffectiveSettings,
    window: Window,
    remember = true,
    shortTokens = settings.completion.shortContextTokens,
  ): FimPrompt {
    const c = settings.completion;
    const builder = this.promptBuilder(model);
    const capacity = model.info.contextSize;
    // The prompt and the reply must fit the context together.
    const budget = Math.max(32, Math.min(c.contextTokens, capacity - c.maxTokens - 1));
    const key = window === 'full' ? doc.uri : shortWindowKey(doc.uri);
    const contextTokens = window === 'full' ? budget : Math.max(32, Math.min(budget, shortTokens));
    const prompt = builder.build(this.fimRequest(doc, offset, settings, contextTokens, key, window === 'full'));
    if (remember) this.prefixStarts.set(key, prompt.prefixStartLine);
    return prompt;
  }

  /**
   * What both completion paths (local and remote) lay out for the cursor at `offset`
   * (fim-layout.ts); `key` names the slot whose sticky prefix-window start is kept.
   */
  private fimRequest(doc: TextDocument, offset: number, settings: EffectiveSettings, contextTokens: number, key: string, withSnippets: boolean): FimRequest {
    const text = doc.getText();
    const c = settings.completion;
    return {
      prefix: text.slice(0, offset),
      suffix: text.slice(offset),
      path: this.deps.paths.relativePath(doc.uri),
      repoName: this.deps.paths.repoName(doc.uri),
      snippets: withSnippets ? this.deps.context.snippetsFor(doc.uri, this.deps.openDocuments()) : [],
      prefixLines: c.prefixLines,
      suffixLines: c.suffixLines,
      contextTokens,
      prefixStartHint: this.prefixStarts.get(key),
    };
  }

  private promptBuilder(model: LoadedModel['model']): FimPromptBuilder {
    if (!this.builder || this.builder.model !== model) {
      this.builder = { model, builder: new FimPromptBuilder(model.tokenizer) };
      this.prefixStarts.clear();
      this.rate.reset();
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
  const lineText = (n: number): string => doc.getText({ start: { line: n, character: 0 }, end: { line: n + 1, character: 0 } }).replace(/\r?\n$/, '');
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

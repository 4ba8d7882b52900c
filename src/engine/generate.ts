// generate(): prompt in, text out, on one Sequence. It reuses the longest prefix of the prompt
// already in the sequence's KV cache, evaluates the rest, then samples token by token until a
// stop condition: an end-of-turn token, a stop string, maxTokens, a full context, the caller's
// signal, or the caller's onText returning false. Text is streamed through the tokenizer's stream
// decoder, holding back any tail that might still grow into a stop string.
import { isAbortError } from '../common/abort-error';
import type { GenerateOptions, GenerateResult, Model, SamplingOptions, Sequence, StopReason } from './api';
import { lookupDraft } from './lookup-drafter';
import { checkSamplingOptions } from './sampling-check';
import { StopStringMatcher } from './stop-strings';

/** Token ids that end generation for this model: EOS from the metadata and the ChatML enders. */
export function endOfGenerationIds(model: Model): Set<number> {
  const ids = new Set<number>();
  ids.add(model.tokenizer.eosId);
  for (const key of ['tokenizer.ggml.eos_token_id', 'tokenizer.ggml.eot_token_id']) {
    const v = model.metadata[key];
    if (typeof v === 'number') ids.add(v);
  }
  for (const text of ['<|im_end|>', '<|endoftext|>']) {
    const id = model.tokenizer.tokenId(text);
    if (id !== undefined) ids.add(id);
  }
  return ids;
}

/** Length of the longest common prefix of two token lists. */
export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export async function generate(model: Model, seq: Sequence, promptTokens: readonly number[], opts: GenerateOptions = {}): Promise<GenerateResult> {
  if (promptTokens.length === 0) throw new RangeError('generate: the prompt has no tokens');
  const capacity = model.info.contextSize;
  if (promptTokens.length > capacity) {
    throw new RangeError(`generate: the prompt has ${promptTokens.length} tokens, but the context holds only ${capacity}`);
  }
  const maxTokens = opts.maxTokens ?? 256;
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new RangeError(`generate: maxTokens must be a non-negative integer, got ${maxTokens}`);
  const sampling = opts.sampling ?? {};
  checkSamplingOptions(sampling);
  const stops = new Set<number>([...endOfGenerationIds(model), ...(opts.stopTokens ?? [])]);
  const matcher = new StopStringMatcher(opts.stopStrings ?? []);
  const signal = opts.signal;

  // Reuse the cached prefix, but always evaluate at least the prompt's last token: sampling needs
  // fresh logits for exactly this prompt, and the cache keeps only the last row of a past eval.
  const cachedTokens = Math.min(commonPrefixLength(seq.tokens, promptTokens), promptTokens.length - 1);
  seq.truncate(cachedTokens);
  const toEvaluate = promptTokens.slice(cachedTokens);

  const result: GenerateResult = {
    text: '',
    tokens: [],
    stopReason: 'maxTokens',
    promptTokens: promptTokens.length,
    cachedTokens,
    evaluatedTokens: 0,
    prefillMs: 0,
    decodeMs: 0,
    tokensPerSecond: 0,
    draftTokens: 0,
    acceptedDraftTokens: 0,
    decodeEvals: 0,
  };
  let stopped = false;
  const emit = (text: string): void => {
    // After the caller said stop, nothing more is streamed or collected.
    if (text.length === 0 || stopped) return;
    result.text += text;
    if (opts.onText && opts.onText(text) === false) {
      result.stopReason = 'callerStop';
      stopped = true;
    }
  };
  const finish = (reason: StopReason): GenerateResult => {
    if (!stopped) result.stopReason = reason;
    return result;
  };

  const prefillStart = performance.now();
  try {
    await seq.eval(toEvaluate, { logits: 'keep', signal });
  } catch (e) {
    result.prefillMs = performance.now() - prefillStart;
    if (isAbortError(e)) return finish('aborted');
    throw e;
  }
  result.evaluatedTokens = toEvaluate.length;
  result.prefillMs = performance.now() - prefillStart;

  const decoder = model.tokenizer.createStreamDecoder();
  const usePenalty = (sampling.repeatPenalty ?? 1) !== 1;
  const history = usePenalty ? promptTokens.slice() : [];
  /** Takes one sampled token as output; returns why generation ends, or null to go on. */
  const take = (token: number): StopReason | null => {
    if (stops.has(token)) return 'eos';
    result.tokens.push(token);
    if (usePenalty) history.push(token);
    const cut = matcher.push(decoder.push(token));
    emit(cut.text);
    if (cut.stopped) return 'stopString';
    if (stopped || result.tokens.length >= maxTokens) return 'maxTokens';
    return null;
  };
  const contextFull = (adding: number): boolean => seq.tokens.length + adding > capacity || model.kvUsage().used + adding > capacity;
  const greedy = (sampling.temperature ?? 0) <= 0 && !usePenalty;
  const maxDraft = greedy && opts.speculative ? Math.max(0, Math.floor(opts.speculative.maxDraft)) : 0;

  const decodeStart = performance.now();
  let reason: StopReason;
  try {
    reason =
      maxDraft > 0
        ? await decodeSpeculatively(seq, promptTokens, result, take, contextFull, maxDraft, maxTokens, signal)
        : await decodeOneByOne(seq, sampling, history, usePenalty, result, take, contextFull, maxTokens, signal);
  } catch (e) {
    if (!isAbortError(e)) throw e;
    reason = 'aborted';
  }
  // Whatever the decoder or the stop-string matcher still holds is real output, unless it
  // completes a stop string.
  if (reason !== 'stopString') {
    const tail = matcher.push(decoder.flush());
    emit(tail.text);
    if (tail.stopped) reason = 'stopString';
    else emit(matcher.flush());
  }
  result.decodeMs = performance.now() - decodeStart;
  result.tokensPerSecond = result.decodeMs > 0 ? (result.tokens.length * 1000) / result.decodeMs : 0;
  return finish(reason);
}

type TakeToken = (token: number) => StopReason | null;

/** Plain decoding: sample, take, evaluate the token, repeat. */
async function decodeOneByOne(
  seq: Sequence,
  sampling: SamplingOptions,
  history: number[],
  usePenalty: boolean,
  result: GenerateResult,
  take: TakeToken,
  contextFull: (adding: number) => boolean,
  maxTokens: number,
  signal: AbortSignal | undefined,
): Promise<StopReason> {
  for (;;) {
    if (result.tokens.length >= maxTokens) return 'maxTokens';
    if (signal?.aborted) return 'aborted';
    // Sampled synchronously right after the eval settled: the model is idle now.
    const ended = take(seq.sample(sampling, usePenalty ? history : undefined));
    if (ended) return ended;
    if (contextFull(1)) return 'contextFull';
    await seq.eval([result.tokens[result.tokens.length - 1]], { logits: 'keep', signal });
    result.decodeEvals++;
  }
}

/** After a draft of one token is rejected, drafting pauses this many steps, doubling up to the cap. */
const FIRST_PAUSE = 2;
const MAX_PAUSE = 32;

/**
 * Greedy decoding that checks guessed tokens in batches. Each step evaluates the last chosen
 * token followed by a draft; row j of the logits is the model's choice after draft token j-1, so
 * the draft is accepted up to the first row whose argmax differs from it, and that row's argmax
 * (or, when all were accepted, the last row's) is the next chosen token. Every chosen token is
 * the argmax after exactly the tokens before it, as in plain greedy decoding.
 *
 * The cache is kept exactly as plain decoding leaves it: rejected draft tokens are cut, and so is
 * a draft token that ended generation (a stop token, the last token allowed, a stop string),
 * which plain decoding would never have evaluated.
 */
async function decodeSpeculatively(
  seq: Sequence,
  promptTokens: readonly number[],
  result: GenerateResult,
  take: TakeToken,
  contextFull: (adding: number) => boolean,
  maxDraft: number,
  maxTokens: number,
  signal: AbortSignal | undefined,
): Promise<StopReason> {
  if (maxTokens <= 0) return 'maxTokens';
  // What the drafter looks in: the prompt and every token chosen so far.
  const context = promptTokens.slice();
  // Draft length adapts: a rejected first guess halves it (a wider batch that buys nothing costs
  // time), a fully accepted draft doubles it again. A rejected single-token draft pauses drafting
  // for a while (longer each time), so text the lookup cannot predict costs almost nothing.
  let draftLimit = maxDraft;
  let pause = 0;
  let nextPause = FIRST_PAUSE;
  let next = seq.sample({ temperature: 0 });
  for (;;) {
    if (signal?.aborted) return 'aborted';
    const ended = take(next);
    if (ended) return ended;
    context.push(next);
    if (contextFull(1)) return 'contextFull';
    const room = Math.min(draftLimit, maxTokens - result.tokens.length - 1);
    const draft = room > 0 && pause === 0 ? lookupDraft(context, room) : [];
    if (pause > 0) pause--;
    while (draft.length > 0 && contextFull(1 + draft.length)) draft.pop();
    if (draft.length === 0) {
      await seq.eval([next], { logits: 'keep', signal });
      result.decodeEvals++;
      next = seq.sample({ temperature: 0 });
      continue;
    }
    // The cache holds the prompt and every chosen token but `next`; keep exactly that on failure.
    const verified = seq.tokens.length;
    let logits: Float32Array | null;
    try {
      logits = await seq.eval([next, ...draft], { logits: 'all', signal });
    } catch (e) {
      // A cancelled batch may have left part of the unverified draft in the cache.
      seq.truncate(verified);
      throw e;
    }
    result.decodeEvals++;
    if (!logits) throw new Error('generate: an eval asked for every logits row returned none');
    const nVocab = logits.length / (draft.length + 1);
    result.draftTokens += draft.length;
    let accepted = 0;
    let stop: StopReason | null = null;
    for (; accepted < draft.length; accepted++) {
      const choice = argmaxRow(logits, accepted, nVocab);
      if (choice !== draft[accepted]) break;
      result.acceptedDraftTokens++;
      stop = take(choice);
      if (stop) break;
      context.push(choice);
    }
    // Cache = verified + `next` + the accepted draft tokens that generation goes on after.
    seq.truncate(verified + 1 + accepted);
    if (stop) return stop;
    next = argmaxRow(logits, accepted, nVocab);
    if (accepted === draft.length) {
      draftLimit = Math.min(maxDraft, draftLimit * 2);
      nextPause = FIRST_PAUSE;
    } else if (accepted === 0) {
      if (draftLimit === 1) {
        pause = nextPause;
        nextPause = Math.min(MAX_PAUSE, nextPause * 2);
      }
      draftLimit = Math.max(1, draftLimit >> 1);
    }
  }
}

/** Index of the largest logit in row `row` (the first on ties, as the native greedy sampler). */
function argmaxRow(logits: Float32Array, row: number, nVocab: number): number {
  const base = row * nVocab;
  let best = 0;
  let bestValue = logits[base];
  for (let i = 1; i < nVocab; i++) {
    const v = logits[base + i];
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

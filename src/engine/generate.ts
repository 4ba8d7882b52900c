// generate(): prompt in, text out, on one Sequence. It reuses the longest prefix of the prompt
// already in the sequence's KV cache, evaluates the rest, then samples token by token until a
// stop condition: an end-of-turn token, a stop string, maxTokens, a full context, the caller's
// signal, or the caller's onText returning false. Text is streamed through the tokenizer's stream
// decoder, holding back any tail that might still grow into a stop string.
import { isAbortError } from '../common/abort-error';
import type { GenerateOptions, GenerateResult, Model, Sequence, StopReason } from './api';
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

export async function generate(
  model: Model,
  seq: Sequence,
  promptTokens: readonly number[],
  opts: GenerateOptions = {},
): Promise<GenerateResult> {
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
  const decodeStart = performance.now();
  let reason: StopReason = 'maxTokens';
  while (!stopped) {
    if (result.tokens.length >= maxTokens) {
      reason = 'maxTokens';
      break;
    }
    if (signal?.aborted) {
      reason = 'aborted';
      break;
    }
    // Sampled synchronously right after the eval settled: the model is idle now.
    const token = seq.sample(sampling, usePenalty ? history : undefined);
    if (stops.has(token)) {
      reason = 'eos';
      break;
    }
    result.tokens.push(token);
    if (usePenalty) history.push(token);
    const cut = matcher.push(decoder.push(token));
    emit(cut.text);
    if (cut.stopped) {
      reason = 'stopString';
      break;
    }
    if (stopped || result.tokens.length >= maxTokens) continue;
    if (seq.tokens.length + 1 > capacity || model.kvUsage().used + 1 > capacity) {
      reason = 'contextFull';
      break;
    }
    try {
      await seq.eval([token], { logits: 'keep', signal });
    } catch (e) {
      if (isAbortError(e)) {
        reason = 'aborted';
        break;
      }
      throw e;
    }
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

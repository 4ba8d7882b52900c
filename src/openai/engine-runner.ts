// Runs one normalized request on the engine: render the chat template (or take the raw prompt),
// tokenize with special tokens enabled (so <|im_start|> and the FIM markers are control tokens),
// check that it fits the context, then generate on the server's sequence, streaming text through
// onText. The sequence is kept between requests: a follow-up chat turn shares its prefix with the
// previous one, and generate() reuses that part of the KV cache instead of recomputing it.
import type { GenerateResult, Model, Sequence } from '../engine/api';
import { renderChatPrompt } from '../engine/chat-template';
import { generate } from '../engine/generate';
import { ApiError } from './errors';
import type { GenerationRequest } from './protocol';

export interface RunOutput {
  result: GenerateResult;
  promptTokens: number;
}

export class EngineRunner {
  private seq: Sequence | null = null;

  constructor(readonly model: Model) {}

  /** The prompt text the request asks the model to continue. */
  promptText(req: GenerationRequest): string {
    if (req.kind === 'completion') return req.prompt;
    try {
      return renderChatPrompt(this.model.chatTemplate, req.messages, { addGenerationPrompt: true });
    } catch (e) {
      // The messages passed validation, so a failure here is the template refusing them.
      throw new ApiError(400, (e as Error).message, 'invalid_request_error', 'messages');
    }
  }

  /** Tokenizes and checks the context budget; throws 413 when the prompt cannot fit. */
  prepare(req: GenerationRequest): { tokens: number[]; maxTokens: number } {
    const tokens = this.model.tokenizer.encode(this.promptText(req), { special: true });
    if (tokens.length === 0) throw new ApiError(400, 'the prompt encodes to no tokens', 'invalid_request_error', 'prompt');
    const context = this.model.info.contextSize;
    // At least one token of room is needed to generate anything.
    if (tokens.length >= context) {
      throw new ApiError(
        413,
        `the prompt has ${tokens.length} tokens, but the model's context holds ${context} (and needs room for the reply)`,
        'context_length_exceeded',
        req.kind === 'chat' ? 'messages' : 'prompt',
      );
    }
    const room = context - tokens.length;
    // OpenAI's defaults: 16 tokens for legacy completions, "as much as fits" for chat.
    const requested = req.maxTokens ?? (req.kind === 'completion' ? 16 : room);
    return { tokens, maxTokens: Math.min(requested, room) };
  }

  /** Generates for a prepared request. The caller serializes calls (one job at a time). */
  async run(
    req: GenerationRequest,
    prepared: { tokens: number[]; maxTokens: number },
    signal: AbortSignal,
    onText?: (text: string) => void,
  ): Promise<RunOutput> {
    if (!this.seq) this.seq = this.model.createSequence();
    let result: GenerateResult;
    try {
      result = await generate(this.model, this.seq, prepared.tokens, {
        maxTokens: prepared.maxTokens,
        sampling: {
          temperature: req.temperature,
          topP: req.topP,
          seed: req.seed,
        },
        stopStrings: req.stop,
        signal,
        onText: onText
          ? (text) => {
              onText(text);
            }
          : undefined,
      });
    } catch (e) {
      // A failed generation may leave the cache in any state: start the next request afresh.
      this.seq.dispose();
      this.seq = null;
      throw e;
    }
    return { result, promptTokens: prepared.tokens.length };
  }

  dispose(): void {
    this.seq?.dispose();
    this.seq = null;
  }
}

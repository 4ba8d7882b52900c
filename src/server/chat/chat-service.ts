// qwen/chat: renders the conversation with the model's chat template, runs it on the
// conversation's own slot (so the previous turns' KV is reused and only the new messages are
// evaluated), streams the text through $/progress and answers with the whole reply and its stats.
// Chat runs at the lower priority: its sequence asks the scheduler before each step, so a
// completion can cut in between two tokens and the chat continues afterwards.
import type { CancellationToken } from 'vscode-languageserver';
import { commonPrefixLength } from '../../engine/generate';
import type { ChatMessage, ChatParams, ChatResult } from '../../protocol';
import { encodeChatPrompt } from '../../engine/chat-prompt-tokens';
import { asResponseError, invalidParams, promptTooLongError } from '../errors';
import type { ModelHost } from '../model-host';
import { AbortFan, AbortReasons } from '../scheduler/abort';
import { RequestOutcome, RequestTally } from '../request-counters';
import { ScheduledSequence } from '../scheduler/scheduled-sequence';
import { remoteBackendFor, RemoteBackend } from '../../openai/remote-backend';
import type { EffectiveSettings } from '../settings';

export interface ChatDeps {
  host: ModelHost;
  settings: () => EffectiveSettings;
  /** Sends one streamed piece of the reply to the client. */
  sendDelta: (partialResultToken: string | number, delta: string) => void;
}

const ROLES = new Set(['system', 'user', 'assistant']);

function checkParams(params: ChatParams): void {
  if (!params || typeof params !== 'object') throw invalidParams('qwen/chat: params are missing');
  if (typeof params.sessionId !== 'string' || params.sessionId.length === 0) throw invalidParams('qwen/chat: sessionId must be a non-empty string');
  if (!Array.isArray(params.messages) || params.messages.length === 0) throw invalidParams('qwen/chat: messages must be a non-empty array');
  params.messages.forEach((m: ChatMessage, i) => {
    if (!m || !ROLES.has(m.role) || typeof m.content !== 'string') {
      throw invalidParams(`qwen/chat: messages[${i}] needs a role (system, user or assistant) and a string content`);
    }
  });
}

export class ChatService {
  readonly tally = new RequestTally();

  constructor(private readonly deps: ChatDeps) {}

  async chat(params: ChatParams, token: CancellationToken): Promise<ChatResult> {
    const ended = this.tally.start();
    let outcome: RequestOutcome = 'failed';
    try {
      const result = await this.chatCounted(params, token);
      outcome = result.stopReason === 'aborted' && token.isCancellationRequested ? 'cancelled' : 'answered';
      return result;
    } finally {
      ended(outcome);
    }
  }

  private async chatCounted(params: ChatParams, token: CancellationToken): Promise<ChatResult> {
    checkParams(params);
    const remote = remoteBackendFor(this.deps.settings());
    if (remote) return this.chatRemotely(remote, params, token);
    const loaded = await this.deps.host.require();
    const { model, pool } = loaded;
    const engine = this.deps.host.engineModule;
    const s = this.deps.settings().chat;
    const maxTokens = positiveInt(params.maxTokens) ?? s.maxTokens;

    let promptTokens: number[];
    try {
      // Control tokens come only from the template: contents are encoded as plain text.
      promptTokens = encodeChatPrompt(model.tokenizer, engine.renderChatPrompt, model.chatTemplate, params.messages);
    } catch (e) {
      throw asResponseError(e, 'Rendering the chat prompt');
    }
    const capacity = model.info.contextSize;
    // At least a few tokens of reply must fit after the prompt.
    if (promptTokens.length + Math.min(maxTokens, 16) > capacity) {
      throw promptTooLongError('chat prompt', promptTokens.length, capacity);
    }

    const slot = pool.chatSlot(params.sessionId);
    if (slot.busy) throw invalidParams(`qwen/chat: session ${params.sessionId} already has a reply in progress`);
    pool.setBusy(slot, true);
    const fan = new AbortFan();
    const listener = token.onCancellationRequested(() => fan.abort(AbortReasons.client));
    fan.onDispose(() => listener.dispose());
    try {
      const shared = this.deps.settings().tuning.reusePrefix ? commonPrefixLength(slot.seq.tokens, promptTokens) : 0;
      const limit = pool.makeRoom(slot, promptTokens.length + maxTokens);
      // Busy completion slots may hold part of the context: shorten the reply rather than fail.
      if (limit <= promptTokens.length) throw promptTooLongError('chat prompt', promptTokens.length, limit);
      const scheduled = new ScheduledSequence(slot.seq, this.deps.host.scheduler, 'chat');
      // Without reuse the whole prompt is evaluated again (generate() would reuse what it finds).
      if (shared === 0) scheduled.truncate(0);
      const token = params.partialResultToken;
      const result = await engine.generate(model, scheduled, promptTokens, {
        maxTokens: Math.min(maxTokens, limit - promptTokens.length),
        sampling: {
          temperature: numberOr(params.temperature, s.temperature),
          topP: numberOr(params.topP, s.topP),
          topK: 40,
          repeatPenalty: 1.05,
          repeatLastN: 64,
        },
        signal: fan.signal,
        onText: (delta) => {
          if (token !== undefined && token !== null) this.deps.sendDelta(token, delta);
        },
      });
      if (result.tokens.length > 0) this.deps.host.lastTokensPerSecond = result.tokensPerSecond;
      return {
        text: result.text,
        stopReason: result.stopReason,
        stats: {
          promptTokens: result.promptTokens,
          cachedTokens: result.cachedTokens,
          evaluatedTokens: result.evaluatedTokens,
          generatedTokens: result.tokens.length,
          tokensPerSecond: result.tokensPerSecond,
          prefillMs: result.prefillMs,
          decodeMs: result.decodeMs,
        },
      };
    } catch (e) {
      throw asResponseError(e, 'Chat');
    } finally {
      fan.dispose();
      pool.setBusy(slot, false);
    }
  }

  /** settings.remoteUrl is set: the reply comes from that OpenAI-compatible server, streamed the same way. */
  private async chatRemotely(remote: RemoteBackend, params: ChatParams, token: CancellationToken): Promise<ChatResult> {
    const fan = new AbortFan();
    const listener = token.onCancellationRequested(() => fan.abort(AbortReasons.client));
    const progressToken = params.partialResultToken;
    try {
      return await remote.chat(params, this.deps.settings().chat, fan.signal, (delta) => {
        if (progressToken !== undefined && progressToken !== null) this.deps.sendDelta(progressToken, delta);
      });
    } catch (e) {
      throw asResponseError(e, `Chat (remote server ${remote.baseUrl})`);
    } finally {
      listener.dispose();
    }
  }
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

function numberOr(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

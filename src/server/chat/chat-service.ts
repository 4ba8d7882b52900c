// qwen/chat: renders the conversation with the model's chat template, runs it on the
// conversation's own slot (so the previous turns' KV is reused and only the new messages are
// evaluated), streams the text through $/progress and answers with the whole reply and its stats.
// Chat runs at the lower priority: its sequence asks the scheduler before each step, so a
// completion can cut in between two tokens and the chat continues afterwards.
import type { CancellationToken } from 'vscode-languageserver';
import { commonPrefixLength } from '../../engine/generate';
import type { ChatMessage, ChatParams, ChatResult } from '../../protocol';
import type { ChatParamsWithContext, ChatResultWithContext, WorkspaceSearchResult } from '../../protocol/workspace';
import { fitPrompt } from './prompt-budget';
import { encodeChatPrompt } from '../../engine/chat-prompt-tokens';
import { asResponseError, invalidParams, promptTooLongError } from '../errors';
import type { ModelHost } from '../model-host';
import { AbortFan, AbortReasons } from '../scheduler/abort';
import { RequestOutcome, RequestTally } from '../request-counters';
import { ScheduledSequence } from '../scheduler/scheduled-sequence';
import { remoteBackendFor, RemoteBackend } from '../remote/remote-backend';
import type { EffectiveSettings } from '../settings';

export interface ChatDeps {
  host: ModelHost;
  settings: () => EffectiveSettings;
  /** Sends one streamed piece of the reply to the client. */
  sendDelta: (partialResultToken: string | number, delta: string) => void;
  /** The workspace index, for turns that ask for workspace retrieval. */
  workspace?: { search(query: string, limit: number): WorkspaceSearchResult };
}

/** Candidate chunks retrieved for a question; the budget decides how many go in. */
const retrievedChunks = 24;

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

  async chat(params: ChatParamsWithContext, token: CancellationToken): Promise<ChatResultWithContext> {
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

  private async chatCounted(original: ChatParamsWithContext, token: CancellationToken): Promise<ChatResultWithContext> {
    checkParams(original);
    checkContextParams(original);
    const remote = remoteBackendFor(this.deps.settings());
    const s = this.deps.settings().chat;
    const maxTokens = positiveInt(original.maxTokens) ?? s.maxTokens;
    if (remote) {
      // No tokenizer for a remote model: about three characters per token.
      const estimate = (text: string) => Math.ceil(text.length / 3);
      const fitted = this.fitted(
        original,
        this.deps.settings().contextSize,
        maxTokens,
        (m) => estimate(m.map((x) => x.content).join('')) + 8 * m.length + 16,
        estimate,
      );
      return { ...(await this.chatRemotely(remote, fitted.params, token)), ...fitted.extras };
    }
    const loaded = await this.deps.host.require();
    const { model, pool } = loaded;
    const engine = this.deps.host.engineModule;
    const encode = (messages: ChatMessage[]) => encodeChatPrompt(model.tokenizer, engine.renderChatPrompt, model.chatTemplate, messages);
    const { params, extras } = this.fitted(
      original,
      model.info.contextSize,
      maxTokens,
      (m) => encode(m).length,
      (t) => model.tokenizer.encode(t).length,
    );

    let promptTokens: number[];
    try {
      // Control tokens come only from the template: contents are encoded as plain text.
      promptTokens = encode(params.messages);
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
        ...extras,
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

  /**
   * With fitToContext (the extension's chat view), attachments and retrieved workspace chunks go
   * into the last user message and everything is fitted to the context (prompt-budget.ts); other
   * clients get their messages exactly as sent.
   */
  private fitted(
    params: ChatParamsWithContext,
    capacity: number,
    maxTokens: number,
    promptTokens: (m: ChatMessage[]) => number,
    textTokens: (t: string) => number,
  ): { params: ChatParams; extras: Pick<ChatResultWithContext, 'sources' | 'notices'> } {
    const wantsWorkspace = typeof params.workspaceQuery === 'string' && params.workspaceQuery.trim() !== '';
    if (!params.fitToContext && !params.attachments?.length && !wantsWorkspace) return { params, extras: {} };
    const notices: string[] = [];
    let chunks: WorkspaceSearchResult['hits'] = [];
    if (wantsWorkspace) {
      if (!this.deps.workspace) notices.push('The workspace index is not available in this server.');
      else {
        const found = this.deps.workspace.search(params.workspaceQuery!, retrievedChunks);
        chunks = found.hits;
        if (found.status.state !== 'ready') notices.push(`The workspace index is still being built (${found.status.files} files so far).`);
        if (found.status.notice) notices.push(found.status.notice);
        if (found.hits.length === 0) notices.push('Nothing in the workspace index matched the question.');
      }
    }
    try {
      const fit = fitPrompt({ messages: params.messages, attachments: params.attachments ?? [], chunks, capacity, maxTokens, promptTokens, textTokens });
      const extras: Pick<ChatResultWithContext, 'sources' | 'notices'> = { notices: [...notices, ...fit.notices] };
      if (wantsWorkspace) extras.sources = fit.sources;
      return { params: { ...params, messages: fit.messages }, extras };
    } catch (e) {
      throw asResponseError(e, 'Fitting the chat prompt to the context');
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

const attachmentKinds = new Set(['file', 'symbol', 'selection', 'problems', 'changes']);

function checkContextParams(params: ChatParamsWithContext): void {
  if (params.attachments !== undefined) {
    if (!Array.isArray(params.attachments)) throw invalidParams('qwen/chat: attachments must be an array');
    params.attachments.forEach((a, i) => {
      if (!a || !attachmentKinds.has(a.kind) || typeof a.label !== 'string' || typeof a.text !== 'string') {
        throw invalidParams(`qwen/chat: attachments[${i}] needs a kind (file, symbol, selection, problems or changes), a string label and a string text`);
      }
    });
  }
  if (params.workspaceQuery !== undefined && typeof params.workspaceQuery !== 'string') throw invalidParams('qwen/chat: workspaceQuery must be a string');
  if (params.fitToContext !== undefined && typeof params.fitToContext !== 'boolean') throw invalidParams('qwen/chat: fitToContext must be a boolean');
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

function numberOr(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

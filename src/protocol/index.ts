// Messages between the extension, the language server and the chat webview, typed once here.
// The server answers the standard LSP textDocument/inlineCompletion request for completions; the
// qwen/* methods below carry what LSP has no standard message for. This file imports nothing
// from vscode or vscode-languageserver, so the webview bundle can use it too.

/** Settings the client sends in initializationOptions and workspace/didChangeConfiguration. */
export interface ServerSettings {
  modelPath: string; // '' = no model configured
  device: 'auto' | 'cpu' | 'cuda';
  threads: number; // 0 = auto
  contextSize: number; // KV capacity in tokens
  completion: {
    enabled: boolean;
    maxTokens: number;
    maxLines: number;
    temperature: number;
    prefixLines: number;
    suffixLines: number;
    contextTokens: number; // token budget of the FIM prompt
    timeBudgetMs: number; // return what we have after this
    /** Prefill a file's prompt in the background when it is opened, focused or the cursor jumps (default true). */
    warmup?: boolean;
    /** After an accepted suggestion, compute the next one in the background (default true). */
    prefetch?: boolean;
    /**
     * Most tokens of the short window a request answers from when its full prompt cannot be
     * prefilled within the time budget (default 384; 0 never answers from a short window). The
     * window is the largest of 64, 128, 256, 384, ... tokens up to this that the measured prefill
     * rate affords.
     */
    shortContextTokens?: number;
  };
  chat: {
    maxTokens: number;
    temperature: number;
    topP: number;
  };
  /** Optional OpenAI-compatible server to use instead of the local engine ('' = local). */
  remoteUrl?: string;
  /** Server-only tuning (optional; see ServerTuning below). */
  tuning?: ServerTuning;
}

/** Extra context a client may attach to an inline completion request (other files). */
export interface CompletionContextSnippet {
  path: string; // workspace-relative
  text: string;
}

export const Methods = {
  chat: 'qwen/chat',
  status: 'qwen/status',
  getStatus: 'qwen/getStatus',
  completionContext: 'qwen/completionContext',
  tokenize: 'qwen/tokenize',
  /** Notification (WarmCompletionParams): prefill this cursor's completion prompt in the background. */
  warmCompletion: 'qwen/warmCompletion',
  /** Request (PrefetchCompletionParams) → inline completion items, computed at background priority. */
  prefetchCompletion: 'qwen/prefetchCompletion',
} as const;

/**
 * qwen/warmCompletion: the user opened or focused a document, or jumped the cursor; the server
 * prefills the FIM prompt a completion at `position` would use, at the lowest priority, so the
 * first keystroke there finds it cached. Ignored when `version` is not the server's version of
 * the document (the text moved on since).
 */
export interface WarmCompletionParams {
  textDocument: { uri: string; version: number };
  position: { line: number; character: number };
}

/**
 * qwen/prefetchCompletion: a suggestion was accepted; the completion at the new cursor is computed
 * at background priority (any real request runs first) so the client can cache and show it.
 * Answers [] when the document moved past `version`, or when a real request took over.
 */
export type PrefetchCompletionParams = WarmCompletionParams;

export type ChatRole = 'system' | 'user' | 'assistant';
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatParams {
  /** Stable id of the conversation: its KV is kept across turns. */
  sessionId: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  /** Progress token for streamed partial text ($/progress with ChatProgress values). */
  partialResultToken?: string | number;
}

/** One $/progress value while a chat reply streams. */
export interface ChatProgress {
  delta: string;
}

export interface GenerationStats {
  promptTokens: number;
  cachedTokens: number;
  evaluatedTokens: number;
  generatedTokens: number;
  tokensPerSecond: number;
  prefillMs: number;
  decodeMs: number;
}

export interface ChatResult {
  text: string;
  stopReason: string;
  stats: GenerationStats;
}

export type ServerState = 'noModel' | 'loading' | 'ready' | 'error';

export interface StatusParams {
  state: ServerState;
  message?: string; // error text, or what is loading
  progress?: number; // 0..1 while loading
  model?: {
    name: string;
    path: string;
    device: string; // backend description
    contextSize: number;
    memoryBytes: number;
    parameterCount: number;
    /** What actually runs the model (absent from older servers). */
    runsOn?: 'cpu' | 'cuda';
    /** Why the GPU is not used, when it is not: a GpuUnavailableCode and its sentence. */
    gpuNotUsed?: { code: string; message: string };
    /** The GPU self-check's numbers when it ran ("cosine min 0.99987 (threshold 0.99), ..."). */
    gpuSelfCheck?: string;
  };
  lastTokensPerSecond?: number;
}

/** Stats the server attaches to each inline completion item (as `qwenStats`, see below). */
export interface CompletionStats extends GenerationStats {
  elapsedMs: number;
  slot: number;
  /** Why generation ended: 'eos', 'maxTokens', 'aborted', 'callerStop' (block end, max lines, time budget)... */
  stopReason?: string;
  /** Milliseconds the request waited for the engine (another job was running). */
  queuedMs?: number;
  /** Speculative decoding (greedy completions): tokens guessed, and how many the model agreed with. */
  draftTokens?: number;
  acceptedDraftTokens?: number;
  /**
   * Which prompt answered: 'full', or 'short' when the full prompt could not be prefilled within
   * the time budget and a short window around the cursor answered while the full one fills in the
   * background.
   */
  window?: 'full' | 'short';
  /** True for a qwen/prefetchCompletion answer. */
  prefetch?: boolean;
}

export interface TokenizeParams {
  text: string;
  special?: boolean;
}

// ---- Added by the server (helper S). Everything below is optional or new, so older clients and
// servers keep working with each other.

/** qwen/completionContext notification: snippets of other files for completions in `uri`. */
export interface CompletionContextParams {
  /** The document the snippets are for; omitted = use them for every document. */
  uri?: string;
  snippets: CompletionContextSnippet[];
}

/**
 * Server-only tuning that the extension need not send (all optional; defaults in
 * src/protocol/settings-table.ts). `reusePrefix: false` turns KV prefix reuse off (for benchmarks).
 */
export interface ServerTuning {
  reusePrefix?: boolean;
  /** Most completion slots (KV sequences) kept at once. */
  completionSlots?: number;
  /** Consecutive completions after which a waiting chat gets a turn. */
  chatTurnAfterCompletions?: number;
  /** Most draft tokens per speculative verify step of a greedy completion; 0 turns speculation off. */
  speculativeDraft?: number;
}

/** Extra methods; the names in `Methods` above are unchanged. */
export const ServerMethods = {
  /** Request, no params: the stats of the most recent finished inline completion (or null). */
  lastCompletionStats: 'qwen/lastCompletionStats',
} as const;

/**
 * The LSP InlineCompletionItem has no data field; the server adds this extra JSON property (which
 * LSP clients ignore) to each item it returns, and keeps the last one for qwen/lastCompletionStats.
 */
export interface QwenInlineCompletionItemExtras {
  qwenStats?: CompletionStats;
}

// ---- qwen/debugStats (added by the server helper for the soak test and benchmarks). Not needed
// by the extension; any client may ask.

export interface DebugStatsParams {
  /** Evict every idle KV slot first, so `kv.usedTokens` shows what nothing should hold anymore. */
  dropIdleCaches?: boolean;
  /** Include the last inline completion's FIM prompt, decoded with its special tokens. */
  includeLastPrompt?: boolean;
}

export interface DebugSlot {
  id: number;
  kind: 'completion' | 'chat';
  /** Document uri or chat session id that last used the slot. */
  key: string;
  tokens: number;
  busy: boolean;
}

/** Request counts since the server started. */
export interface RequestCounters {
  started: number;
  /** Finished with a result (possibly partial, e.g. after the time budget). */
  answered: number;
  /** Stopped by $/cancelRequest. */
  cancelled: number;
  /** Stopped because a newer completion for the same document arrived. */
  superseded: number;
  /** Answered with an error. */
  failed: number;
}

export interface FimPromptLayout {
  /** Tokens of the repo-level part (other files), 0 without snippets. */
  contextTokens: number;
  /** Whole lines before the cursor line (after <|fim_prefix|>). */
  prefixTokens: number;
  suffixTokens: number;
  /** The cursor line up to the cursor (after <|fim_middle|>). */
  middleTokens: number;
  /** First document line in the prefix window. */
  prefixStartLine: number;
  /** The prompt decoded with special tokens (only when asked with includeLastPrompt). */
  text?: string;
}

export interface DebugStats {
  state: ServerState;
  kv: {
    /** Tokens held natively over all sequences (the engine's own count). */
    usedTokens: number;
    capacityTokens: number;
    bytesPerToken: number;
  } | null;
  slots: DebugSlot[];
  evictions: number;
  scheduler: { completionGrants: number; chatGrants: number; chatYields: number; backgroundGrants?: number; waiting: number; busy: boolean };
  /** Background work on completion slots since the server started (absent from older servers). */
  background?: BackgroundStats;
  completions: RequestCounters;
  chats: RequestCounters;
  /** Requests (completions and chats) that have not answered yet. */
  inFlight: number;
  rssBytes: number;
  heapUsedBytes: number;
  lastPrompt: FimPromptLayout | null;
  /** Stats of the most recent finished completions, oldest first (at most 32). */
  recentCompletions: CompletionStats[];
  /** Completions generating now: document uri → text pieces streamed so far (about one per token). */
  liveCompletions: Record<string, number>;
}

export interface BackgroundStats {
  /** qwen/warmCompletion notifications that started a warm-up. */
  warmups: number;
  /** Prompt tokens warm-ups prefilled. */
  warmupTokens: number;
  /** Full prompts left filling in the background after a short-window answer. */
  longFills: number;
  /** Prompt tokens those fills prefilled. */
  longFillTokens: number;
  /** Background prefills dropped for a newer one on the same slot. */
  superseded: number;
  /** Background prefills stopped because a real request for the same slot arrived. */
  preempted: number;
  /** Background prefills that reached their whole prompt. */
  completed: number;
  /** Completions answered from a short window. */
  shortWindowAnswers: number;
  /** qwen/prefetchCompletion requests, and those that answered with text. */
  prefetches: number;
  prefetchAnswers: number;
  /** The measured prefill speed the short-window decision uses (null before any prefill). */
  prefillTokensPerSecond: number | null;
}

export const DebugMethods = {
  /** Request (DebugStatsParams) → DebugStats. */
  debugStats: 'qwen/debugStats',
} as const;

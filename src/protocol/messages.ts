// Every qwen/* request and notification, typed once: the method name with its params and result
// types. The extension sends through these and the server registers its handlers through them, so
// a params or result type changed here is a compile error on both sides rather than a cast.
// Imports nothing from vscode-languageclient or vscode-languageserver (each side turns a
// descriptor into its library's RequestType/NotificationType); the method names are the constants
// in index.ts and workspace.ts, which tests and other clients keep using.
import {
  CompletionContextParams,
  CompletionStats,
  DebugMethods,
  DebugStats,
  DebugStatsParams,
  Methods,
  PrefetchCompletionParams,
  ServerMethods,
  StatusParams,
  TokenizeParams,
  WarmCompletionParams,
} from './index';
import {
  ChatParamsWithContext,
  ChatResultWithContext,
  IndexSettingsParams,
  IndexStatus,
  WorkspaceFilesParams,
  WorkspaceFilesResult,
  WorkspaceMethods,
  WorkspaceSearchParams,
  WorkspaceSearchResult,
} from './workspace';

/** What qwen/prefetchCompletion answers: LSP InlineCompletionItems, of which clients read the text. */
export interface PrefetchCompletionItem {
  insertText: string | { value: string };
  qwenStats?: CompletionStats;
}

/**
 * A request's method with its types. The `_` tuple only carries the types (it is always
 * undefined); vscode-jsonrpc's RequestType has the same shape, so LSP's standard requests
 * (InlineCompletionRequest.type) fit wherever a TypedRequest does.
 */
export interface TypedRequest<P, R> {
  readonly method: string;
  readonly _?: readonly [P, R, ...unknown[]];
}

export interface TypedNotification<P> {
  readonly method: string;
  readonly _?: readonly [P, ...unknown[]];
}

function request<P, R>(method: string): TypedRequest<P, R> {
  return { method };
}

function notification<P>(method: string): TypedNotification<P> {
  return { method };
}

/** Requests from the client to the server. */
export const Requests = {
  chat: request<ChatParamsWithContext, ChatResultWithContext>(Methods.chat),
  getStatus: request<Record<string, never> | undefined, StatusParams>(Methods.getStatus),
  tokenize: request<TokenizeParams, number[]>(Methods.tokenize),
  lastCompletionStats: request<undefined, CompletionStats | null>(ServerMethods.lastCompletionStats),
  debugStats: request<DebugStatsParams | undefined, DebugStats>(DebugMethods.debugStats),
  workspaceSearch: request<WorkspaceSearchParams, WorkspaceSearchResult>(WorkspaceMethods.search),
  workspaceFiles: request<WorkspaceFilesParams, WorkspaceFilesResult>(WorkspaceMethods.files),
  indexStatus: request<undefined, IndexStatus>(WorkspaceMethods.indexStatus),
  /** The answer has LSP's inline-completion item shape (the protocol stays free of LSP types here). */
  prefetchCompletion: request<PrefetchCompletionParams, PrefetchCompletionItem[] | null>(Methods.prefetchCompletion),
} as const;

/** Notifications from the client to the server. */
export const ClientNotifications = {
  completionContext: notification<CompletionContextParams>(Methods.completionContext),
  indexSettings: notification<IndexSettingsParams>(WorkspaceMethods.indexSettings),
  warmCompletion: notification<WarmCompletionParams>(Methods.warmCompletion),
} as const;

/** Notifications from the server to the client. */
export const ServerNotifications = {
  status: notification<StatusParams>(Methods.status),
  indexStatus: notification<IndexStatus>(WorkspaceMethods.indexStatus),
} as const;

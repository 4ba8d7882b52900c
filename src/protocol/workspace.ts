// Messages for a chat that knows the workspace: attachments sent with a chat turn, workspace
// retrieval (@workspace), and the index's state. New types only; qwen/chat's own types in
// index.ts are extended, not changed, so clients that send none of this work as before.
import type { ChatParams, ChatResult } from './index';

export type AttachmentKind = 'file' | 'symbol' | 'selection' | 'problems' | 'changes';

/** Something the user attached to a chat turn (an @-mention); the server fits it to the context. */
export interface ChatAttachment {
  kind: AttachmentKind;
  /** Shown to the model and the user: "src/a.ts", "selection of src/a.ts:3-9", "problems in a.ts". */
  label: string;
  text: string;
}

/** qwen/chat params with attachments; the server puts them in the last user message. */
export interface ChatParamsWithContext extends ChatParams {
  attachments?: ChatAttachment[];
  /** Retrieve workspace chunks for this question (@workspace) into what is left of the budget. */
  workspaceQuery?: string;
  /** Fit everything to the context (drop old turns, cut attachments) instead of failing. */
  fitToContext?: boolean;
}

/** A retrieved piece of a workspace file that went into the prompt. */
export interface WorkspaceSource {
  /** Workspace-relative path. */
  path: string;
  uri: string;
  startLine: number;
  endLine: number;
}

export interface ChatResultWithContext extends ChatResult {
  /** The workspace chunks the prompt held (with workspaceQuery). */
  sources?: WorkspaceSource[];
  /** What was cut or left out to fit the context ("src/big.ts was cut to 120 of 900 lines"). */
  notices?: string[];
}

export type IndexState = 'idle' | 'building' | 'ready';

export interface IndexStatus {
  state: IndexState;
  files: number;
  chunks: number;
  /** Set when the size limit left files out, or when something needs saying. */
  notice?: string;
}

export interface WorkspaceSearchParams {
  query: string;
  limit?: number;
}

export interface WorkspaceSearchResult {
  status: IndexStatus;
  hits: (WorkspaceSource & { score: number; text: string })[];
}

/** Sent by the client after start and when files.exclude changes: the index (re)builds with it. */
export interface IndexSettingsParams {
  /** The files.exclude setting as VS Code holds it: glob -> true/false. */
  filesExclude: Record<string, unknown>;
}

export const WorkspaceMethods = {
  /** Request WorkspaceSearchParams -> WorkspaceSearchResult. */
  search: 'qwen/workspaceSearch',
  /** Notification server -> client with IndexStatus; also a request (no params) -> IndexStatus. */
  indexStatus: 'qwen/indexStatus',
  /** Request WorkspaceFilesParams -> WorkspaceFilesResult: indexed files fuzzy-matched (@file). */
  files: 'qwen/workspaceFiles',
  /** Notification client -> server with IndexSettingsParams. */
  indexSettings: 'qwen/indexSettings',
} as const;

export interface WorkspaceFilesParams {
  query: string;
  limit?: number;
}

export interface WorkspaceFilesResult {
  status: IndexStatus;
  files: { path: string; uri: string }[];
}

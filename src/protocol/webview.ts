// Messages between the extension host (src/extension/chat-view-provider.ts) and the chat webview
// (webview/chat.ts), typed once here as two maps from message type to payload. Both sides derive
// their message unions from these maps, so adding a field or a message type is checked at compile
// time in both directions. This file imports nothing: the webview bundle includes it as-is.

/** One message as the chat view shows it. Ids are stable across reloads (saved with history). */
export interface ViewMessage {
  id: string;
  role: 'user' | 'assistant';
  text: string;
  /** Set when generation of this reply failed or was stopped; shown under the text. */
  error?: string;
  /** Set while the reply is still streaming. */
  streaming?: boolean;
  /** A short description of the context sent with a user message ("selection of a.ts:3-9"). */
  contextLabel?: string;
  /** What the user attached with @-mentions (labels), recorded with the message. */
  attachments?: string[];
  /** Workspace files a reply's prompt held (@workspace); shown as links under the reply. */
  sources?: SourceLink[];
  /** What was cut or left out to fit the context. */
  notices?: string[];
  /** Files the reply's code blocks name (offered as Apply All). */
  applyFiles?: string[];
}

/** The @-mentions the chat input offers. */
export type MentionKind = 'file' | 'symbol' | 'selection' | 'problems' | 'changes' | 'workspace';
export const mentionKinds: readonly MentionKind[] = ['file', 'symbol', 'selection', 'problems', 'changes', 'workspace'];

/** One entry of an @file / @symbol completion list; `id` is the host's handle for it. */
export interface MentionItem {
  id: string;
  label: string;
  detail: string;
}

/** An attachment waiting to be sent, shown as a chip. */
export interface AttachmentChip {
  id: string;
  kind: MentionKind;
  label: string;
  /** Tokens it costs (estimated when no model is loaded); 0 for @workspace (decided at send). */
  tokens: number;
}

export interface SourceLink {
  path: string;
  uri: string;
  startLine: number;
  endLine: number;
}

/** Speed figures shown under a finished reply. */
export interface ReplyStats {
  generatedTokens: number;
  tokensPerSecond: number;
}

/** A message with no fields besides its type. */
export type NoFields = Record<never, never>;

/** Host -> webview. */
export interface HostToWebview {
  /** The whole conversation, sent after `ready` and after New chat. */
  state: { messages: ViewMessage[]; busy: boolean; modelLabel: string; contextLabel: string | null };
  /** A message was added at the end (the user's prompt, or an empty assistant reply that will stream). */
  append: { message: ViewMessage };
  /** More text for a streaming reply. */
  delta: { id: string; text: string };
  /** A reply finished, failed or was stopped. */
  done: { id: string; error?: string; stats?: ReplyStats };
  /** What "include context" would attach right now (null = nothing: no editor open). */
  context: { label: string | null };
  /** Model/server state for the header line. */
  status: { ready: boolean; label: string };
  /** Put focus in the prompt box (after Open Chat). */
  focusInput: NoFields;
  /** Completion list entries for an @-mention query. */
  mentionItems: { kind: MentionKind; query: string; items: MentionItem[] };
  /** The attachments waiting to be sent (all of them, replacing what the page shows). */
  attachments: { chips: AttachmentChip[] };
  /** Sources and notices of a reply, sent when it finishes. */
  replyContext: { id: string; sources: SourceLink[]; notices: string[]; applyFiles: string[] };
}

/** Webview -> host. Every one is validated by the host before it acts (src/extension/webview-messages.ts). */
export interface WebviewToHost {
  ready: NoFields;
  send: { text: string; includeContext: boolean };
  stop: NoFields;
  regenerate: NoFields;
  newChat: NoFields;
  copy: { text: string };
  insert: { code: string };
  apply: { code: string };
  /** Asks for the completion list of an @-mention (`query` is what follows "@file " etc.). */
  mentionQuery: { kind: MentionKind; query: string };
  /** Attaches an item the host offered (`id` from mentionItems; '' for selection/problems/changes/workspace). */
  attach: { kind: MentionKind; id: string };
  /** Removes a waiting attachment. */
  detach: { id: string };
  /** Opens a source file of a reply at a line (only workspace files are opened). */
  openSource: { uri: string; line: number };
  /** Reviews and applies every file the reply `id` names (one multi-file diff, one undo). */
  applyAll: { id: string };
}

/** The union of `{ type: K } & Payload` for every key of a message map. */
export type MessageOf<M> = { [K in keyof M]: { type: K } & M[K] }[keyof M];

export type HostMessage = MessageOf<HostToWebview>;
export type WebviewMessage = MessageOf<WebviewToHost>;

/** Limits the host enforces on incoming text, so a misbehaving page cannot make it do huge work. */
export const WebviewLimits = {
  maxPromptChars: 200_000,
  maxCodeChars: 2_000_000,
  maxIdChars: 4_096,
} as const;

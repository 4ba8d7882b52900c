// Messages between the extension host (src/extension/chatViewProvider.ts) and the chat webview
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
}

/** Webview -> host. Every one is validated by the host before it acts (src/extension/webviewMessages.ts). */
export interface WebviewToHost {
  ready: NoFields;
  send: { text: string; includeContext: boolean };
  stop: NoFields;
  regenerate: NoFields;
  newChat: NoFields;
  copy: { text: string };
  insert: { code: string };
  apply: { code: string };
}

/** The union of `{ type: K } & Payload` for every key of a message map. */
export type MessageOf<M> = { [K in keyof M]: { type: K } & M[K] }[keyof M];

export type HostMessage = MessageOf<HostToWebview>;
export type WebviewMessage = MessageOf<WebviewToHost>;

/** Limits the host enforces on incoming text, so a misbehaving page cannot make it do huge work. */
export const WebviewLimits = {
  maxPromptChars: 200_000,
  maxCodeChars: 2_000_000,
} as const;

// Validation of every message the chat webview posts to the extension host. The webview renders
// model output, so the host treats it as untrusted: a message is acted on only after its type is
// known and each field has the expected type and a bounded size. Anything else is rejected with a
// reason that names the problem (logged, never shown as a crash). Free of `vscode` so it is unit-tested.
import { mentionKinds, WebviewLimits, WebviewMessage, WebviewToHost } from '../protocol/webview';

export type ValidationResult = { ok: true; message: WebviewMessage } | { ok: false; error: string };

type FieldCheck = (value: unknown, field: string) => string | null;

function text(maxChars: number, allowEmpty: boolean): FieldCheck {
  return (value, field) => {
    if (typeof value !== 'string') return `field "${field}" must be a string, got ${describe(value)}`;
    if (!allowEmpty && value.trim() === '') return `field "${field}" must not be empty`;
    if (value.length > maxChars) return `field "${field}" is ${value.length} characters, more than the limit of ${maxChars}`;
    return null;
  };
}

const mentionKind: FieldCheck = (value, field) =>
  typeof value === 'string' && (mentionKinds as readonly string[]).includes(value)
    ? null
    : `field "${field}" must be one of ${mentionKinds.join(', ')}, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 32)) : describe(value)}`;

const lineNumber: FieldCheck = (value, field) =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 10_000_000
    ? null
    : `field "${field}" must be a line number (an integer from 1), got ${describe(value)}`;

const flag: FieldCheck = (value, field) => (typeof value === 'boolean' ? null : `field "${field}" must be a boolean, got ${describe(value)}`);

// The schema lists, for each message type, its fields and how to check them. Typing it as a record
// over `keyof WebviewToHost` makes the compiler insist that every message type has an entry.
const schema: { [K in keyof WebviewToHost]: { [F in keyof WebviewToHost[K]]-?: FieldCheck } } = {
  ready: {},
  send: { text: text(WebviewLimits.maxPromptChars, false), includeContext: flag },
  stop: {},
  regenerate: {},
  newChat: {},
  copy: { text: text(WebviewLimits.maxCodeChars, true) },
  insert: { code: text(WebviewLimits.maxCodeChars, true) },
  apply: { code: text(WebviewLimits.maxCodeChars, true) },
  mentionQuery: { kind: mentionKind, query: text(WebviewLimits.maxIdChars, true) },
  attach: { kind: mentionKind, id: text(WebviewLimits.maxIdChars, true) },
  detach: { id: text(WebviewLimits.maxIdChars, false) },
  openSource: { uri: text(WebviewLimits.maxIdChars, false), line: lineNumber },
  applyAll: { id: text(WebviewLimits.maxIdChars, false) },
};

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/**
 * Checks one raw message from `webview.onDidReceiveMessage`. On success the returned message is a
 * fresh object holding only the known fields, so stray properties never reach the handlers.
 */
export function validateWebviewMessage(raw: unknown): ValidationResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, error: `message must be an object, got ${describe(raw)}` };
  }
  const record = raw as Record<string, unknown>;
  const type = record.type;
  if (typeof type !== 'string') return { ok: false, error: 'message has no string "type" field' };
  if (!Object.prototype.hasOwnProperty.call(schema, type)) {
    return { ok: false, error: `unknown message type "${type.slice(0, 64)}"` };
  }
  const fields = schema[type as keyof WebviewToHost] as Record<string, FieldCheck>;
  const clean: Record<string, unknown> = { type };
  for (const [field, check] of Object.entries(fields)) {
    const problem = check(record[field], field);
    if (problem) return { ok: false, error: `"${type}" message: ${problem}` };
    clean[field] = record[field];
  }
  return { ok: true, message: clean as unknown as WebviewMessage };
}

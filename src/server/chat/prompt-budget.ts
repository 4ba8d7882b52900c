// Fitting a chat turn to the model's context after the user pressed send: the conversation, the
// user's attachments (@file, @selection, ...) and retrieved workspace chunks share what the
// context holds once the reply's room is set aside. Nothing here fails: older turns are dropped
// first, then attachments are cut (at line boundaries, with a marker in the text and a notice for
// the user), then workspace chunks fill what is left, best first. Only a question that alone is
// larger than the context is itself cut.
import type { ChatMessage } from '../../protocol';
import type { ChatAttachment, WorkspaceSource } from '../../protocol/workspace';

export interface RetrievedChunk extends WorkspaceSource {
  text: string;
}

export interface BudgetInput {
  messages: ChatMessage[];
  attachments: readonly ChatAttachment[];
  /** Candidate workspace chunks, best first. */
  chunks: readonly RetrievedChunk[];
  /** Context capacity in tokens. */
  capacity: number;
  /** Tokens the reply wants. */
  maxTokens: number;
  /** Tokens of a whole prompt for these messages (template included). */
  promptTokens: (messages: ChatMessage[]) => number;
  /** Tokens of a piece of text. */
  textTokens: (text: string) => number;
}

export interface BudgetResult {
  messages: ChatMessage[];
  sources: WorkspaceSource[];
  notices: string[];
}

/** Room kept for the reply: what was asked, but never more than a quarter of the context. */
export function replyReserve(capacity: number, maxTokens: number): number {
  return Math.max(16, Math.min(maxTokens, Math.floor(capacity / 4)));
}

/** A fence longer than any backtick run in `text`. */
function fenceFor(text: string): string {
  let longest = 0;
  for (const m of text.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}

function block(label: string, text: string): string {
  const fence = fenceFor(text);
  return `${label}:\n${fence}\n${text}\n${fence}`;
}

/** The first lines of `text` that fit in `tokens`, by halving; with how many lines were kept. */
function cutToTokens(text: string, tokens: number, count: (t: string) => number): { text: string; kept: number; total: number } {
  const lines = text.split('\n');
  if (count(text) <= tokens) return { text, kept: lines.length, total: lines.length };
  let lo = 0;
  let hi = lines.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (count(lines.slice(0, mid).join('\n')) <= tokens) lo = mid;
    else hi = mid - 1;
  }
  return { text: lines.slice(0, lo).join('\n'), kept: lo, total: lines.length };
}

export function fitPrompt(input: BudgetInput): BudgetResult {
  const notices: string[] = [];
  const budget = input.capacity - replyReserve(input.capacity, input.maxTokens);
  const messages = input.messages.map((m) => ({ ...m }));

  // 1. The conversation alone must fit: drop the oldest turns after any system message.
  const firstTurn = messages[0]?.role === 'system' ? 1 : 0;
  let dropped = 0;
  while (messages.length - firstTurn > 1 && input.promptTokens(messages) > budget) {
    messages.splice(firstTurn, 1);
    dropped++;
  }
  // An assistant turn must not open the conversation after the cut.
  while (messages.length - firstTurn > 1 && messages[firstTurn].role !== 'user') {
    messages.splice(firstTurn, 1);
    dropped++;
  }
  if (dropped > 0) notices.push(`${dropped} earlier message${dropped === 1 ? '' : 's'} left out to fit the ${input.capacity}-token context.`);
  const question = messages[messages.length - 1];
  let base = input.promptTokens(messages);
  if (base > budget) {
    const over = base - budget;
    const cut = cutToTokens(question.content, Math.max(0, input.textTokens(question.content) - over - 8), input.textTokens);
    question.content = `${cut.text}\n[… the rest of this message was cut to fit the context]`;
    notices.push(`Your message was cut to ${cut.kept} of ${cut.total} lines to fit the ${input.capacity}-token context.`);
    base = input.promptTokens(messages);
  }

  // 2. Attachments share what is left, in order; one that needs less leaves its share to the rest.
  let left = Math.max(0, budget - base);
  const parts: string[] = [];
  const chunkParts: string[] = [];
  const attachments = input.attachments;
  for (let i = 0; i < attachments.length; i++) {
    const a = attachments[i];
    const share = Math.floor(left / (attachments.length - i));
    const overhead = input.textTokens(block(a.label, '')) + 2;
    const room = share - overhead;
    if (room <= 0) {
      notices.push(`${a.label} was left out: the ${input.capacity}-token context is full.`);
      continue;
    }
    const marker = (n: number) => `\n[… ${n} more lines cut to fit the context]`;
    let cut = cutToTokens(a.text, room, input.textTokens);
    // A cut text carries a marker line, which needs room too.
    if (cut.kept < cut.total) cut = cutToTokens(a.text, room - input.textTokens(marker(cut.total)), input.textTokens);
    let text = cut.text;
    if (cut.kept < cut.total) {
      text += marker(cut.total - cut.kept);
      notices.push(`${a.label} was cut to ${cut.kept} of ${cut.total} lines to fit the ${input.capacity}-token context.`);
    }
    const part = block(a.label, text);
    parts.push(part);
    left -= input.textTokens(part) + 2;
  }

  // 3. Workspace chunks, best first, while they fit.
  const sources: WorkspaceSource[] = [];
  for (const c of input.chunks) {
    const part = block(`${c.path}:${c.startLine}-${c.endLine}`, c.text);
    const cost = input.textTokens(part) + 2;
    if (cost > left) continue;
    chunkParts.push(part);
    left -= cost;
    sources.push({ path: c.path, uri: c.uri, startLine: c.startLine, endLine: c.endLine });
  }
  if (input.chunks.length > 0 && sources.length === 0) notices.push('No workspace code fitted in the context next to the conversation.');

  const questionText = question.content;
  const compose = () => {
    const all = [...parts, ...chunkParts];
    question.content = all.length > 0 ? `${all.join('\n\n')}\n\n${questionText}` : questionText;
  };
  compose();
  // The template and the joins cost a few tokens the sums above did not see: check the whole
  // prompt once more and drop workspace chunks, then attachments, rather than fail.
  while (input.promptTokens(messages) > budget && parts.length + chunkParts.length > 0) {
    if (chunkParts.length > 0) {
      chunkParts.pop();
      sources.pop();
    } else {
      parts.pop();
      notices.push('An attachment was left out to fit the context.');
    }
    compose();
  }
  return { messages, sources, notices };
}

// Chat prompt tokens in which control tokens come only from the chat template. Message contents
// are user text, attached files and model replies; a file that contains "<|im_end|>" or
// "<|fim_prefix|>" (our own FIM prompt builder does) must stay plain text, or it would end the
// turn or switch the model into fill-in-the-middle.
//
// How: the model's template is rendered once with a random placeholder in place of each message's
// content, so the template alone decides the structure (system message default, role headers,
// generation prompt). The rendered text is cut at the placeholders; only the template's own
// pieces are searched for special-token markers, and each run of ordinary text between two
// markers — template text and message contents together — is encoded in one piece with special
// tokens off. For contents without marker-looking text the result is exactly the tokens of
// encoding the fully rendered prompt with special tokens on, so prefix reuse and the model's
// training format are unchanged.
import { randomBytes } from 'crypto';
import type { Tokenizer } from './api';
import { QWEN_LOCAL_CHAT_TEMPLATE } from './chat-template';

export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type RenderTemplate = (template: string | null, messages: ReadonlyArray<PromptMessage>, opts: { addGenerationPrompt: boolean }) => string;

/** One piece of the rendered prompt: template text, or the content of message `message`. */
type Piece = { kind: 'template'; text: string } | { kind: 'content'; message: number };

// Special tokens in every Qwen vocabulary are written <|name|>; the tokenizer confirms each one.
const markerPattern = /<\|[A-Za-z0-9_]{1,40}\|>/g;

/**
 * Renders `messages` with `template` (null = the model has none: ChatML) and returns the prompt's
 * tokens. Throws what the template throws (a clear Error) when it cannot render.
 */
export function encodeChatPrompt(tokenizer: Tokenizer, render: RenderTemplate, template: string | null, messages: readonly PromptMessage[]): number[] {
  const pieces = renderedPieces(render, template, messages) ?? renderedPieces(render, QWEN_LOCAL_CHAT_TEMPLATE, messages);
  if (!pieces) throw new Error('Chat template: the template leaves out message contents, and the ChatML fallback failed');
  const out: number[] = [];
  let ordinary = '';
  const flush = () => {
    if (ordinary !== '') out.push(...tokenizer.encode(ordinary, { special: false }));
    ordinary = '';
  };
  for (const piece of pieces) {
    if (piece.kind === 'content') {
      ordinary += messages[piece.message].content;
      continue;
    }
    let prev = 0;
    for (const m of piece.text.matchAll(markerPattern)) {
      const id = tokenizer.tokenId(m[0]);
      if (id === undefined || !tokenizer.isSpecial(id)) continue;
      ordinary += piece.text.slice(prev, m.index);
      flush();
      out.push(id);
      prev = m.index! + m[0].length;
    }
    ordinary += piece.text.slice(prev);
  }
  flush();
  return out;
}

/**
 * The template rendered with placeholders, cut into template text and content references; null
 * when the template drops or rewrites some non-empty content (it then cannot be trusted to keep
 * contents apart from its own text, and the caller falls back to plain ChatML).
 */
function renderedPieces(render: RenderTemplate, template: string | null, messages: readonly PromptMessage[]): Piece[] | null {
  // Random per call: no content or template can contain it by accident or on purpose.
  const tag = randomBytes(9).toString('hex');
  const placeholder = (i: number) => `qwenlocal${tag}m${i}x`;
  const rendered = render(
    template,
    messages.map((m, i) => ({ role: m.role, content: placeholder(i) })),
    { addGenerationPrompt: true },
  );
  const pattern = new RegExp(`qwenlocal${tag}m(\\d+)x`, 'g');
  const pieces: Piece[] = [];
  const seen = new Set<number>();
  let prev = 0;
  for (const m of rendered.matchAll(pattern)) {
    const index = Number(m[1]);
    if (index >= messages.length) return null;
    if (m.index! > prev) pieces.push({ kind: 'template', text: rendered.slice(prev, m.index) });
    pieces.push({ kind: 'content', message: index });
    seen.add(index);
    prev = m.index! + m[0].length;
  }
  if (prev < rendered.length) pieces.push({ kind: 'template', text: rendered.slice(prev) });
  const missing = messages.some((m, i) => m.content !== '' && !seen.has(i));
  return missing ? null : pieces;
}

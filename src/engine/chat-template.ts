// Chat prompt rendering. A GGUF may carry a Jinja chat template (tokenizer.chat_template, the
// same template the Hugging Face tokenizer uses); we render it with @huggingface/jinja, a
// JavaScript implementation of the Jinja subset chat templates use. Without a template we fall
// back to ChatML, which every Qwen2.5 model was trained on, with Qwen2.5's default system message
// when the conversation brings none (the models behave noticeably worse without one).
//
// The text returned is meant to be tokenized with special=true, so that <|im_start|> and
// <|im_end|> become their control tokens. Message contents are inserted verbatim; callers that
// must keep users from injecting control tokens tokenize contents separately.

import { Template } from '@huggingface/jinja';

/** One turn of a conversation; the same shape as the protocol's ChatMessage. */
export interface ChatTemplateMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface RenderChatOptions {
  /** Append the opening of an assistant turn so the model continues as the assistant. */
  addGenerationPrompt: boolean;
}

/** Qwen2.5's default system message, used when a conversation has none. */
export const DEFAULT_SYSTEM_MESSAGE = 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.';

/**
 * Our own ChatML template, written into the synthetic GGUFs. It inserts the default system
 * message when the first message is not a system message, renders each turn as
 * "<|im_start|>role\ncontent<|im_end|>\n" and, with add_generation_prompt, opens an assistant turn.
 * Roles other than system/user/assistant are rejected through raise_exception.
 */
export const QWEN_LOCAL_CHAT_TEMPLATE = [
  "{%- if messages | length == 0 or messages[0]['role'] != 'system' -%}",
  "{{- '<|im_start|>system\\n" + DEFAULT_SYSTEM_MESSAGE + "<|im_end|>\\n' -}}",
  '{%- endif -%}',
  '{%- for message in messages -%}',
  "{%- if message['role'] != 'system' and message['role'] != 'user' and message['role'] != 'assistant' -%}",
  "{{- raise_exception('unsupported chat role: ' + message['role']) -}}",
  '{%- endif -%}',
  "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}",
  '{%- endfor -%}',
  '{%- if add_generation_prompt -%}',
  "{{- '<|im_start|>assistant\\n' -}}",
  '{%- endif -%}',
].join('\n');

const ROLES = new Set(['system', 'user', 'assistant']);

function checkMessages(messages: readonly ChatTemplateMessage[]): void {
  if (!Array.isArray(messages)) throw new Error('Chat template: messages must be an array');
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object') throw new Error(`Chat template: message ${i} is not an object`);
    if (!ROLES.has(m.role)) throw new Error(`Chat template: message ${i} has unsupported role ${JSON.stringify(m.role)} (system, user or assistant)`);
    if (typeof m.content !== 'string') throw new Error(`Chat template: message ${i} (${m.role}) has no string content`);
  });
}

/** The ChatML rendering used when the model has no template of its own. */
export function renderChatML(messages: readonly ChatTemplateMessage[], opts: RenderChatOptions): string {
  checkMessages(messages);
  let out = '';
  if (messages.length === 0 || messages[0].role !== 'system') {
    out += `<|im_start|>system\n${DEFAULT_SYSTEM_MESSAGE}<|im_end|>\n`;
  }
  for (const m of messages) out += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
  if (opts.addGenerationPrompt) out += '<|im_start|>assistant\n';
  return out;
}

// Parsing a template costs far more than rendering it, and a server renders the same one on every
// chat turn, so parsed templates are kept (there are only ever one or two per process).
const parsedTemplates = new Map<string, Template>();

function parseTemplate(template: string): Template {
  let parsed = parsedTemplates.get(template);
  if (parsed === undefined) {
    try {
      parsed = new Template(template);
    } catch (e) {
      throw new Error(`Chat template: cannot parse the model's chat template: ${(e as Error).message}`, { cause: e });
    }
    if (parsedTemplates.size >= 8) parsedTemplates.clear();
    parsedTemplates.set(template, parsed);
  }
  return parsed;
}

/**
 * Renders a conversation into prompt text with the model's chat template, or ChatML when the
 * template is null. Throws an Error that says what went wrong when the template cannot be parsed
 * or fails while rendering (including raise_exception calls made by the template itself).
 */
export function renderChatPrompt(template: string | null, messages: readonly ChatTemplateMessage[], opts: RenderChatOptions): string {
  if (template === null) return renderChatML(messages, opts);
  if (typeof template !== 'string') throw new Error(`Chat template: expected a string or null, got ${typeof template}`);
  checkMessages(messages);
  const parsed = parseTemplate(template);
  try {
    return parsed.render({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: opts.addGenerationPrompt,
      // Names Hugging Face passes to chat templates (raise_exception is built into the library).
      bos_token: '',
      eos_token: '<|im_end|>',
    });
  } catch (e) {
    throw new Error(`Chat template: rendering failed: ${(e as Error).message}`, { cause: e });
  }
}

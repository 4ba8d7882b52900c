// The subset of the OpenAI API the HTTP server accepts, and its validation: request bodies are
// checked field by field and turned into one normalized GenerationRequest, so the engine code never
// sees unchecked JSON. Unsupported options that would change the answer (n > 1, logprobs, tools)
// are refused with a 400 naming the field rather than silently ignored.
import { badRequest } from './errors';

export interface ChatMessageIn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** What both endpoints reduce to. */
export interface GenerationRequest {
  kind: 'chat' | 'completion';
  /** Chat: the conversation; completion: empty. */
  messages: ChatMessageIn[];
  /** Completion: the raw prompt text (special tokens such as <|fim_prefix|> allowed). */
  prompt: string;
  /** Undefined = the endpoint's default. */
  maxTokens: number | undefined;
  temperature: number;
  topP: number;
  stop: string[];
  seed: number | undefined;
  stream: boolean;
  includeUsageInStream: boolean;
  model: string | undefined;
  /** OpenAI's end-user id: requests with different ones keep their KV caches apart. */
  user: string | undefined;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalNumber(body: Json, key: string, min: number, max: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw badRequest(`'${key}' must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`, key);
  }
  return v;
}

function optionalInteger(body: Json, key: string, min: number, max: number): number | undefined {
  const v = optionalNumber(body, key, min, max);
  if (v !== undefined && !Number.isInteger(v)) throw badRequest(`'${key}' must be an integer, got ${v}`, key);
  return v;
}

function parseStop(body: Json): string[] {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw badRequest(`'stop' must be a non-empty string or an array of non-empty strings`, 'stop');
  }
  if (list.length > 4) throw badRequest(`'stop' accepts at most 4 sequences, got ${list.length}`, 'stop');
  return list as string[];
}

/** A message's content: a string, or an array of {type: 'text', text} parts joined together. */
function messageText(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part, j) => {
        if (isObject(part) && part.type === 'text' && typeof part.text === 'string') return part.text;
        throw badRequest(`messages[${i}].content[${j}] must be a text part ({"type": "text", "text": "..."}); images and audio are not supported`, 'messages');
      })
      .join('');
  }
  throw badRequest(`messages[${i}].content must be a string or an array of text parts`, 'messages');
}

function parseMessages(v: unknown): ChatMessageIn[] {
  if (!Array.isArray(v) || v.length === 0) throw badRequest(`'messages' must be a non-empty array`, 'messages');
  return v.map((m, i) => {
    if (!isObject(m)) throw badRequest(`messages[${i}] must be an object`, 'messages');
    // 'developer' is the newer name OpenAI uses for system instructions.
    const role = m.role === 'developer' ? 'system' : m.role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant') {
      throw badRequest(`messages[${i}].role must be 'system', 'user' or 'assistant', got ${JSON.stringify(m.role)}`, 'messages');
    }
    return { role, content: messageText(m.content, i) };
  });
}

function parseCommon(body: Json, maxTokensKey: string): Omit<GenerationRequest, 'kind' | 'messages' | 'prompt'> {
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw badRequest(`'n' must be 1: this server returns one choice per request`, 'n');
  }
  if (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false) {
    throw badRequest(`'logprobs' is not supported by this server`, 'logprobs');
  }
  if (body.tools !== undefined && body.tools !== null && !(Array.isArray(body.tools) && body.tools.length === 0)) {
    throw badRequest(`'tools' (function calling) is not supported by this server`, 'tools');
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    throw badRequest(`'stream' must be a boolean`, 'stream');
  }
  if (body.model !== undefined && typeof body.model !== 'string') throw badRequest(`'model' must be a string`, 'model');
  if (body.user !== undefined && body.user !== null && (typeof body.user !== 'string' || body.user.length > 256)) {
    throw badRequest(`'user' must be a string of at most 256 characters`, 'user');
  }
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && !isObject(streamOptions)) {
    throw badRequest(`'stream_options' must be an object`, 'stream_options');
  }
  const maxTokens =
    optionalInteger(body, maxTokensKey, 0, 1 << 20) ?? (maxTokensKey !== 'max_tokens' ? optionalInteger(body, 'max_tokens', 0, 1 << 20) : undefined);
  return {
    maxTokens,
    // The OpenAI defaults: temperature 1, top_p 1.
    temperature: optionalNumber(body, 'temperature', 0, 2) ?? 1,
    topP: optionalNumber(body, 'top_p', 0, 1) ?? 1,
    stop: parseStop(body),
    seed: optionalInteger(body, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    stream: body.stream === true,
    includeUsageInStream: isObject(streamOptions) && streamOptions.include_usage === true,
    model: body.model as string | undefined,
    user: typeof body.user === 'string' && body.user !== '' ? body.user : undefined,
  };
}

export function parseChatRequest(body: unknown): GenerationRequest {
  if (!isObject(body)) throw badRequest('the request body must be a JSON object');
  const messages = parseMessages(body.messages);
  return { kind: 'chat', messages, prompt: '', ...parseCommon(body, 'max_completion_tokens') };
}

export function parseCompletionRequest(body: unknown): GenerationRequest {
  if (!isObject(body)) throw badRequest('the request body must be a JSON object');
  let prompt = body.prompt;
  // A one-element array of strings is how some clients send a single prompt.
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') prompt = prompt[0];
  if (typeof prompt !== 'string') throw badRequest(`'prompt' must be a string (one prompt per request)`, 'prompt');
  if (prompt.length === 0) throw badRequest(`'prompt' must not be empty`, 'prompt');
  if (body.suffix !== undefined && body.suffix !== null) {
    throw badRequest(`'suffix' is not supported; send a fill-in-the-middle prompt with <|fim_prefix|>, <|fim_suffix|> and <|fim_middle|>`, 'suffix');
  }
  if (body.echo === true) throw badRequest(`'echo' is not supported by this server`, 'echo');
  return { kind: 'completion', messages: [], prompt, ...parseCommon(body, 'max_tokens') };
}

/** OpenAI's finish_reason for an engine stop reason. */
export function finishReason(stopReason: string): 'stop' | 'length' {
  return stopReason === 'maxTokens' || stopReason === 'contextFull' ? 'length' : 'stop';
}

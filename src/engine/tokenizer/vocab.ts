// Reads the tokenizer part of GGUF metadata (as llama.cpp's converter writes it for Qwen2) into
// a checked, typed vocabulary. Every problem is reported with the key that is wrong, because a
// truncated or mismatched vocabulary would otherwise surface much later as garbage text.

/** GGUF token types (tokenizer.ggml.token_type), numbered as llama.cpp numbers them. */
export enum TokenType {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

export interface Vocabulary {
  /** id -> vocabulary string (byte-level for normal tokens, plain text for added tokens). */
  tokens: readonly string[];
  /** id -> TokenType */
  types: Uint8Array;
  /** merge rules "left right" in rank order */
  merges: readonly string[];
  eosId: number;
  bosId: number | null;
  addBos: boolean;
  preTokenizer: string;
}

function asInt(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function stringArray(metadata: Record<string, unknown>, key: string): string[] {
  const v = metadata[key];
  if (!Array.isArray(v)) throw new Error(`GGUF tokenizer: metadata "${key}" is missing or not an array`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'string') throw new Error(`GGUF tokenizer: "${key}"[${i}] is not a string`);
  }
  return v as string[];
}

function idField(metadata: Record<string, unknown>, key: string, vocabSize: number): number | null {
  if (!(key in metadata)) return null;
  const id = asInt(metadata[key]);
  if (id === undefined || id < 0 || id >= vocabSize) {
    throw new Error(`GGUF tokenizer: "${key}" = ${String(metadata[key])} is not a token id below ${vocabSize}`);
  }
  return id;
}

/** Validates and extracts the tokenizer metadata. Throws naming the offending key. */
export function vocabularyFromGgufMetadata(metadata: Record<string, unknown>): Vocabulary {
  const model = metadata['tokenizer.ggml.model'];
  if (model !== 'gpt2') {
    throw new Error(`GGUF tokenizer: tokenizer.ggml.model is ${JSON.stringify(model)}; only "gpt2" (byte-level BPE, as Qwen2 uses) is supported`);
  }
  const pre = metadata['tokenizer.ggml.pre'] ?? 'qwen2';
  if (pre !== 'qwen2') {
    throw new Error(`GGUF tokenizer: tokenizer.ggml.pre is ${JSON.stringify(pre)}; only "qwen2" is supported`);
  }
  const tokens = stringArray(metadata, 'tokenizer.ggml.tokens');
  if (tokens.length < 256) throw new Error(`GGUF tokenizer: only ${tokens.length} tokens; a byte-level vocabulary needs at least 256`);
  const merges = stringArray(metadata, 'tokenizer.ggml.merges');

  const rawTypes = metadata['tokenizer.ggml.token_type'];
  const types = new Uint8Array(tokens.length).fill(TokenType.Normal);
  if (rawTypes !== undefined) {
    if (!Array.isArray(rawTypes) && !ArrayBuffer.isView(rawTypes)) {
      throw new Error('GGUF tokenizer: "tokenizer.ggml.token_type" is not an array');
    }
    const arr = rawTypes as ArrayLike<unknown>;
    if (arr.length !== tokens.length) {
      throw new Error(`GGUF tokenizer: token_type has ${arr.length} entries but tokens has ${tokens.length}`);
    }
    for (let i = 0; i < arr.length; i++) {
      const t = asInt(arr[i]);
      if (t === undefined || t < 0 || t > TokenType.Byte) throw new Error(`GGUF tokenizer: token_type[${i}] = ${String(arr[i])} is not a token type (0..6)`);
      types[i] = t;
    }
  }

  const eosId = idField(metadata, 'tokenizer.ggml.eos_token_id', tokens.length);
  if (eosId === null) throw new Error('GGUF tokenizer: tokenizer.ggml.eos_token_id is missing');
  const bosId = idField(metadata, 'tokenizer.ggml.bos_token_id', tokens.length);
  const addBosRaw = metadata['tokenizer.ggml.add_bos_token'];
  // llama.cpp's default for a gpt2-type vocabulary without the key is not to add a BOS token.
  const addBos = addBosRaw === true && bosId !== null;
  return { tokens, types, merges, eosId, bosId, addBos, preTokenizer: pre };
}

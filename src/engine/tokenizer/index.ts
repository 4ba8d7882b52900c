// Entry point of the tokenizer: builds a Tokenizer (api.ts) from a GGUF file's metadata.
// The metadata comes from the native reader (readGguf) or, in tests and the synthetic-model
// script, from qwen2TokenizerMetadata() in hf-vocab.ts; both give the same key -> value record.

import type { Tokenizer } from '../api';
import { Qwen2Tokenizer } from './qwen2-tokenizer';
import { vocabularyFromGgufMetadata } from './vocab';

export { Qwen2Tokenizer } from './qwen2-tokenizer';
export { TokenType } from './vocab';

/**
 * Creates the tokenizer described by GGUF metadata (tokenizer.ggml.* keys). Throws an Error
 * naming the missing or malformed key when the metadata does not describe a Qwen2 tokenizer.
 */
export function createTokenizerFromGguf(metadata: Record<string, unknown>): Tokenizer & Qwen2Tokenizer {
  return new Qwen2Tokenizer(vocabularyFromGgufMetadata(metadata));
}

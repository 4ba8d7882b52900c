// Qwen2's tokenizer: byte-level BPE with the Qwen2 pre-tokenizer, NFC normalisation and
// special tokens, built from GGUF metadata. The steps of encode() follow the Hugging Face
// pipeline the model was trained with:
//   1. (special=true only) cut out special-token texts (token types CONTROL and USER_DEFINED),
//      longest match first; they become their ids directly;
//   2. NFC-normalise each remaining section (tokenizer.json's normalizer);
//   3. split each section with the Qwen2 pre-tokenizer regex;
//   4. run BPE on each piece's UTF-8 bytes.
// With special=false (the default) text such as "<|im_start|>" is ordinary text: user content can
// never inject control tokens. Decoding concatenates the tokens' bytes and decodes UTF-8 once, so
// characters split across tokens come out whole.

import type { Tokenizer } from '../api';
import { byteLevelToBytes, textToByteLevel } from './byte-level';
import { BpeModel } from './bpe';
import { splitQwen2 } from './pre-tokenizer';
import { TokenType, Vocabulary } from './vocab';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class Qwen2Tokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eosId: number;
  /**
   * The id callers put in front of a whole prompt, or null when the model wants none (Qwen2:
   * null). encode() never adds it itself, because prompts are often encoded in several parts.
   */
  readonly bosId: number | null;

  private readonly vocab: Vocabulary;
  private readonly bpe: BpeModel;
  /** Byte-level vocabulary strings of normal tokens -> id. */
  private readonly normalIds = new Map<string, number>();
  /** Texts of special tokens (CONTROL, USER_DEFINED, UNUSED) -> id. */
  private readonly specialIds = new Map<string, number>();
  /** Matches the texts of the tokens that special=true turns into ids, longest first. */
  private readonly specialPattern: RegExp | null;
  /** id -> UTF-8 bytes it stands for, filled on first use. */
  private readonly bytesCache: (Uint8Array | undefined)[];

  constructor(vocab: Vocabulary, source = 'GGUF tokenizer') {
    this.vocab = vocab;
    this.vocabSize = vocab.tokens.length;
    this.eosId = vocab.eosId;
    this.bosId = vocab.addBos ? vocab.bosId : null;
    this.bytesCache = new Array(this.vocabSize);

    const matchable: string[] = [];
    vocab.tokens.forEach((text, id) => {
      const type = vocab.types[id];
      if (type === TokenType.Normal || type === TokenType.Byte || type === TokenType.Undefined) {
        // A later duplicate never shadows the first id, matching how BPE merges resolve.
        if (!this.normalIds.has(text)) this.normalIds.set(text, id);
      } else {
        if (!this.specialIds.has(text)) this.specialIds.set(text, id);
        if ((type === TokenType.Control || type === TokenType.UserDefined) && text.length > 0) matchable.push(text);
      }
    });
    this.bpe = new BpeModel(this.normalIds, vocab.merges, source);
    matchable.sort((a, b) => b.length - a.length);
    this.specialPattern = matchable.length > 0 ? new RegExp(matchable.map(escapeRegExp).join('|'), 'g') : null;
  }

  encode(text: string, opts?: { special?: boolean }): number[] {
    if (typeof text !== 'string') throw new TypeError(`Tokenizer.encode: expected a string, got ${typeof text}`);
    const out: number[] = [];
    if (!opts?.special || this.specialPattern === null) {
      this.encodeOrdinary(text, out);
      return out;
    }
    let prev = 0;
    this.specialPattern.lastIndex = 0;
    for (let m = this.specialPattern.exec(text); m !== null; m = this.specialPattern.exec(text)) {
      if (m.index > prev) this.encodeOrdinary(text.slice(prev, m.index), out);
      out.push(this.specialIds.get(m[0])!);
      prev = m.index + m[0].length;
    }
    if (prev < text.length) this.encodeOrdinary(text.slice(prev), out);
    return out;
  }

  /** Encodes text that holds no special tokens (or whose special-looking text is plain text). */
  private encodeOrdinary(text: string, out: number[]): void {
    if (text.length === 0) return;
    for (const piece of splitQwen2(text.normalize('NFC'))) this.bpe.encodePiece(piece, out);
  }

  /**
   * UTF-8 bytes of a token. CONTROL and UNUSED tokens print only with special=true; USER_DEFINED
   * tokens are text the vocabulary added, so they always print (llama.cpp does the same).
   */
  tokenBytes(id: number, special: boolean): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(`Tokenizer: token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    }
    const type = this.vocab.types[id];
    const isHidden = type === TokenType.Control || type === TokenType.Unused || type === TokenType.Unknown;
    if (isHidden && !special) return EMPTY;
    let bytes = this.bytesCache[id];
    if (bytes === undefined) {
      const text = this.vocab.tokens[id];
      bytes = this.specialIds.get(text) === id ? Buffer.from(text, 'utf8') : byteLevelToBytes(text);
      this.bytesCache[id] = bytes;
    }
    return bytes;
  }

  decode(ids: readonly number[], opts?: { special?: boolean }): string {
    const special = opts?.special ?? false;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const id of ids) {
      const b = this.tokenBytes(id, special);
      parts.push(b);
      total += b.length;
    }
    const all = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    return UTF8.decode(all);
  }

  createStreamDecoder(opts?: { special?: boolean }): { push(id: number): string; flush(): string } {
    return new StreamDecoder((id) => this.tokenBytes(id, opts?.special ?? false));
  }

  /**
   * The id of the single token whose text is exactly `text`: special tokens by their written form
   * ("<|im_start|>"), normal tokens by the text they decode to (" hello"). Undefined if none.
   */
  tokenId(text: string): number | undefined {
    return this.specialIds.get(text) ?? this.normalIds.get(textToByteLevel(text));
  }

  /** True for tokens that are not ordinary text: control, user-defined, unused and unknown. */
  isSpecial(id: number): boolean {
    const t = this.vocab.types[id];
    return t !== undefined && t !== TokenType.Normal && t !== TokenType.Byte && t !== TokenType.Undefined;
  }

  /** The vocabulary string of a token as stored in the GGUF (byte-level for normal tokens). */
  tokenText(id: number): string | undefined {
    return this.vocab.tokens[id];
  }
}

const EMPTY = new Uint8Array(0);
// ignoreBOM keeps a leading U+FEFF: it is content here, not a byte-order mark.
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Incremental detokenisation for streamed generation. A token may end in the middle of a UTF-8
 * sequence (Qwen2 splits many CJK characters and emoji across tokens), so each push returns only
 * the text that is complete so far and holds back the bytes of an unfinished character.
 * TextDecoder in streaming mode does exactly that, and because it is the same decoder decode()
 * uses in one go, the pushes plus flush() add up to decode(ids), including U+FFFD for bytes that
 * can never become valid.
 */
class StreamDecoder {
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(private readonly bytesOf: (id: number) => Uint8Array) {}

  /** Adds one token; returns the newly completed text (possibly empty). */
  push(id: number): string {
    return this.decoder.decode(this.bytesOf(id), { stream: true });
  }

  /** Ends the stream: held-back bytes come out as U+FFFD (an unfinished character). */
  flush(): string {
    return this.decoder.decode();
  }
}

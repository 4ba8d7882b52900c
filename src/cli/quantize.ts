// `qwen-local quantize IN OUT TYPE`: writes a quantized copy of a GGUF (src/engine/quantize.ts).
import { Args, UsageError } from './args';
import { Command } from './common';

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'write a quantized copy of a GGUF model (F16, Q8_0, Q4_0, ..., Q4_K_M, Q5_K_M)',
  usage: 'IN.gguf OUT.gguf TYPE',
  options: {},
  async run(args: Args) {
    const [input, output, type, ...extra] = args.positional;
    if (!input || !output || !type || extra.length > 0) throw new UsageError('usage: qwen-local quantize IN.gguf OUT.gguf TYPE');
    if (input === output) throw new UsageError('the output file must differ from the input file');
    const { quantizeModel } = await import('../engine/quantize.js');
    const t0 = performance.now();
    await quantizeModel(input, output, type);
    process.stderr.write(`qwen-local: wrote ${output} (${type}) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    return 0;
  },
};

// `qwen-local info --model F`: what a GGUF holds and how this build would run it.
import { loadModel } from '../engine/model';
import { loadNative } from '../engine/native';
import { Args, UsageError } from './args';
import { Command, describeDevice, deviceFromArgs, formatBytes, MODEL_OPTIONS } from './common';

export const infoCommand: Command = {
  name: 'info',
  summary: "show a model file's architecture, shapes, tensor types and the backend",
  usage: '--model F [--threads N] [--device auto|cpu|cuda] [--json]',
  options: {
    ...MODEL_OPTIONS,
    json: { kind: 'flag', description: 'print the info as JSON' },
    tensors: { kind: 'flag', description: 'also list every tensor with its type and shape' },
  },
  async run(args: Args) {
    const file = args.string('model');
    if (!file) throw new UsageError('missing required option --model');
    // A small KV cache: info only needs the weights mapped and the backend chosen.
    const model = await loadModel(file, { threads: args.int('threads', 0), device: deviceFromArgs(args), contextSize: args.int('ctx', 256) });
    try {
      const i = model.info;
      if (args.flag('json')) {
        process.stdout.write(JSON.stringify(i, null, 2) + '\n');
        return 0;
      }
      const types = Object.entries(i.tensorTypes)
        .sort((a, b) => b[1] - a[1])
        .map(([t, n]) => `${t} x${n}`)
        .join(', ');
      const lines = [
        ['file', i.path],
        ['name', i.name],
        ['architecture', i.architecture],
        ['file size', `${formatBytes(i.fileSizeBytes)} (${i.fileSizeBytes} bytes)`],
        ['parameters', `${i.parameterCount.toLocaleString('en-US')} (${(i.parameterCount / 1e9).toFixed(3)} B)`],
        ['layers', String(i.nLayer)],
        ['embedding', String(i.nEmbd)],
        ['heads', `${i.nHead} (KV heads ${i.nHeadKv}, head dim ${i.nEmbd / i.nHead})`],
        ['feed-forward', String(i.nFf)],
        ['vocabulary', String(i.nVocab)],
        ['trained context', String(i.trainedContext)],
        ['rope freq base', String(i.ropeFreqBase)],
        ['tensor types', types],
        ['chat template', model.chatTemplate ? 'yes' : 'no (ChatML fallback)'],
        ['backend', i.backend],
        ['device', describeDevice(i.deviceReport)],
      ];
      for (const [k, v] of lines) process.stdout.write(`${k.padEnd(16)} ${v}\n`);
      if (args.flag('tensors')) {
        // Shapes in GGML order (row length first), as the file stores them.
        for (const t of loadNative().readGguf(file).tensors) {
          process.stdout.write(`  ${t.name.padEnd(36)} ${t.typeName.padEnd(6)} [${t.dims.join(', ')}]\n`);
        }
      }
      return 0;
    } finally {
      await model.dispose();
    }
  },
};

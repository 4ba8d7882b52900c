// What the CLI commands share: the command shape, the options every model-using command takes,
// loading a model from them, and small output helpers.
import * as fs from 'fs';
import type { Model, SamplingOptions } from '../engine/api';
import { loadModel } from '../engine/model';
import { Args, OptionSpecs, UsageError } from './args';

export interface Command {
  name: string;
  summary: string;
  /** Synopsis after `qwen-local <name>`. */
  usage: string;
  options: OptionSpecs;
  /** Resolves with the exit code (0 when undefined). */
  run(args: Args): Promise<number | void>;
}

export const MODEL_OPTIONS: OptionSpecs = {
  model: { kind: 'string', alias: '-m', required: true, description: 'GGUF model file' },
  threads: { kind: 'int', alias: '-t', min: 0, max: 256, description: 'compute threads (0 = physical cores)' },
  ctx: { kind: 'int', alias: '-c', min: 16, description: 'KV cache size in tokens' },
};

export const SAMPLING_OPTIONS: OptionSpecs = {
  temp: { kind: 'number', min: 0, max: 100, description: 'temperature (0 = greedy, the default)' },
  seed: { kind: 'int', min: 0, description: 'sampler seed' },
  'top-k': { kind: 'int', min: 0, description: 'keep the k most likely tokens (0 = off)' },
  'top-p': { kind: 'number', min: 0, max: 1, description: 'nucleus sampling mass (1 = off)' },
  'min-p': { kind: 'number', min: 0, max: 1, description: 'drop tokens below min-p x the best probability' },
  'repeat-penalty': { kind: 'number', min: 0, max: 100, description: 'repetition penalty (1 = off)' },
};

export function samplingFromArgs(args: Args): SamplingOptions {
  return {
    temperature: args.number('temp', 0),
    seed: args.int('seed'),
    topK: args.int('top-k'),
    topP: args.number('top-p'),
    minP: args.number('min-p'),
    repeatPenalty: args.number('repeat-penalty'),
  };
}

/** Loads --model with --threads and --ctx; `minContext` raises the default context if needed. */
export async function openModel(args: Args, minContext = 0): Promise<Model> {
  const file = args.string('model');
  if (!file) throw new UsageError('missing required option --model');
  const ctx = args.int('ctx');
  const model = await loadModel(file, {
    threads: args.int('threads', 0),
    contextSize: ctx ?? (minContext > 0 ? Math.max(minContext, 16) : undefined),
  });
  const notes = (model as { notes?: readonly string[] }).notes ?? [];
  for (const note of notes) process.stderr.write(`qwen-local: note: ${note}\n`);
  return model;
}

/** Reads a text file named by an option, with an error naming the option and the file. */
export function readTextFile(option: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--${option} ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** Writes to stdout and waits for the pipe to accept it (so large outputs are not cut off). */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 2)} ${units[u]}`;
}

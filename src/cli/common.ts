// What the CLI commands share: the command shape, the options every model-using command takes,
// loading a model from them, and small output helpers.
import * as fs from 'fs';
import type { DeviceReport, DeviceSetting, Model, SamplingOptions } from '../engine/api';
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

/** --device, on every command that loads a model. */
export const DEVICE_OPTION: OptionSpecs[string] = {
  kind: 'string',
  description: 'auto (GPU when usable and its self-check passes), cpu, or cuda (GPU or fail); default auto',
};

export const MODEL_OPTIONS: OptionSpecs = {
  model: { kind: 'string', alias: '-m', required: true, description: 'GGUF model file' },
  threads: { kind: 'int', alias: '-t', min: 0, max: 256, description: 'compute threads (0 = physical cores)' },
  device: DEVICE_OPTION,
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

/** --device as a DeviceSetting (default auto); a UsageError for anything else. */
export function deviceFromArgs(args: Args): DeviceSetting {
  const d = args.string('device', 'auto');
  if (d !== 'auto' && d !== 'cpu' && d !== 'cuda') throw new UsageError(`--device must be auto, cpu or cuda, got '${d}'`);
  return d;
}

/** One line: what runs the model and, when it is not the GPU, why. */
export function describeDevice(r: DeviceReport): string {
  if (r.used === 'cuda') {
    return `cuda${r.gpuName ? ` on ${r.gpuName}` : ''}${r.selfCheck ? ` (self-check passed: ${r.selfCheck.summary})` : ' (self-check off)'}`;
  }
  return r.gpuUnavailable ? `cpu (GPU not used: ${r.gpuUnavailable.message})` : 'cpu';
}

/** Loads --model with --threads, --device and --ctx; `minContext` raises the default context if needed. */
export async function openModel(args: Args, minContext = 0): Promise<Model> {
  const file = args.string('model');
  if (!file) throw new UsageError('missing required option --model');
  const ctx = args.int('ctx');
  const model = await loadModel(file, {
    threads: args.int('threads', 0),
    device: deviceFromArgs(args),
    contextSize: ctx ?? (minContext > 0 ? Math.max(minContext, 16) : undefined),
  });
  const notes = (model as { notes?: readonly string[] }).notes ?? [];
  for (const note of notes) process.stderr.write(`qwen-local: note: ${note}\n`);
  noteDevice(model.info.deviceReport);
  return model;
}

/** On stderr when the GPU was wanted and is not used, so a fallback is never silent. */
export function noteDevice(r: DeviceReport): void {
  const notable = r.gpuUnavailable && !['cpu_requested', 'built_without_cuda', 'no_driver', 'no_device'].includes(r.gpuUnavailable.code);
  if (notable) process.stderr.write(`qwen-local: note: running on the CPU: ${r.gpuUnavailable!.message}\n`);
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

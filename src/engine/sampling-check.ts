// Checks SamplingOptions before any work starts, so a bad setting (a negative temperature, top-p
// above 1) fails with the option named instead of after the prompt has already been evaluated.
// The bounds are the native sampler's own (napi/model_binding.cpp checks them again).
import type { SamplingOptions } from './api';

function check(name: string, value: number | undefined, lo: number, hi: number, integer = false): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || value > hi || (integer && !Number.isInteger(value))) {
    throw new RangeError(`sampling option ${name} must be ${integer ? 'an integer' : 'a number'} from ${lo} to ${hi}, got ${String(value)}`);
  }
}

export function checkSamplingOptions(s: SamplingOptions): void {
  check('temperature', s.temperature, 0, 100);
  check('topK', s.topK, 0, 1e7, true);
  check('topP', s.topP, 0, 1);
  check('minP', s.minP, 0, 1);
  check('repeatPenalty', s.repeatPenalty, 0, 100);
  check('repeatLastN', s.repeatLastN, 0, 2 ** 31 - 1, true);
  check('seed', s.seed, 0, Number.MAX_SAFE_INTEGER, true);
}

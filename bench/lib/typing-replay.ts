// Replays typing a stretch of a source file into real language servers, one character per
// keystroke, asking for an inline completion after the keystrokes each samples, and records each
// request's latency (client-side, request sent → answer received) with the server's token counts.
import type { CompletionStats } from '../../src/protocol';
import type { LspTestClient } from '../../test/server/lsp-client';

export interface TypingPlan {
  uri: string;
  /** The whole file as it ends up. */
  finalText: string;
  /** The stretch [start, end) is removed at first and typed back character by character. */
  start: number;
  end: number;
}

/** One server being measured: it asks for a completion after every `every`-th keystroke. */
export interface TypingLane {
  name: string;
  client: LspTestClient;
  every: number;
  samples: KeystrokeSample[];
}

export interface KeystrokeSample {
  keystroke: number;
  latencyMs: number;
  evaluatedTokens: number;
  cachedTokens: number;
  promptTokens: number;
  generatedTokens: number;
  prefillMs: number;
}

async function measure(lane: TypingLane, uri: string, offset: number, keystroke: number): Promise<KeystrokeSample> {
  const t0 = performance.now();
  await lane.client.complete(uri, offset);
  const latencyMs = performance.now() - t0;
  const stats: CompletionStats | null = await lane.client.lastStats();
  if (!stats) throw new Error(`${lane.name}, keystroke ${keystroke}: the server reported no completion stats`);
  return {
    keystroke,
    latencyMs,
    evaluatedTokens: stats.evaluatedTokens,
    cachedTokens: stats.cachedTokens,
    promptTokens: stats.promptTokens,
    generatedTokens: stats.generatedTokens,
    prefillMs: stats.prefillMs,
  };
}

/**
 * Opens the file without the stretch in every lane's server, warms each up with one request,
 * then types: each keystroke goes to all lanes, and the lanes due ask for a completion one after
 * the other (never at once), so every lane sees the same machine load over the run.
 */
export async function replayTyping(plan: TypingPlan, lanes: TypingLane[], onSample?: (lane: TypingLane, s: KeystrokeSample) => void): Promise<void> {
  const typed = plan.finalText.slice(plan.start, plan.end);
  for (const lane of lanes) {
    lane.client.open(plan.uri, plan.finalText.slice(0, plan.start) + plan.finalText.slice(plan.end));
    // The first request evaluates the whole prompt on either side; it is opening the file, not typing.
    await lane.client.complete(plan.uri, plan.start);
  }
  for (let i = 0; i < typed.length; i++) {
    for (const lane of lanes) {
      lane.client.insert(plan.uri, plan.start + i, typed[i]);
      if ((i + 1) % lane.every !== 0) continue;
      const sample = await measure(lane, plan.uri, plan.start + i + 1, i + 1);
      lane.samples.push(sample);
      onSample?.(lane, sample);
    }
  }
}

/** The q-quantile (0..1) by linear interpolation between closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

// Replays typing a stretch of a source file into the real language server, one character per
// keystroke, asking for an inline completion after the keystrokes it samples, and records each
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
  /** Ask for a completion after every `every`-th keystroke (1 = all of them). */
  every: number;
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

/** Opens the file without the stretch, warms the server up with one request, then types. */
export async function replayTyping(client: LspTestClient, plan: TypingPlan, onSample?: (s: KeystrokeSample) => void): Promise<KeystrokeSample[]> {
  const typed = plan.finalText.slice(plan.start, plan.end);
  client.open(plan.uri, plan.finalText.slice(0, plan.start) + plan.finalText.slice(plan.end));
  // The first request evaluates the whole prompt on either side; it is opening the file, not typing.
  await client.complete(plan.uri, plan.start);
  const samples: KeystrokeSample[] = [];
  for (let i = 0; i < typed.length; i++) {
    client.insert(plan.uri, plan.start + i, typed[i]);
    if ((i + 1) % plan.every !== 0) continue;
    const t0 = performance.now();
    await client.complete(plan.uri, plan.start + i + 1);
    const latencyMs = performance.now() - t0;
    const stats: CompletionStats | null = await client.lastStats();
    if (!stats) throw new Error(`keystroke ${i + 1}: the server reported no completion stats`);
    const sample: KeystrokeSample = {
      keystroke: i + 1,
      latencyMs,
      evaluatedTokens: stats.evaluatedTokens,
      cachedTokens: stats.cachedTokens,
      promptTokens: stats.promptTokens,
      generatedTokens: stats.generatedTokens,
      prefillMs: stats.prefillMs,
    };
    samples.push(sample);
    onSample?.(sample);
  }
  return samples;
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

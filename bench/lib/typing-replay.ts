// Replays typing a stretch of a source file into completion servers, one character per
// keystroke, asking for an inline completion after the keystrokes each samples, and records each
// request's latency (client-side, request sent → answer received) with the server's token counts.
// A server is anything that implements CompletionTarget: our language server over LSP
// (lsp-completion-target.ts) or llama-server driven as llama.vscode drives it (llama-vscode-target.ts).

/** What one completion request returned, in the server's own words. */
export interface CompletionAnswer {
  /** The text the editor would show ('' = no suggestion). */
  text: string;
  /** Tokens of the prompt this request. */
  promptTokens: number;
  /** Prompt tokens reused from the server's cache. */
  cachedTokens: number;
  /** Prompt tokens evaluated (prefilled) for this request. */
  evaluatedTokens: number;
  generatedTokens: number;
  prefillMs: number;
  /** Why generation ended, as the server says it. */
  stopReason?: string;
  /** Tokens the server's cache slot holds after the request, where it says (llama-server's tokens_cached). */
  slotTokens?: number;
  /** Which prompt answered, where the server says: 'full', or 'short' (a short window while the full one fills). */
  window?: string;
}

/** One completion server as a typing editor sees it: a document, edits, and requests at the cursor. */
export interface CompletionTarget {
  /** Opens the document with this whole text (the cursor anywhere). */
  open(text: string): Promise<void>;
  /** Inserts `text` at `offset` (a keystroke). */
  insert(offset: number, text: string): void;
  /** Asks for one completion with the cursor at `offset`; resolves when the answer is in. */
  complete(offset: number): Promise<CompletionAnswer>;
}

export interface TypingPlan {
  /** The whole file as it ends up. */
  finalText: string;
  /** The stretch [start, end) is removed at first and typed back character by character. */
  start: number;
  end: number;
}

/** One server being measured: it asks for a completion after every `every`-th keystroke. */
export interface TypingLane {
  name: string;
  target: CompletionTarget;
  every: number;
  samples: KeystrokeSample[];
}

export interface KeystrokeSample extends CompletionAnswer {
  keystroke: number;
  latencyMs: number;
  /** True when nothing would be shown (the answer's text is empty or only whitespace). */
  empty: boolean;
}

/** Times one request. */
export async function measureCompletion(target: CompletionTarget, offset: number, keystroke: number): Promise<KeystrokeSample> {
  const t0 = performance.now();
  const answer = await target.complete(offset);
  const latencyMs = performance.now() - t0;
  return { ...answer, keystroke, latencyMs, empty: answer.text.trim().length === 0 };
}

/** The document with the stretch removed: what each server opens before typing starts. */
export function openingText(plan: TypingPlan): string {
  return plan.finalText.slice(0, plan.start) + plan.finalText.slice(plan.end);
}

/**
 * Opens the file without the stretch in every lane's server, warms each up with one request,
 * then types: each keystroke goes to all lanes, and the lanes due ask for a completion one after
 * the other (never at once), so every lane sees the same machine load over the run. Which lane
 * asks first rotates from keystroke to keystroke, so none always gets the machine right after
 * the other has finished with it.
 */
export async function replayTyping(plan: TypingPlan, lanes: TypingLane[], onSample?: (lane: TypingLane, s: KeystrokeSample) => void): Promise<void> {
  const typed = plan.finalText.slice(plan.start, plan.end);
  for (const lane of lanes) {
    await lane.target.open(openingText(plan));
    // The first request evaluates the whole prompt on either side; it is opening the file, not typing.
    await lane.target.complete(plan.start);
  }
  for (let i = 0; i < typed.length; i++) {
    for (const lane of lanes) lane.target.insert(plan.start + i, typed[i]);
    for (let k = 0; k < lanes.length; k++) {
      const lane = lanes[(i + k) % lanes.length];
      if ((i + 1) % lane.every !== 0) continue;
      const sample = await measureCompletion(lane.target, plan.start + i + 1, i + 1);
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

// How the extension presents and reacts to the language server's health, kept free of `vscode`
// so both are unit-tested: the status bar wording for each server state, and the policy that
// decides whether a crashed server is restarted.
import type { StatusParams } from '../protocol';

export interface StatusView {
  text: string;
  tooltip: string;
  /** 'error' and 'warning' select the status bar's theme colours for those states. */
  severity: 'normal' | 'warning' | 'error';
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log(bytes) / Math.log(1024)));
  const value = bytes / Math.pow(1024, i);
  return `${value >= 100 || i === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[i]}`;
}

/**
 * Reasons that mean a GPU is there but something went wrong with it (too little memory, a failed
 * self-check, a fault): the status bar turns to a warning. No GPU, no driver, a CPU-only build or
 * device 'cpu' are ordinary and only shown in the tooltip.
 */
const QUIET_GPU_REASONS = new Set(['cpu_requested', 'built_without_cuda', 'no_driver', 'no_device']);

export function gpuFellBack(code: string | undefined): boolean {
  return code !== undefined && !QUIET_GPU_REASONS.has(code);
}

function gpuLines(m: NonNullable<StatusParams['model']>): string[] {
  const lines: string[] = [];
  if (m.runsOn) lines.push(`Runs on: ${m.runsOn === 'cuda' ? 'GPU (CUDA)' : 'CPU'}`);
  if (m.gpuNotUsed) lines.push(`GPU not used: ${m.gpuNotUsed.message}`);
  if (m.gpuSelfCheck) lines.push(`GPU self-check ${m.gpuSelfCheck}`);
  return lines;
}

export function describeStatus(status: StatusParams, completionsEnabled: boolean): StatusView {
  const off = completionsEnabled ? '' : ' (completions off)';
  switch (status.state) {
    case 'noModel':
      return {
        text: '$(circle-slash) Qwen: no model — pick one',
        tooltip: 'No model is configured. Click to pick a local .gguf file.',
        severity: 'warning',
      };
    case 'loading': {
      const pct = status.progress !== undefined ? ` ${Math.round(Math.min(1, Math.max(0, status.progress)) * 100)}%` : '';
      return {
        text: `$(loading~spin) Qwen: loading${pct}`,
        tooltip: status.message ? `Loading: ${status.message}` : 'Loading the model…',
        severity: 'normal',
      };
    }
    case 'ready': {
      const m = status.model;
      const speed = status.lastTokensPerSecond ? ` · ${status.lastTokensPerSecond.toFixed(1)} tok/s` : '';
      const name = m?.name ?? 'model';
      const device = m?.device ? ` · ${m.device}` : '';
      const gpuWarning = gpuFellBack(m?.gpuNotUsed?.code);
      const details = m
        ? [
            `Model: ${m.name}`,
            `File: ${m.path}`,
            `Device: ${m.device}`,
            ...gpuLines(m),
            `Context: ${m.contextSize} tokens`,
            `Memory: ${formatBytes(m.memoryBytes)}`,
            `Parameters: ${(m.parameterCount / 1e9).toFixed(2)} B`,
          ]
        : [];
      if (status.lastTokensPerSecond) details.push(`Last speed: ${status.lastTokensPerSecond.toFixed(1)} tokens/s`);
      if (!completionsEnabled) details.push('Inline completions are turned off.');
      return {
        text: `$(${completionsEnabled ? 'sparkle' : 'circle-outline'}) ${name}${device}${gpuWarning ? ' (GPU not used)' : ''}${speed}${off}`,
        tooltip: details.join('\n') || 'Ready',
        severity: gpuWarning ? 'warning' : 'normal',
      };
    }
    case 'error':
      return {
        text: '$(error) Qwen: error',
        tooltip: status.message ?? 'The language server reported an error. Click for options.',
        severity: 'error',
      };
  }
}

/**
 * Whether the language server may be restarted after a crash. A native crash in the engine takes
 * down only the server process (the extension never loads the addon), so restarting is usually
 * right; but a model that crashes on load would crash-loop forever and burn the CPU. So at most
 * `maxRestarts` restarts are allowed within a sliding `windowMs`; after that the extension stops
 * and shows an error with a "Restart" action, which calls `reset()`.
 */
export class RestartPolicy {
  private crashes: number[] = [];

  constructor(
    readonly maxRestarts = 3,
    readonly windowMs = 60_000,
  ) {}

  /** Records a crash at `now` and says whether an automatic restart is still allowed. */
  recordCrash(now: number): boolean {
    this.crashes = this.crashes.filter((t) => now - t < this.windowMs);
    this.crashes.push(now);
    return this.crashes.length <= this.maxRestarts;
  }

  /** Crashes counted in the current window (for the error message). */
  recentCrashes(now: number): number {
    return this.crashes.filter((t) => now - t < this.windowMs).length;
  }

  /** After a manual restart the user gets a fresh allowance. */
  reset(): void {
    this.crashes = [];
  }
}

/** vscode-jsonrpc's codes for a request that lost its connection: the pending answer was dropped
 * when the connection closed (PendingResponseRejected), or it was sent while none was up (ConnectionInactive). */
const connectionLostCodes = new Set([-32097, -32096]);

/**
 * When a request failed because the language server went away under it (it crashed, was killed,
 * or was being restarted), the message to show the user instead of the transport's own words
 * ("Pending response rejected since connection got disposed"); undefined for any other failure.
 * `restartedByUser` is true when the extension itself was stopping the server at the time.
 */
export function connectionLostMessage(error: unknown, restartedByUser: boolean): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'number' || !connectionLostCodes.has(code)) return undefined;
  return restartedByUser
    ? 'The language server was stopped (restarted on request) before this reply was finished; the text above is incomplete.'
    : 'The language server stopped while writing this reply (it crashed or was killed), so the text above is incomplete. ' +
        'The extension restarts it by itself (see the status bar); send the message again or press Regenerate once it is ready.';
}

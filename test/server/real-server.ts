// Starting the real language server (`node bin/qwen-local.js serve --stdio`, real engine) with a
// synthetic model, for the tests, the soak test and the latency benchmark. Says why when the
// native addon is missing, so callers can skip with that reason.
import * as fs from 'fs';
import * as path from 'path';
import { nativeAddonPath } from '../../src/engine/native';
import type { StatusParams } from '../../src/protocol';
import { repoRoot } from '../helpers/models';
import { LspTestClient } from './lsp-client';

/** Why the real server cannot run here, or null when it can. */
export function realServerUnavailable(): string | null {
  const addon = process.env.QWEN_NATIVE_PATH || nativeAddonPath();
  return fs.existsSync(addon) ? null : `the native addon is not built (${addon}); run npm run build:native`;
}

/** Spawns the server, initializes it with `settings` and waits until the model is ready. */
export async function startRealServer(settings: Record<string, unknown>, env: Record<string, string> = {}): Promise<LspTestClient> {
  const root = repoRoot();
  const client = new LspTestClient({ command: process.execPath, args: [path.join(root, 'bin', 'qwen-local.js'), 'serve', '--stdio'], env }, root);
  await client.initialize(settings);
  const status: StatusParams = await client.waitForState(120000);
  if (status.state !== 'ready') {
    await client.close();
    throw new Error(`the model did not load: ${status.message ?? status.state}\n${client.stderr}`);
  }
  return client;
}

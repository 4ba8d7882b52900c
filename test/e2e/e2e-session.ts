// The mocha hooks every end-to-end file needs, written once: package the .vsix and make the tiny
// model, open code-server with them and one source file, wait for the model, screenshot a failed
// test, and close the workbench afterwards (keeping VS Code's logs when anything failed, or with
// QWEN_E2E_KEEP_LOGS=1). Call it inside a `describe`; tests reach the workbench through `wb()`.
import * as fs from 'fs';
import * as path from 'path';
import { getTestModel } from '../helpers/models';
import { codeServerEntry, openWorkbench, repoRoot, Workbench } from './code-server';
import { e2eSettings } from './e2e-settings';
import { packagedVsix } from './vsix';
import { screenshot, waitForModelReady } from './workbench-ui';

export const artifacts = path.join(repoRoot, 'test-artifacts', 'e2e');

export interface E2eSessionOptions {
  /** Prefix of this file's screenshots and logs folder in test-artifacts/e2e/ ('' for none). */
  artifactPrefix: string;
  /** This file's artifacts, deleted before it runs (the e2e files share the folder). */
  ownsArtifact: (name: string) => boolean;
  files: Record<string, string>;
  chatMaxTokens: number;
  /** Filled with the setup's durations; printed after the file's tests with the tests' own. */
  timings: Record<string, number>;
  /** Printed before the timings: "<label> timings (ms): {...}". */
  timingsLabel: string;
  /** User settings on top of e2eSettings, read when the workbench opens (after earlier `before` hooks). */
  extraSettings?: () => Record<string, unknown>;
}

export function useE2eWorkbench(o: E2eSessionOptions): () => Workbench {
  let wb: Workbench | undefined;
  const since = (start: number) => Date.now() - start;

  before(async function () {
    this.timeout(8 * 60_000);
    // Fails with how to install it, before spending time on packaging.
    codeServerEntry();
    fs.mkdirSync(artifacts, { recursive: true });
    for (const f of fs.readdirSync(artifacts).filter(o.ownsArtifact)) {
      fs.rmSync(path.join(artifacts, f), { recursive: true, force: true });
    }
    let t = Date.now();
    const [vsix, model] = await Promise.all([packagedVsix(), getTestModel('tiny', 'F32')]);
    o.timings.packageAndModel = since(t);
    t = Date.now();
    wb = await openWorkbench({
      vsix,
      extensionFolderPrefix: 'qwen-local.qwen-local-',
      files: o.files,
      // Every request and response in the extension's log, kept when a step fails; it also shows
      // each time VS Code asked for a completion (ghostTextAfterTyping).
      logLevel: 'trace',
      settings: { ...e2eSettings(model, o.chatMaxTokens), ...o.extraSettings?.() },
    });
    o.timings.installAndOpenWorkbench = since(t);
    t = Date.now();
    await waitForModelReady(wb.page, 120_000);
    o.timings.modelReady = since(t);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) {
      const name = `${o.artifactPrefix}failed-${this.currentTest.title.match(/^\d+/)?.[0] ?? 'setup'}`;
      await screenshot(wb.page, artifacts, name).catch(() => undefined);
    }
  });

  after(async function () {
    this.timeout(30_000);
    // A failed `before` leaves the tests without a state: keep the logs then too.
    const failed = this.test?.parent?.tests.some((t) => t.state !== 'passed') ?? true;
    const keepLogs = failed || process.env.QWEN_E2E_KEEP_LOGS === '1';
    await wb?.close(keepLogs ? path.join(artifacts, `${o.artifactPrefix}logs`) : undefined);
    console.log(`    ${o.timingsLabel} timings (ms): ${JSON.stringify(o.timings)}`);
  });

  return () => {
    if (!wb) throw new Error("the workbench did not open (see the before hook's error)");
    return wb;
  };
}

// Starts a real VS Code (code-server from npm) on a loopback port with a fresh profile, the
// packaged extension installed from its .vsix, and the given user settings; and a headless
// Chromium (playwright-core driving Debian's /usr/bin/chromium) pointed at it.
import { execFileSync, spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { chromium, Browser, Page } from 'playwright-core';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** Installs code-server once (cached outside the repo) and returns its entry script. */
export function ensureCodeServer(): string {
  const out = execFileSync(path.join(repoRoot, 'scripts', 'install-code-server.sh'), [], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 20 * 60_000,
  });
  const lines = out.trim().split('\n');
  return lines[lines.length - 1];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface Workbench {
  page: Page;
  browser: Browser;
  server: ChildProcess;
  url: string;
  workspace: string;
  serverLog: () => string;
  close(): Promise<void>;
}

export interface WorkbenchOptions {
  vsix: string;
  settings: Record<string, unknown>;
  files: Record<string, string>;   // workspace-relative path -> content
}

export async function openWorkbench(opts: WorkbenchOptions): Promise<Workbench> {
  const entry = ensureCodeServer();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-e2e-'));
  const userData = path.join(root, 'user-data');
  const extensions = path.join(root, 'extensions');
  const workspace = path.join(root, 'workspace');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(extensions, { recursive: true });
  for (const [rel, content] of Object.entries(opts.files)) {
    fs.mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true });
    fs.writeFileSync(path.join(workspace, rel), content);
  }
  fs.mkdirSync(workspace, { recursive: true });
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'editor.inlineSuggest.enabled': true,
      ...opts.settings,
    }, null, 2),
  );
  const common = ['--user-data-dir', userData, '--extensions-dir', extensions];
  execFileSync(process.execPath, [entry, ...common, '--install-extension', opts.vsix], {
    stdio: 'pipe', timeout: 120_000,
  });

  const port = await freePort();
  let log = '';
  const server = spawn(process.execPath, [entry, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', ...common, workspace],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout!.on('data', (d) => { log += d; });
  server.stderr!.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000, () => log);

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
  return {
    page, browser, server, url, workspace,
    serverLog: () => log,
    async close() {
      await browser.close().catch(() => undefined);
      server.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

async function waitForHttp(url: string, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`code-server did not answer on ${url} within ${timeoutMs} ms. Its log:\n${log()}`);
}

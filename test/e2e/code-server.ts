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

/** Must match VERSION and the install folder in scripts/install-code-server.sh. */
const CODE_SERVER_VERSION = '4.99.4';
export const chromiumPath = '/usr/bin/chromium';

/**
 * The code-server launcher installed by scripts/install-code-server.sh. Installing takes minutes
 * and needs Debian packages, so a test never does it behind the user's back: it fails and says how.
 */
export function codeServerEntry(): string {
  const dir = process.env.QWEN_E2E_DIR ?? path.join(os.homedir(), '.cache', 'qwen-local-e2e');
  const entry = path.join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  const stamp = path.join(dir, `.installed-${CODE_SERVER_VERSION}`);
  if (!fs.existsSync(stamp) || !fs.existsSync(entry)) {
    throw new Error(
      `code-server ${CODE_SERVER_VERSION} is not installed in ${dir}. npm test installs it first ` +
        '(scripts/ensure-test-deps.sh full, about 6 minutes once); run that and the tests again.',
    );
  }
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: install the Debian package "chromium" (scripts/ensure-test-deps.sh does as root).`);
  }
  return entry;
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
  /** Where code-server unpacked the installed extension (inside the fresh --extensions-dir). */
  installedExtension: string;
  serverLog: () => string;
  /** The extension's output channel ("Qwen Local") as VS Code has written it so far; '' when none yet. */
  extensionLog: () => string;
  /** Closes the browser and code-server; copies VS Code's logs to `keepLogsIn` first when given. */
  close(keepLogsIn?: string): Promise<void>;
}

export interface WorkbenchOptions {
  vsix: string;
  /** The extension's folder name prefix once installed: `<publisher>.<name>-<version>`. */
  extensionFolderPrefix: string;
  settings: Record<string, unknown>;
  files: Record<string, string>; // workspace-relative path -> content
  /** VS Code's log level (code-server --log); 'trace' puts every LSP message in the extension's log. */
  logLevel?: 'trace' | 'debug' | 'info';
}

export async function openWorkbench(opts: WorkbenchOptions): Promise<Workbench> {
  const entry = codeServerEntry();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-e2e-'));
  const userData = path.join(root, 'user-data');
  const extensions = path.join(root, 'extensions');
  const workspace = path.join(root, 'workspace');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(extensions, { recursive: true });
  fs.mkdirSync(workspace, { recursive: true });
  for (const [rel, content] of Object.entries(opts.files)) {
    fs.mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true });
    fs.writeFileSync(path.join(workspace, rel), content);
  }
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.welcomePage.walkthroughs.openOnInstall': false,
        'security.workspace.trust.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'editor.inlineSuggest.enabled': true,
        ...opts.settings,
      },
      null,
      2,
    ),
  );
  const common = ['--user-data-dir', userData, '--extensions-dir', extensions];
  // Installed exactly as a user would, from the .vsix; never a development folder.
  try {
    execFileSync(process.execPath, [entry, ...common, '--install-extension', opts.vsix], {
      stdio: 'pipe',
      timeout: 120_000,
      encoding: 'utf8',
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`code-server --install-extension ${opts.vsix} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`, { cause: e });
  }
  const installed = fs.readdirSync(extensions).filter((d) => d.startsWith(opts.extensionFolderPrefix));
  if (installed.length !== 1) {
    throw new Error(
      `after --install-extension, ${extensions} holds [${fs.readdirSync(extensions).join(', ')}]; ` +
        `expected one folder starting with ${opts.extensionFolderPrefix}`,
    );
  }
  const installedExtension = path.join(extensions, installed[0]);

  const port = await freePort();
  let log = '';
  const logArgs = opts.logLevel ? ['--log', opts.logLevel] : [];
  const server = spawn(
    process.execPath,
    [
      entry,
      ...logArgs,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      ...common,
      workspace,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout!.on('data', (d) => {
    log += d;
  });
  server.stderr!.on('data', (d) => {
    log += d;
  });
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;

  let browser: Browser | undefined;
  // The workbench's own console (VS Code logs renderer-side errors there, not to its log files).
  let consoleLog = '';
  const close = async (keepLogsIn?: string) => {
    await browser?.close().catch(() => undefined);
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    // code-server keeps an extension host alive for a while after its browser went away, hoping
    // it reconnects; one that outlived its server would keep the language server and model too.
    for (const pid of processesStartedFor(root)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (keepLogsIn) {
      fs.mkdirSync(keepLogsIn, { recursive: true });
      fs.writeFileSync(path.join(keepLogsIn, 'code-server.log'), log);
      fs.writeFileSync(path.join(keepLogsIn, 'browser-console.log'), consoleLog);
      const logs = path.join(userData, 'logs');
      if (fs.existsSync(logs)) fs.cpSync(logs, path.join(keepLogsIn, 'vscode-logs'), { recursive: true });
    }
    fs.rmSync(root, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000, () => log);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('console', (m) => {
      consoleLog += `${new Date().toISOString()} [${m.type()}] ${m.text()}\n`;
    });
    page.on('pageerror', (e) => {
      consoleLog += `${new Date().toISOString()} [pageerror] ${e.stack ?? e.message}\n`;
    });
    await page.goto(url);
    await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
    return {
      page,
      browser,
      server,
      url,
      workspace,
      installedExtension,
      serverLog: () => log,
      extensionLog: () => extensionLogOf(userData),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The newest "Qwen Local.log" under the profile's logs (one folder per session, one per extension host). */
function extensionLogOf(userData: string): string {
  const logs = path.join(userData, 'logs');
  if (!fs.existsSync(logs)) return '';
  const found = (fs.readdirSync(logs, { recursive: true }) as string[])
    .filter((f) => path.basename(f) === 'Qwen Local.log')
    .map((f) => path.join(logs, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return found.length > 0 ? fs.readFileSync(found[0], 'utf8') : '';
}

/** Our leftover processes: those whose environment names this run's temporary folder. */
function processesStartedFor(root: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(root)) pids.push(pid);
    } catch {
      /* exited, or not ours to read */
    }
  }
  return pids;
}

async function waitForHttp(url: string, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`code-server did not answer on ${url} within ${timeoutMs} ms. Its log:\n${log()}`);
}

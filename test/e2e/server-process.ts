// Finding and killing the extension's language server from outside VS Code, as a crash would:
// the server is the node process whose command line runs the installed extension's
// dist/server.js (Linux /proc; a killed process's cmdline reads empty, so it drops out at once).
import * as fs from 'fs';
import * as path from 'path';

/** The pids of the language servers started from `installedExtension`. */
export function serverPids(installedExtension: string): number[] {
  const script = path.join(installedExtension, 'dist', 'server.js');
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes(script)) pids.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

/** The one running language server; fails when there is none or more than one. */
export function theServerPid(installedExtension: string): number {
  const pids = serverPids(installedExtension);
  if (pids.length !== 1) throw new Error(`expected one language server running ${installedExtension}/dist/server.js, found pids [${pids.join(', ')}]`);
  return pids[0];
}

/** Running, as opposed to gone or a zombie waiting to be reaped (whose cmdline reads empty). */
function running(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '';
  } catch {
    return false;
  }
}

/** kill -9, then waits until the process has stopped running. */
export async function killServer(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 10_000;
  while (running(pid)) {
    if (Date.now() > deadline) throw new Error(`language server ${pid} still runs 10 s after SIGKILL`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits for a language server other than `oldPid` to run; returns its pid. */
export async function waitForNewServer(installedExtension: string, oldPid: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fresh = serverPids(installedExtension).filter((p) => p !== oldPid);
    if (fresh.length === 1) return fresh[0];
    if (fresh.length > 1) throw new Error(`more than one new language server runs: [${fresh.join(', ')}]`);
    if (Date.now() > deadline) throw new Error(`no new language server started within ${timeoutMs} ms after ${oldPid} was killed`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Asserts that no language server runs for `forMs` (the extension gave up restarting). */
export async function expectNoServerFor(installedExtension: string, forMs: number): Promise<void> {
  const deadline = Date.now() + forMs;
  while (Date.now() < deadline) {
    const pids = serverPids(installedExtension);
    if (pids.length > 0) throw new Error(`a language server was started again (pids [${pids.join(', ')}]) although the extension should have given up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

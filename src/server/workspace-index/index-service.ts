// The language server's side of the workspace index: builds it in the background once the
// client has said which files to exclude (or after a short wait if it never does), reports
// progress and state, keeps it current from file-watcher events, and answers searches. While a
// completion is being generated the build waits between files, so typing stays fast.
import { fileURLToPath, pathToFileURL } from 'url';
import type { IndexSettingsParams, IndexStatus, WorkspaceFilesResult, WorkspaceSearchResult } from '../../protocol/workspace';
import { fuzzyFilter } from './fuzzy-path';
import { IndexFolder, IndexLimits, IndexProgress, WorkspaceIndex } from './workspace-index';

export interface IndexServiceDeps {
  notify: (status: IndexStatus) => void;
  /** A progress report in the editor (begin, report, done); absent when the client has none. */
  startProgress: (title: string) => Promise<{ report(message: string, percent?: number): void; done(): void } | undefined>;
  /** True while something more urgent (a completion) uses the engine. */
  engineBusy: () => boolean;
  log: (message: string) => void;
  /** Tells the user once that the index is full (the editor shows it as a warning). */
  warn?: (message: string) => void;
  /** Milliseconds to wait for the client's settings before building without them. */
  settingsWaitMs?: number;
  /** The index's size limits (default: defaultIndexLimits). */
  limits?: IndexLimits;
}

export type FileChange = { uri: string; type: 'created' | 'changed' | 'deleted' };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class IndexService {
  readonly index: WorkspaceIndex;
  private folders: IndexFolder[] = [];
  private filesExclude: Record<string, unknown> = {};
  private state: IndexStatus['state'] = 'idle';
  private generation = 0;
  private waitTimer: NodeJS.Timeout | undefined;
  private building: Promise<void> = Promise.resolve();
  private updates: Promise<unknown> = Promise.resolve();
  private warnedFull = false;

  constructor(private readonly deps: IndexServiceDeps) {
    this.index = new WorkspaceIndex(deps.limits);
  }

  /** The workspace folders from `initialize` (file: URIs only: the index reads the local disk). */
  setFolders(folders: ReadonlyArray<{ uri: string; name: string }>): void {
    this.folders = [];
    for (const f of folders) {
      if (!f.uri.startsWith('file:')) continue;
      try {
        this.folders.push({ root: fileURLToPath(f.uri), name: f.name });
      } catch {
        this.deps.log(`workspace index: cannot read folder ${f.uri}`);
      }
    }
  }

  /** After `initialized`: build with the client's settings, or without them after a short wait. */
  start(): void {
    this.waitTimer = setTimeout(() => void this.rebuild(), this.deps.settingsWaitMs ?? 1500);
  }

  applySettings(params: IndexSettingsParams): void {
    const next = params && typeof params.filesExclude === 'object' && params.filesExclude !== null ? params.filesExclude : {};
    const same = JSON.stringify(next) === JSON.stringify(this.filesExclude) && this.state !== 'idle';
    this.filesExclude = next;
    if (!same) void this.rebuild();
  }

  get status(): IndexStatus {
    const c = this.index.counts;
    const status: IndexStatus = { state: this.state, files: c.files, chunks: c.chunks };
    if (this.index.limitReached) {
      const l = this.index.limitsInUse;
      status.notice = `The workspace index is full (${l.maxFiles.toLocaleString('en-US')} files or ${Math.round(l.maxTotalBytes / 1e6)} MB): ${c.overLimit.toLocaleString('en-US')} files were left out. Exclude generated folders with files.exclude or .gitignore.`;
    }
    return status;
  }

  /** Rebuilds from scratch; a newer rebuild cancels an older one. Resolves when this one ends. */
  rebuild(): Promise<void> {
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    const gen = ++this.generation;
    const previous = this.building;
    this.building = (async () => {
      await previous.catch(() => undefined);
      if (gen !== this.generation) return;
      this.state = 'building';
      this.deps.notify(this.status);
      const progress = await this.deps.startProgress('Qwen Local: indexing the workspace').catch(() => undefined);
      const started = Date.now();
      let lastNotice = 0;
      try {
        await this.index.build(this.folders, this.filesExclude, {
          isCancelled: () => gen !== this.generation,
          pause: async () => {
            // Completions first: wait (bounded) while one runs.
            for (let i = 0; i < 100 && this.deps.engineBusy(); i++) await sleep(10);
          },
          onProgress: (p: IndexProgress) => {
            progress?.report(`${p.indexed.toLocaleString('en-US')} files`);
            if (Date.now() - lastNotice > 1000) {
              lastNotice = Date.now();
              this.deps.notify(this.status);
            }
          },
        });
      } catch (e) {
        this.deps.log(`workspace index: the build failed: ${(e as Error).message}`);
      } finally {
        progress?.done();
      }
      if (gen !== this.generation) return;
      this.state = 'ready';
      const c = this.index.counts;
      this.deps.log(
        `workspace index: ${c.files} files, ${c.chunks} chunks in ${Date.now() - started} ms (skipped: ${JSON.stringify(c.skipped)}, over the limit: ${c.overLimit})`,
      );
      const status = this.status;
      this.deps.notify(status);
      // Once per session: @workspace answers repeat the notice each time they use the index.
      if (status.notice && !this.warnedFull) {
        this.warnedFull = true;
        this.deps.warn?.(`Qwen Local: ${status.notice}`);
      }
    })();
    return this.building;
  }

  /** File-watcher events: each created/changed file is re-read, each deleted path dropped. */
  onFilesChanged(changes: readonly FileChange[]): Promise<unknown> {
    const run = async () => {
      await this.building.catch(() => undefined);
      let rulesChanged = false;
      for (const change of changes) {
        if (!change.uri.startsWith('file:')) continue;
        let file: string;
        try {
          file = fileURLToPath(change.uri);
        } catch {
          continue;
        }
        if (this.index.changesRules(file)) rulesChanged = true;
        else if (change.type === 'deleted') this.index.removePath(file);
        else await this.index.updateFile(file);
      }
      if (rulesChanged) await this.rebuild();
      else this.deps.notify(this.status);
    };
    this.updates = this.updates.then(run, run);
    return this.updates;
  }

  /** Waits for the build and the updates queued so far (tests, and searches right after a save). */
  async settled(): Promise<void> {
    await this.building.catch(() => undefined);
    await this.updates.catch(() => undefined);
  }

  /** Indexed files matching `query` fuzzily (the chat's @file list), best first. */
  files(query: string, limit: number): WorkspaceFilesResult {
    const files = fuzzyFilter(query, this.index.files(), limit).map((p) => ({ path: p, uri: pathToUri(this.index.absolutePath(p) ?? p) }));
    return { status: this.status, files };
  }

  search(query: string, limit: number): WorkspaceSearchResult {
    const hits = this.index.search(query, limit).map((h) => ({
      path: h.chunk.path,
      uri: pathToUri(h.absPath),
      startLine: h.chunk.startLine,
      endLine: h.chunk.endLine,
      score: h.score,
      text: h.chunk.text,
    }));
    return { status: this.status, hits };
  }
}

function pathToUri(abs: string): string {
  return pathToFileURL(abs).toString();
}

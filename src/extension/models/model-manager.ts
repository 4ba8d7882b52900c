// The model manager's commands:
//  - qwenLocal.chooseModel: a quick pick with the model recommended for this machine (RAM, GPU
//    memory, cores) first, the rest of the catalogue, and "pick a GGUF file on disk".
//  - qwenLocal.downloadModel [id]: downloads a catalogue model into the extension's global storage
//    (with an id, no questions asked: for scripts and tests), then makes it the model in use.
// A download shows a cancellable notification with bytes, speed and time left. Cancelling keeps
// the partial file, and choosing the model again resumes it. The downloader itself checks disk
// space first and the size and sha256 at the end (src/models/download.ts).
import * as vscode from 'vscode';
import { CatalogModel, findCatalogModel, formatBytes, MODEL_CATALOG } from '../../models/catalog';
import { downloadModel } from '../../models/download';
import { recommendForThisMachine, Recommendation } from '../../models/recommend';
import { readSettings, updateSetting } from '../config';
import { pickModel } from '../model-picker';
import { describeDownloadProgress, ProgressIncrements } from './download-progress-text';
import { modelChoices } from './model-choices';
import { downloadUrlFor, inspectModelOnDisk, modelsFolder } from './model-files';

export class ModelManager implements vscode.Disposable {
  /** Downloads in progress by model id: one writer per .part file. */
  private readonly active = new Map<string, AbortController>();
  private recommendation: Promise<Recommendation | null> | null = null;

  constructor(
    private readonly globalStorageDir: string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  register(): vscode.Disposable[] {
    return [
      vscode.commands.registerCommand('qwenLocal.chooseModel', () => this.choose()),
      vscode.commands.registerCommand('qwenLocal.downloadModel', (id?: unknown) => this.downloadCommand(id)),
    ];
  }

  /** Probes the machine once per session (nvidia-smi takes a moment). */
  private recommend(): Promise<Recommendation | null> {
    this.recommendation ??= recommendForThisMachine().then(
      (r) => {
        this.log.info(`Recommended model: ${r.model.id} on ${r.device}. ${r.reason}`);
        return r;
      },
      (e: unknown) => {
        this.log.warn(`Could not probe this machine for a recommendation: ${(e as Error).message}`);
        return null;
      },
    );
    return this.recommendation;
  }

  async choose(): Promise<string | undefined> {
    const folder = modelsFolder(this.globalStorageDir);
    const recommended = await this.recommend();
    const choices = modelChoices(MODEL_CATALOG, (m) => inspectModelOnDisk(folder, m), recommended, readSettings().server.modelPath);
    const picked = await vscode.window.showQuickPick(choices, {
      title: 'Qwen Local: choose a model',
      placeHolder: 'Download a Qwen2.5-Coder model, use one already downloaded, or pick a GGUF file',
      matchOnDescription: true,
    });
    if (!picked) return undefined;
    const action = picked.action;
    if (action.kind === 'pickFile') {
      await pickModel();
      return undefined;
    }
    if (action.kind === 'use') {
      await this.use(action.path, action.model.name, null);
      return action.path;
    }
    return this.download(action.model);
  }

  private async downloadCommand(id: unknown): Promise<string | undefined> {
    if (typeof id !== 'string' || id === '') return this.choose();
    const model = findCatalogModel(id);
    if (!model) {
      void vscode.window.showErrorMessage(`Qwen Local: no model '${id}' in the catalogue (known: ${MODEL_CATALOG.map((m) => m.id).join(', ')}).`);
      return undefined;
    }
    return this.download(model);
  }

  /** Downloads (or resumes) `model`, then makes it the model in use; resolves with its path, or undefined. */
  async download(model: CatalogModel): Promise<string | undefined> {
    if (this.active.has(model.id)) {
      void vscode.window.showInformationMessage(`Qwen Local: ${model.name} is already being downloaded.`);
      return undefined;
    }
    const folder = modelsFolder(this.globalStorageDir);
    let url: string;
    try {
      url = downloadUrlFor(model, process.env.QWEN_LOCAL_MODEL_MIRROR);
    } catch (e) {
      void vscode.window.showErrorMessage(`Qwen Local: ${(e as Error).message}`);
      return undefined;
    }
    const controller = new AbortController();
    this.active.set(model.id, controller);
    const increments = new ProgressIncrements();
    this.log.info(`Downloading ${url} to ${folder}`);
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Qwen Local: downloading ${model.name}`, cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => controller.abort());
          return downloadModel({ url, sha256: model.sha256, size: model.sizeBytes, sizeApproximate: model.sizeApproximate, fileName: model.file }, folder, {
            signal: controller.signal,
            onProgress: (bytes, total, speed, eta) =>
              progress.report({ message: describeDownloadProgress(bytes, total, speed, eta), increment: increments.next(bytes, total) }),
          });
        },
      );
      this.log.info(
        `Downloaded ${result.path}: ${result.bytes} bytes, sha256 ${result.sha256}` +
          `${result.verified ? ' (verified)' : ' (no published checksum to compare)'}${result.resumedFrom > 0 ? `, resumed at byte ${result.resumedFrom}` : ''}`,
      );
      await this.use(result.path, model.name, result.note);
      return result.path;
    } catch (e) {
      const err = e as Error;
      if (err.name === 'AbortError') {
        const kept = inspectModelOnDisk(folder, model).partialBytes;
        this.log.info(`Download of ${model.id} cancelled with ${kept} bytes kept.`);
        void vscode.window.showInformationMessage(`Qwen Local: download of ${model.name} paused (${formatBytes(kept)} kept). Choose it again to resume.`);
        return undefined;
      }
      this.log.error(`Download of ${model.id} failed: ${err.message}`);
      // Not awaited: the command resolves now; the button retries later if the user wants.
      void vscode.window.showErrorMessage(`Qwen Local: downloading ${model.name} failed: ${err.message}`, 'Retry').then((choice) => {
        if (choice === 'Retry') void this.download(model);
      });
      return undefined;
    } finally {
      this.active.delete(model.id);
    }
  }

  private async use(path: string, name: string, note: string | null): Promise<void> {
    await updateSetting('modelPath', path);
    void vscode.window.showInformationMessage(`Qwen Local: using ${name}${note ? ` (${note})` : ''}.`);
  }

  /** Closing the window stops downloads; their partial files stay for the next session. */
  dispose(): void {
    for (const c of this.active.values()) c.abort();
    this.active.clear();
  }
}

// The status bar item: loading / ready (model, device, tokens/s) / error / no model, and a quick
// menu on click with the things people reach for from there.
import * as vscode from 'vscode';
import type { StatusParams } from '../protocol';
import { describeStatus } from './server-status';

export const statusMenuCommand = 'qwenLocal.statusMenu';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private status: StatusParams = { state: 'loading', message: 'starting' };
  private completionsEnabled = true;
  private readonly disposables: vscode.Disposable[] = [];

  constructor() {
    this.item = vscode.window.createStatusBarItem('qwenLocal.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Qwen Local';
    this.item.command = statusMenuCommand;
    this.disposables.push(
      this.item,
      vscode.commands.registerCommand(statusMenuCommand, () => this.showMenu()),
    );
    this.render();
    this.item.show();
  }

  get current(): StatusParams {
    return this.status;
  }

  update(status: StatusParams): void {
    this.status = status;
    this.render();
  }

  setCompletionsEnabled(enabled: boolean): void {
    this.completionsEnabled = enabled;
    this.render();
  }

  private render(): void {
    const view = describeStatus(this.status, this.completionsEnabled);
    this.item.text = view.text;
    this.item.tooltip = new vscode.MarkdownString(
      `**Qwen Local**\n\n${view.tooltip
        .split('\n')
        .map((l) => l.replace(/[\\`*_[\]<>]/g, '\\$&'))
        .join('  \n')}\n\n_Click for options._`,
    );
    this.item.backgroundColor =
      view.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  private async showMenu(): Promise<void> {
    interface Entry extends vscode.QuickPickItem {
      command: string;
    }
    const entries: Entry[] = [
      { label: '$(cloud-download) Choose or download a model…', description: this.status.model?.name, command: 'qwenLocal.chooseModel' },
      { label: '$(file-binary) Pick model file…', command: 'qwenLocal.pickModel' },
      {
        label: this.completionsEnabled ? '$(circle-slash) Turn inline completions off' : '$(sparkle) Turn inline completions on',
        command: 'qwenLocal.toggleCompletions',
      },
      { label: '$(comment-discussion) Open chat', command: 'qwenLocal.openChat' },
      { label: '$(output) Show logs', command: 'qwenLocal.showLogs' },
      { label: '$(debug-restart) Restart language server', command: 'qwenLocal.restartServer' },
    ];
    const choice = await vscode.window.showQuickPick(entries, { title: 'Qwen Local', placeHolder: this.item.text.replace(/\$\([^)]*\)\s*/g, '') });
    if (choice) await vscode.commands.executeCommand(choice.command);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

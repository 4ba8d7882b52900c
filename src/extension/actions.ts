// Command-palette and context-menu actions on the selection (or the whole file when nothing is
// selected): explain (answered in the chat view), fix / write docs / edit by instruction (shown as
// a diff to accept or reject), write tests (opened as a new document), and the user's own prompt
// files from .qwen/prompts/*.prompt.md.
import { randomUUID } from 'crypto';
import * as vscode from 'vscode';
import type { ChatMessage } from '../protocol';
import { ActionId, actionSpecs, buildActionMessages, extractCode, matchOuterWhitespace, systemPrompt } from './action-prompts';
import type { ChatViewProvider } from './chat-view-provider';
import type { ServerConnection } from './client';
import type { ExtensionSettings } from './config';
import type { DiffPreview } from './diff-preview';
import { lastTextEditor } from './editor-context';
import { parsePromptFile, PromptFile, renderPrompt } from './prompt-files';

interface Target {
  editor: vscode.TextEditor;
  range: vscode.Range;
  code: string;
  wholeFile: boolean;
}

export class Actions {
  constructor(
    private readonly server: ServerConnection,
    private readonly settings: () => ExtensionSettings,
    private readonly chat: ChatViewProvider,
    private readonly diff: DiffPreview,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  register(): vscode.Disposable[] {
    const ids: ActionId[] = ['explain', 'fix', 'writeDocs', 'writeTests', 'editWithInstruction'];
    return [
      ...ids.map((id) => vscode.commands.registerCommand(`qwenLocal.${id}`, () => this.runBuiltIn(id))),
      vscode.commands.registerCommand('qwenLocal.runPromptFile', () => this.runPromptFile()),
    ];
  }

  /** The selection of the last used editor, or its whole file (no selection, or `forceWholeFile`). */
  private target(forceWholeFile = false): Target | undefined {
    const editor = lastTextEditor();
    if (!editor) {
      void vscode.window.showWarningMessage('Qwen Local: open a file (and select code) first.');
      return undefined;
    }
    const doc = editor.document;
    const wholeFile = forceWholeFile || editor.selection.isEmpty;
    const range = wholeFile ? doc.validateRange(new vscode.Range(0, 0, doc.lineCount, 0)) : editor.selection;
    const code = doc.getText(range);
    if (code.trim() === '') {
      void vscode.window.showWarningMessage('Qwen Local: the selection (or file) is empty.');
      return undefined;
    }
    return { editor, range, code, wholeFile };
  }

  async runBuiltIn(id: ActionId): Promise<void> {
    const spec = actionSpecs[id];
    const target = this.target();
    if (!target) return;
    let instruction: string | undefined;
    if (id === 'editWithInstruction') {
      instruction = await vscode.window.showInputBox({
        title: 'Qwen Local: Edit with instruction',
        prompt: `How should the ${target.wholeFile ? 'file' : 'selection'} change?`,
        placeHolder: 'e.g. convert to async/await',
        validateInput: (v) => (v.trim() === '' ? 'Write what to change.' : undefined),
      });
      if (!instruction) return;
    }
    const doc = target.editor.document;
    const fileName = vscode.workspace.asRelativePath(doc.uri, false);
    const messages = buildActionMessages(spec, {
      code: target.code,
      languageId: doc.languageId,
      fileName,
      wholeFile: target.wholeFile,
      instruction,
    });
    if (spec.output === 'chat') {
      const where = target.wholeFile ? fileName : `${fileName}:${target.range.start.line + 1}-${target.range.end.line + 1}`;
      await this.chat.ask(`${spec.title}: ${where}`, messages[messages.length - 1].content, where);
      return;
    }
    await this.generateCode(spec.title, messages, target, spec.output === 'newDocument');
  }

  private async generateCode(title: string, messages: ChatMessage[], target: Target, newDocument: boolean): Promise<void> {
    const reply = await this.generateWithProgress(title, messages);
    if (reply === undefined) return;
    const code = extractCode(reply);
    if (code === undefined) {
      void vscode.window.showWarningMessage(`Qwen Local: ${title} returned no code.`);
      return;
    }
    if (newDocument) {
      const doc = await vscode.workspace.openTextDocument({ language: target.editor.document.languageId, content: code });
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside });
      return;
    }
    const replacement = target.wholeFile ? code.replace(/\s*$/, '\n') : matchOuterWhitespace(target.code, code);
    const accepted = await this.diff.propose(target.editor.document, target.range, replacement, title);
    this.log.info(`${title}: proposal ${accepted ? 'accepted' : 'rejected'}.`);
  }

  /** Runs one request with a cancellable progress notification; undefined when cancelled or failed. */
  private async generateWithProgress(title: string, messages: ChatMessage[]): Promise<string | undefined> {
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Qwen Local: ${title}`, cancellable: true },
      async (progress, token) => {
        let text = '';
        let tokens = 0;
        try {
          const s = this.settings().server.chat;
          const params = { sessionId: `action-${randomUUID()}`, messages, maxTokens: s.maxTokens, temperature: s.temperature, topP: s.topP };
          const result = await this.server.chat(
            params,
            (delta) => {
              text += delta;
              tokens++;
              if (tokens % 8 === 0) progress.report({ message: `${text.length} characters written…` });
            },
            token,
          );
          return result?.text ?? text;
        } catch (e) {
          if (token.isCancellationRequested) return undefined;
          void vscode.window.showErrorMessage(`Qwen Local: ${title} failed: ${(e as Error).message}`);
          return undefined;
        }
      },
    );
  }

  async runPromptFile(): Promise<void> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length === 0) {
      void vscode.window.showWarningMessage('Qwen Local: prompt files live in .qwen/prompts/ of a workspace folder; open a folder first.');
      return;
    }
    interface Item extends vscode.QuickPickItem {
      prompt?: PromptFile;
      error?: string;
    }
    const items: Item[] = [];
    for (const folder of folders) {
      const files = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, '.qwen/prompts/*.prompt.md'), undefined, 200);
      for (const uri of files) {
        const name = vscode.workspace.asRelativePath(uri, folders.length > 1);
        try {
          const source = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
          const prompt = parsePromptFile(name, source);
          items.push({ label: prompt.title, description: prompt.mode === 'edit' ? 'edit (diff)' : 'chat', detail: prompt.description || name, prompt });
        } catch (e) {
          items.push({ label: `$(warning) ${name}`, detail: (e as Error).message, error: (e as Error).message });
        }
      }
    }
    if (items.length === 0) {
      void vscode.window.showInformationMessage('Qwen Local: no prompt files found. Add one as .qwen/prompts/NAME.prompt.md with a front matter "title:".');
      return;
    }
    items.sort((a, b) => a.label.localeCompare(b.label));
    const choice = await vscode.window.showQuickPick(items, { title: 'Qwen Local: Run prompt file', matchOnDetail: true });
    if (!choice) return;
    if (!choice.prompt) {
      void vscode.window.showErrorMessage(`Qwen Local: ${choice.error}`);
      return;
    }
    await this.runPrompt(choice.prompt);
  }

  private async runPrompt(prompt: PromptFile): Promise<void> {
    const target = prompt.context === 'none' ? undefined : this.target(prompt.context === 'file');
    if (prompt.context !== 'none' && !target) return;
    let input = '';
    if (prompt.needsInput) {
      input = (await vscode.window.showInputBox({ title: prompt.title, prompt: prompt.description || 'Input for the prompt' })) ?? '';
      if (input === '') return;
    }
    const doc = target?.editor.document;
    const text = renderPrompt(prompt, {
      selection: target?.code ?? '',
      file: doc?.getText() ?? '',
      fileName: doc ? vscode.workspace.asRelativePath(doc.uri, false) : '',
      language: doc?.languageId ?? '',
      input,
    });
    if (prompt.mode === 'chat' || !target) {
      await this.chat.ask(prompt.title, text);
      return;
    }
    const messages: ChatMessage[] = [
      { role: 'system', content: systemPrompt },
      { role: 'user', content: `${text}\n\nReply with the complete rewritten code in a single fenced code block and nothing else.` },
    ];
    await this.generateCode(prompt.title, messages, target, false);
  }
}

// The chat input's @-mentions on the host side: completion lists for @file (the server's index,
// so .gitignore and files.exclude apply) and @symbol (VS Code's workspace symbol providers), and
// the text each attachment brings: a file, a symbol's code, the selection, the problems
// (diagnostics) of the current file or all, the uncommitted changes (`git diff`). Items are
// attached only by the handles this class offered, so the webview can never name a file itself.
import { execFile } from 'child_process';
import { randomUUID } from 'crypto';
import * as vscode from 'vscode';
import type { ChatAttachment } from '../protocol/workspace';
import { Requests } from '../protocol/messages';
import type { AttachmentChip, MentionItem, MentionKind } from '../protocol/webview';
import type { ServerConnection } from './client';
import { lastTextEditor } from './editor-context';

/** An attachment waiting to be sent: its chip and what it sends. */
export interface PendingAttachment {
  chip: AttachmentChip;
  /** Absent for @workspace, which retrieves at send time. */
  attachment?: ChatAttachment;
}

const maxListed = 50;
/** Most characters one attachment reads (the server cuts it to the context anyway). */
const maxAttachmentChars = 400_000;

type Offer = { kind: 'file'; uri: vscode.Uri; path: string } | { kind: 'symbol'; symbol: vscode.SymbolInformation };

export class ChatMentions {
  private offers = new Map<string, Offer>();
  private pending: PendingAttachment[] = [];

  constructor(
    private readonly server: ServerConnection,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get chips(): AttachmentChip[] {
    return this.pending.map((p) => p.chip);
  }

  /** Takes the waiting attachments for a message being sent. */
  take(): PendingAttachment[] {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }

  detach(id: string): void {
    this.pending = this.pending.filter((p) => p.chip.id !== id);
  }

  async list(kind: MentionKind, query: string): Promise<MentionItem[]> {
    this.offers.clear();
    if (kind === 'file') {
      const result = await this.server.request(Requests.workspaceFiles, { query, limit: maxListed });
      return result.files.map((f) => this.offer({ kind: 'file', uri: vscode.Uri.parse(f.uri), path: f.path }, f.path.split('/').pop() ?? f.path, f.path));
    }
    if (kind === 'symbol') {
      if (query.trim() === '') return [];
      const symbols = (await vscode.commands.executeCommand<vscode.SymbolInformation[]>('vscode.executeWorkspaceSymbolProvider', query)) ?? [];
      return symbols
        .slice(0, maxListed)
        .map((s) =>
          this.offer(
            { kind: 'symbol', symbol: s },
            s.name,
            `${vscode.SymbolKind[s.kind] ?? 'symbol'} · ${vscode.workspace.asRelativePath(s.location.uri, false)}:${s.location.range.start.line + 1}`,
          ),
        );
    }
    return [];
  }

  /** Resolves an attachment and adds its chip; returns a reason when there is nothing to attach. */
  async attach(kind: MentionKind, id: string): Promise<string | undefined> {
    let attachment: ChatAttachment | undefined;
    if (kind === 'workspace') {
      if (this.pending.some((p) => p.chip.kind === 'workspace')) return undefined;
      this.pending.push({ chip: { id: randomUUID(), kind, label: '@workspace', tokens: 0 } });
      return undefined;
    }
    if (kind === 'file' || kind === 'symbol') {
      const offer = this.offers.get(id);
      if (!offer || offer.kind !== kind) return `that ${kind} is no longer offered; type @${kind} again`;
      attachment = offer.kind === 'file' ? await this.fileAttachment(offer.uri, offer.path) : await this.symbolAttachment(offer.symbol);
    } else if (kind === 'selection') attachment = this.selectionAttachment();
    else if (kind === 'problems') attachment = this.problemsAttachment();
    else if (kind === 'changes') attachment = await this.changesAttachment();
    if (!attachment) return `nothing to attach for @${kind}`;
    const tokens = await this.countTokens(attachment.text);
    this.pending.push({ chip: { id: randomUUID(), kind, label: attachment.label, tokens }, attachment });
    return undefined;
  }

  private offer(offer: Offer, label: string, detail: string): MentionItem {
    const id = randomUUID();
    this.offers.set(id, offer);
    return { id, label, detail };
  }

  private async fileAttachment(uri: vscode.Uri, path: string): Promise<ChatAttachment | undefined> {
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    const text = open ? open.getText() : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    return { kind: 'file', label: path, text: text.slice(0, maxAttachmentChars) };
  }

  private async symbolAttachment(symbol: vscode.SymbolInformation): Promise<ChatAttachment | undefined> {
    const doc = await vscode.workspace.openTextDocument(symbol.location.uri);
    let range = symbol.location.range;
    // Some providers give only the name's range: take the lines that follow, up to a blank line.
    if (range.start.line === range.end.line) {
      let end = range.start.line;
      while (end + 1 < doc.lineCount && end - range.start.line < 80 && !doc.lineAt(end + 1).isEmptyOrWhitespace) end++;
      range = new vscode.Range(range.start.line, 0, end, doc.lineAt(end).text.length);
    } else range = new vscode.Range(range.start.line, 0, range.end.line, doc.lineAt(range.end.line).text.length);
    const path = vscode.workspace.asRelativePath(doc.uri, false);
    return { kind: 'symbol', label: `${symbol.name} (${path}:${range.start.line + 1}-${range.end.line + 1})`, text: doc.getText(range) };
  }

  private selectionAttachment(): ChatAttachment | undefined {
    const editor = lastTextEditor();
    if (!editor || editor.selection.isEmpty) return undefined;
    const sel = editor.selection;
    const path = vscode.workspace.asRelativePath(editor.document.uri, false);
    return { kind: 'selection', label: `selection of ${path}:${sel.start.line + 1}-${sel.end.line + 1}`, text: editor.document.getText(sel) };
  }

  private problemsAttachment(): ChatAttachment | undefined {
    const editor = lastTextEditor();
    const all = editor ? [[editor.document.uri, vscode.languages.getDiagnostics(editor.document.uri)] as const] : vscode.languages.getDiagnostics();
    const lines: string[] = [];
    for (const [uri, diagnostics] of all) {
      for (const d of diagnostics) {
        const severity = ['error', 'warning', 'info', 'hint'][d.severity] ?? 'problem';
        lines.push(
          `${vscode.workspace.asRelativePath(uri, false)}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${severity}: ${d.message}${d.source ? ` (${d.source})` : ''}`,
        );
      }
    }
    if (lines.length === 0) return undefined;
    const label = editor ? `problems in ${vscode.workspace.asRelativePath(editor.document.uri, false)}` : 'problems in the workspace';
    return { kind: 'problems', label, text: lines.join('\n') };
  }

  private async changesAttachment(): Promise<ChatAttachment | undefined> {
    const parts: string[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if (folder.uri.scheme !== 'file') continue;
      const diff = await gitDiff(folder.uri.fsPath).catch((e: Error) => {
        this.log.warn(`@changes: git diff in ${folder.uri.fsPath} failed: ${e.message}`);
        return '';
      });
      if (diff.trim() !== '') parts.push(diff);
    }
    if (parts.length === 0) return undefined;
    return { kind: 'changes', label: 'uncommitted changes (git diff)', text: parts.join('\n').slice(0, maxAttachmentChars) };
  }

  private async countTokens(text: string): Promise<number> {
    try {
      const ids = await this.server.request(Requests.tokenize, { text });
      if (Array.isArray(ids)) return ids.length;
    } catch {
      // No model loaded (or a remote one): estimate.
    }
    return Math.ceil(text.length / 3);
  }
}

/** `git diff HEAD` (staged and unstaged changes) of one folder; no network involved. */
function gitDiff(cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['diff', 'HEAD', '--no-color', '--no-ext-diff'], { cwd, maxBuffer: 8 * 1024 * 1024, timeout: 10_000 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout);
    });
  });
}

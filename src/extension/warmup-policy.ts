// When the extension asks the server to warm a document's completion cache (qwen/warmCompletion):
// when a document is opened or focused, and when the cursor jumps (a click, go-to-definition, a
// search result, page up/down), but not while the user types or walks line by line with the
// arrow keys: typing is what the completion requests themselves keep cached. Free of `vscode`.

export type CursorCause = 'open' | 'focus' | 'selection';
/** How the selection moved, as VS Code reports it (TextEditorSelectionChangeKind), if it says. */
export type SelectionKind = 'keyboard' | 'mouse' | 'command' | undefined;

export interface CursorEvent {
  documentKey: string;
  version: number;
  line: number;
  character: number;
  cause: CursorCause;
  kind?: SelectionKind;
  now: number;
}

export interface WarmupPolicyOptions {
  /** A keyboard move of more lines than this is a jump (page down, Ctrl+Home); fewer is walking. */
  jumpLines: number;
  /** A selection change this soon after an edit of the same document is typing, not a move. */
  typingWindowMs: number;
}

export const defaultWarmupPolicyOptions: WarmupPolicyOptions = { jumpLines: 8, typingWindowMs: 150 };

export class WarmupPolicy {
  private readonly lastLine = new Map<string, number>();
  private readonly lastEdit = new Map<string, number>();
  private lastSent = '';
  private readonly options: WarmupPolicyOptions;

  constructor(options: Partial<WarmupPolicyOptions> = {}) {
    this.options = { ...defaultWarmupPolicyOptions, ...options };
  }

  /** Records an edit of a document (typing, paste, undo). */
  recordEdit(documentKey: string, now: number): void {
    this.lastEdit.set(documentKey, now);
  }

  /** Forgets a closed document. */
  forget(documentKey: string): void {
    this.lastLine.delete(documentKey);
    this.lastEdit.delete(documentKey);
  }

  /** Whether this cursor event should warm the cache at the cursor. */
  shouldWarm(e: CursorEvent): boolean {
    const previousLine = this.lastLine.get(e.documentKey);
    this.lastLine.set(e.documentKey, e.line);
    let warm: boolean;
    if (e.cause !== 'selection') warm = true;
    else if (e.now - (this.lastEdit.get(e.documentKey) ?? -Infinity) <= this.options.typingWindowMs) warm = false;
    else if (previousLine === undefined) warm = true;
    else if (e.kind === 'keyboard' || e.kind === undefined) warm = Math.abs(e.line - previousLine) > this.options.jumpLines;
    else warm = e.line !== previousLine;
    if (!warm) return false;
    // The same place in the same text again (focus back and forth) has nothing new to warm.
    const key = `${e.documentKey}@${e.version}:${e.line}:${e.character}`;
    if (key === this.lastSent) return false;
    this.lastSent = key;
    return true;
  }
}

// After the user accepts a whole suggestion, the suggestion at the new cursor is computed at once,
// at the server's background priority (qwen/prefetchCompletion), and put in the completion cache;
// if the cursor is still where it was when it arrives, VS Code is asked to show inline suggestions,
// which the cache then answers without a request. So accepting and pausing shows the next
// suggestion as soon as it exists, and typing on into it is served by the cache as well.
// Free of `vscode`: the editor, the server and the cache come in as functions.
import type { CursorText } from './completion-cache';

/** The active editor's state: where the cursor is in which text. */
export interface EditorCursor extends CursorText {
  uri: string;
  version: number;
  line: number;
  character: number;
}

export interface AcceptedPrefetchDeps {
  /** Whether prefetching is on (the setting, completions enabled for this document). */
  enabled(cursor: EditorCursor): boolean;
  /** The active editor's cursor, if any. */
  cursor(): EditorCursor | undefined;
  /** Asks the server; resolves to the cleaned-up suggestion, or '' for none. */
  request(cursor: EditorCursor, signal: AbortSignal): Promise<string>;
  /** Stores a suggestion for this cursor in the completion cache. */
  store(at: CursorText, completion: string): void;
  /** Asks the editor to show inline suggestions at the cursor. */
  show(): void;
}

export type PrefetchOutcome = 'off' | 'noEditor' | 'empty' | 'cancelled' | 'stored' | 'shown';

export class AcceptedPrefetch {
  private current: AbortController | null = null;
  private currentAt: EditorCursor | null = null;

  constructor(private readonly deps: AcceptedPrefetchDeps) {}

  /** Called when a suggestion was accepted (the edit is already applied). */
  async onAccepted(): Promise<PrefetchOutcome> {
    const at = this.deps.cursor();
    if (!at) return 'noEditor';
    if (!this.deps.enabled(at)) return 'off';
    // Only the newest acceptance's suggestion is worth computing.
    this.current?.abort();
    const cancel = new AbortController();
    this.current = cancel;
    this.currentAt = at;
    try {
      const text = await this.deps.request(at, cancel.signal);
      if (cancel.signal.aborted) return 'cancelled';
      if (text === '') return 'empty';
      this.deps.store(at, text);
      const now = this.deps.cursor();
      const unmoved = now !== undefined && now.uri === at.uri && now.version === at.version && now.line === at.line && now.character === at.character;
      if (!unmoved) return 'stored';
      this.deps.show();
      return 'shown';
    } finally {
      if (this.current === cancel) {
        this.current = null;
        this.currentAt = null;
      }
    }
  }

  /**
   * A document changed: an edit after the accepted state (the user typed on) makes the prefetch
   * in flight for it pointless. The acceptance's own edit (an older or equal version) does not.
   */
  onDocumentChanged(uri: string, version: number): void {
    if (this.currentAt && this.currentAt.uri === uri && version > this.currentAt.version) this.cancel();
  }

  /** Cancels a prefetch in flight. */
  cancel(): void {
    this.current?.abort();
    this.current = null;
    this.currentAt = null;
  }
}

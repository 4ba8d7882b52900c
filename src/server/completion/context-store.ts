// Other-file context for completions: what the client sent with qwen/completionContext, or, when
// it sent nothing for a document, excerpts of the other documents the server has open, most
// recently edited first. Snippets go at the front of the FIM prompt, so they must change rarely:
// client snippets change only when the client re-ranks, and fallback excerpts are the first lines
// of files the user is not typing in right now.
import type { CompletionContextParams, CompletionContextSnippet } from '../../protocol';

export interface OpenDocumentView {
  uri: string;
  /** Workspace-relative path. */
  path: string;
  getText(): string;
}

/** Fallback excerpts: how many other documents, and how many of their first lines. */
const FALLBACK_DOCUMENTS = 3;
const FALLBACK_LINES = 80;
const MAX_SNIPPETS = 16;
const MAX_SNIPPET_CHARS = 16000;

export class CompletionContextStore {
  private readonly byUri = new Map<string, CompletionContextSnippet[]>();
  private forAll: CompletionContextSnippet[] | null = null;
  private readonly touched = new Map<string, number>();
  private clock = 0;

  /** Stores what the client sent; invalid entries are dropped rather than failing the notification. */
  set(params: CompletionContextParams | undefined): void {
    if (!params || !Array.isArray(params.snippets)) return;
    const snippets = params.snippets
      .filter((s): s is CompletionContextSnippet => !!s && typeof s.path === 'string' && typeof s.text === 'string')
      .slice(0, MAX_SNIPPETS)
      .map((s) => ({ path: s.path, text: s.text.slice(0, MAX_SNIPPET_CHARS) }));
    if (typeof params.uri === 'string' && params.uri.length > 0) this.byUri.set(params.uri, snippets);
    else this.forAll = snippets;
  }

  /** Records an edit (or open) of a document, for the fallback's recency order. */
  touch(uri: string): void {
    this.touched.set(uri, ++this.clock);
  }

  forget(uri: string): void {
    this.byUri.delete(uri);
    this.touched.delete(uri);
  }

  /** Snippets for a completion in `uri`. */
  snippetsFor(uri: string, openDocuments: readonly OpenDocumentView[]): CompletionContextSnippet[] {
    const sent = this.byUri.get(uri) ?? this.forAll;
    if (sent) return sent;
    const others = openDocuments
      .filter((d) => d.uri !== uri)
      .sort((a, b) => (this.touched.get(b.uri) ?? 0) - (this.touched.get(a.uri) ?? 0))
      .slice(0, FALLBACK_DOCUMENTS);
    // Least recent first: the most relevant file sits closest to the current one in the prompt.
    return others.reverse().map((d) => ({ path: d.path, text: d.getText().split('\n').slice(0, FALLBACK_LINES).join('\n') }));
  }
}

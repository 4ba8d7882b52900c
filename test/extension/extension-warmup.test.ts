// The extension's side of warm-up and prefetch, free of vscode: which cursor events warm the
// server's cache, and how an accepted suggestion's follow-up is prefetched into the completion
// cache and shown (the real CompletionCache serves it afterwards).
import * as assert from 'assert';
import { AcceptedPrefetch, AcceptedPrefetchDeps, EditorCursor } from '../../src/extension/accepted-prefetch';
import { CompletionCache } from '../../src/extension/completion-cache';
import { CursorEvent, WarmupPolicy } from '../../src/extension/warmup-policy';

describe('extension: warm-up policy', () => {
  const at = (over: Partial<CursorEvent>): CursorEvent => ({ documentKey: 'a', version: 1, line: 10, character: 0, cause: 'selection', now: 10_000, ...over });

  it('warms on open and focus, not again for the same place', () => {
    const p = new WarmupPolicy();
    assert.strictEqual(p.shouldWarm(at({ cause: 'open' })), true);
    assert.strictEqual(p.shouldWarm(at({ cause: 'focus' })), false, 'same document, version and cursor');
    assert.strictEqual(p.shouldWarm(at({ cause: 'focus', documentKey: 'b' })), true);
    assert.strictEqual(p.shouldWarm(at({ cause: 'focus' })), true, 'back to a: it may have been evicted meanwhile');
  });

  it('warms on jumps, not on typing or walking line by line', () => {
    const p = new WarmupPolicy();
    p.shouldWarm(at({ cause: 'focus', line: 10 }));
    // Typing moves the cursor right after an edit.
    p.recordEdit('a', 20_000);
    assert.strictEqual(p.shouldWarm(at({ version: 2, line: 11, character: 4, kind: 'keyboard', now: 20_010 })), false, 'typing');
    assert.strictEqual(
      p.shouldWarm(at({ version: 2, line: 40, kind: 'command', now: 20_050 })),
      false,
      'even a jump while typing is an edit effect (e.g. a paste)',
    );
    // Arrow keys: one line at a time is walking; a page down is a jump.
    assert.strictEqual(p.shouldWarm(at({ version: 2, line: 41, kind: 'keyboard', now: 30_000 })), false);
    assert.strictEqual(p.shouldWarm(at({ version: 2, line: 42, kind: 'keyboard', now: 30_100 })), false);
    assert.strictEqual(p.shouldWarm(at({ version: 2, line: 80, kind: 'keyboard', now: 30_200 })), true, 'page down');
    // A click or go-to-definition on another line is a jump, however near.
    assert.strictEqual(p.shouldWarm(at({ version: 2, line: 82, kind: 'mouse', now: 31_000 })), true);
    assert.strictEqual(p.shouldWarm(at({ version: 2, line: 82, character: 5, kind: 'mouse', now: 31_500 })), false, 'a click on the same line');
    assert.strictEqual(p.shouldWarm(at({ version: 2, line: 300, kind: 'command', now: 32_000 })), true, 'go to definition');
  });
});

describe('extension: prefetch after an accepted suggestion', () => {
  const cursor = (over: Partial<EditorCursor> = {}): EditorCursor => ({
    documentKey: 'file:///a.ts#typescript',
    uri: 'file:///a.ts',
    version: 5,
    line: 3,
    character: 2,
    prefix: 'function f() {\n  return 1;\n}\n  ',
    suffix: '\n',
    ...over,
  });

  interface Harness {
    deps: AcceptedPrefetchDeps;
    cache: CompletionCache;
    requests: EditorCursor[];
    shown: number;
    editor: EditorCursor | undefined;
    answer: (text: string) => void;
    cancelled: () => boolean;
  }

  function harness(enabled = true): Harness {
    const cache = new CompletionCache();
    let resolve: (text: string) => void = () => undefined;
    let lastSignal: AbortSignal | undefined;
    const h: Harness = {
      cache,
      requests: [],
      shown: 0,
      editor: cursor(),
      answer: (text) => resolve(text),
      cancelled: () => lastSignal?.aborted === true,
      deps: {
        enabled: () => enabled,
        cursor: () => h.editor,
        request: (at, signal) => {
          h.requests.push(at);
          lastSignal = signal;
          return new Promise<string>((r) => {
            resolve = r;
            signal.addEventListener('abort', () => r(''), { once: true });
          });
        },
        store: (at, completion) => cache.store(at, completion, Date.now()),
        show: () => h.shown++,
      },
    };
    return h;
  }

  it('asks for the suggestion at the new cursor, caches it and shows it when the cursor has not moved', async () => {
    const h = harness();
    const p = new AcceptedPrefetch(h.deps);
    const outcome = p.onAccepted();
    assert.deepStrictEqual(h.requests, [cursor()], 'asked at the cursor after the accepted text');
    h.answer('return 2;');
    assert.strictEqual(await outcome, 'shown');
    assert.strictEqual(h.shown, 1);
    // VS Code then asks the provider, whose cache answers at once, and keeps answering while the
    // user types into the suggestion.
    const hit = h.cache.lookup(cursor(), Date.now());
    assert.strictEqual(hit?.remaining, 'return 2;');
    const typed = h.cache.lookup(cursor({ prefix: cursor().prefix + 'ret', version: 6 }), Date.now());
    assert.strictEqual(typed?.remaining, 'urn 2;');
  });

  it('caches but does not show a prefetch that arrives after the cursor moved', async () => {
    const h = harness();
    const p = new AcceptedPrefetch(h.deps);
    const outcome = p.onAccepted();
    h.editor = cursor({ line: 9, character: 0 });
    h.answer('return 2;');
    assert.strictEqual(await outcome, 'stored');
    assert.strictEqual(h.shown, 0);
    assert.ok(h.cache.lookup(cursor(), Date.now()), 'still cached for that place');
  });

  it("cancels a prefetch when the user types on, or a newer acceptance comes; not for the acceptance's own edit", async () => {
    const h = harness();
    const p = new AcceptedPrefetch(h.deps);
    const first = p.onAccepted();
    p.onDocumentChanged('file:///a.ts', 5);
    assert.strictEqual(h.cancelled(), false, 'the accepted edit itself (same version) does not cancel');
    p.onDocumentChanged('file:///a.ts', 6);
    assert.strictEqual(await first, 'cancelled');
    assert.strictEqual(h.cache.size, 0);

    const second = p.onAccepted();
    h.editor = cursor({ version: 7, character: 10 });
    const third = p.onAccepted();
    assert.strictEqual(await second, 'cancelled', 'a newer acceptance replaces the older prefetch');
    h.answer('x + 1;');
    assert.strictEqual(await third, 'shown');
    assert.strictEqual(h.requests.length, 3);
  });

  it('does nothing when prefetch is off or there is no editor, and shows nothing for an empty answer', async () => {
    const off = harness(false);
    assert.strictEqual(await new AcceptedPrefetch(off.deps).onAccepted(), 'off');
    assert.strictEqual(off.requests.length, 0);
    const none = harness();
    none.editor = undefined;
    assert.strictEqual(await new AcceptedPrefetch(none.deps).onAccepted(), 'noEditor');
    const empty = harness();
    const outcome = new AcceptedPrefetch(empty.deps).onAccepted();
    empty.answer('');
    assert.strictEqual(await outcome, 'empty');
    assert.strictEqual(empty.shown, 0);
    assert.strictEqual(empty.cache.size, 0);
  });
});

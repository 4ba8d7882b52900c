// The context tracker (src/extension/context-tracker.ts) against a fake editor: which documents it
// offers the server as completion context, when it sends, and what it tells the debounce policy.
import * as assert from 'assert';
import type { CompletionContextParams } from '../../src/protocol';
import type { TypedNotification } from '../../src/protocol/messages';
import { FakeDocument, FakeRange, installFakeEditor } from './fake-editor';

type Tracker = import('../../src/extension/context-tracker.js').ContextTracker;

const shared = 'export function computeTotal(items: Item[]): number {\n  return items.reduce((sum, item) => sum + item.price, 0);\n}\n';

describe('extension: context tracker', () => {
  let installed: ReturnType<typeof installFakeEditor>;
  let ContextTracker: typeof import('../../src/extension/context-tracker.js').ContextTracker;
  let isTrackable: typeof import('../../src/extension/context-tracker.js').isTrackable;
  let sent: Array<{ method: string; params: CompletionContextParams }>;
  let running: boolean;
  let runningListener: ((running: boolean) => void) | undefined;
  let keystrokes: number[];
  let tracker: Tracker | undefined;

  const server = {
    get running() {
      return running;
    },
    notify: (type: TypedNotification<CompletionContextParams>, params: CompletionContextParams) => sent.push({ method: type.method, params }),
    onRunningChanged: (listener: (running: boolean) => void) => {
      runningListener = listener;
      return { dispose: () => (runningListener = undefined) };
    },
  };
  const debounce = { recordKeystroke: (t: number) => keystrokes.push(t) };

  before(async () => {
    installed = installFakeEditor();
    ({ ContextTracker, isTrackable } = await import('../../src/extension/context-tracker.js'));
  });
  after(() => installed.uninstall());

  function open(scheme: string, path: string, text: string, languageId = 'typescript'): FakeDocument {
    const doc = new FakeDocument(scheme, path, languageId, text);
    installed.editor.documents.push(doc);
    return doc;
  }

  beforeEach(() => {
    sent = [];
    keystrokes = [];
    running = true;
    installed.editor.documents = [];
    const current = open('file', '/ws/src/cart.ts', `import { Item } from './item';\n\nconst total = computeTotal(cart.items);\n`);
    installed.editor.active = { document: current, selection: { active: { line: 2 } } };
    tracker = new ContextTracker(server as never, debounce as never);
  });
  afterEach(() => tracker?.dispose());

  it('tracks files and untitled buffers, not output panes or other schemes', () => {
    assert.strictEqual(isTrackable(new FakeDocument('file', '/a.ts', 'typescript', '') as never), true);
    assert.strictEqual(isTrackable(new FakeDocument('untitled', 'Untitled-1', 'typescript', '') as never), true);
    assert.strictEqual(isTrackable(new FakeDocument('output', 'log', 'log', '') as never), false);
    assert.strictEqual(isTrackable(new FakeDocument('git', '/a.ts', 'typescript', '') as never), false);
  });

  it('sends snippets of the other open files for the active editor, never of itself or of non-files', () => {
    open('file', '/ws/src/total.ts', shared);
    open('output', '/ws/extension-output', shared, 'log');
    tracker!.refresh();
    assert.strictEqual(sent.length, 1);
    assert.strictEqual(sent[0].method, 'qwen/completionContext');
    assert.strictEqual(sent[0].params.uri, 'file:///ws/src/cart.ts');
    assert.deepStrictEqual(
      sent[0].params.snippets.map((s) => s.path),
      ['src/total.ts'],
    );
    assert.ok(sent[0].params.snippets[0].text.includes('computeTotal'));
  });

  it('sends only when the snippets change, and again after the server restarts', () => {
    open('file', '/ws/src/total.ts', shared);
    tracker!.refresh();
    tracker!.refresh();
    assert.strictEqual(sent.length, 1, 'unchanged context is not sent twice');
    installed.editor.documents[1].setText(shared + 'export const TAX = 0.2;\n');
    tracker!.refresh();
    assert.strictEqual(sent.length, 2, 'a changed snippet is sent');
    runningListener!(true);
    tracker!.refresh();
    assert.strictEqual(sent.length, 3, 'a restarted server gets the context again');
  });

  it('sends nothing while the server is not running', () => {
    open('file', '/ws/src/total.ts', shared);
    running = false;
    tracker!.refresh();
    assert.strictEqual(sent.length, 0);
  });

  it('feeds keystrokes in the active document, not edits elsewhere, to the debounce policy', () => {
    const other = open('file', '/ws/src/total.ts', shared);
    const change = { contentChanges: [{ range: new FakeRange(1, 0, 1, 0) }] };
    installed.editor.changeDocument.fire({ document: installed.editor.active!.document, ...change });
    installed.editor.changeDocument.fire({ document: other, ...change });
    installed.editor.changeDocument.fire({ document: installed.editor.active!.document, contentChanges: [] });
    assert.strictEqual(keystrokes.length, 1);
  });
});

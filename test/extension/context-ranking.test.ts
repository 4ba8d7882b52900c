// Ranking other files' snippets for the completion prompt: relevance by shared identifiers,
// recency and edits, budgets, duplicates, and exclusions.
import * as assert from 'assert';
import { ContextCandidate, identifiers, jaccard, rankContext, snippetsKey } from '../../src/extension/context-ranking';

const now = 1_000_000;
const query = {
  path: 'src/main.ts',
  languageId: 'typescript',
  nearCursor: 'const total = computeInvoiceTotal(invoice, taxRate);\nrenderInvoice(invoice);',
  now,
};

function lines(n: number, make: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => make(i)).join('\n');
}

describe('extension: completion context ranking', () => {
  it('identifier sets and Jaccard similarity', () => {
    assert.deepStrictEqual([...identifiers('a.bc = foo_bar(x1y, $el) // ok')].sort(), ['$el', 'foo_bar', 'x1y']);
    assert.strictEqual(jaccard(new Set(['a', 'b']), new Set(['b', 'c'])), 1 / 3);
    assert.strictEqual(jaccard(new Set(), new Set()), 0);
  });

  it('puts the file sharing identifiers with the cursor first, and excludes the current file', () => {
    const candidates: ContextCandidate[] = [
      { path: 'src/colors.ts', languageId: 'typescript', text: 'export const red = "#f00";\nexport const blue = "#00f";' },
      {
        path: 'src/invoice.ts',
        languageId: 'typescript',
        text: 'export function computeInvoiceTotal(invoice: Invoice, taxRate: number) {}\nexport function renderInvoice(invoice: Invoice) {}',
      },
      { path: 'src/main.ts', languageId: 'typescript', text: 'computeInvoiceTotal renderInvoice invoice taxRate' },
    ];
    const ranked = rankContext(query, candidates);
    assert.deepStrictEqual(
      ranked.map((s) => s.path),
      ['src/invoice.ts', 'src/colors.ts'],
    );
    assert.ok(ranked[0].score > ranked[1].score);
  });

  it('a recently edited file beats an equally similar untouched one, edited windows beat the rest', () => {
    const text = 'function helperOne() {}\nfunction helperTwo() {}';
    const ranked = rankContext(query, [
      { path: 'b.ts', languageId: 'typescript', text },
      { path: 'a.ts', languageId: 'typescript', text, lastEditedAt: now - 1000 },
    ]);
    assert.strictEqual(ranked[0].path, 'a.ts');
    const long = lines(200, (i) => `const value${i} = ${i};`);
    const inFile = rankContext(query, [{ path: 'big.ts', languageId: 'typescript', text: long, editedLines: [150] }], { maxPerFile: 1 });
    assert.strictEqual(inFile.length, 1);
    assert.ok(inFile[0].startLine <= 150 && 150 < inFile[0].startLine + 48, `window at ${inFile[0].startLine}`);
  });

  it('respects the snippet count, per-file limit and character budget', () => {
    const candidates = Array.from({ length: 10 }, (_, f) => ({
      path: `f${f}.ts`,
      languageId: 'typescript',
      text: lines(300, (i) => `invoice${f}_${i} = computeInvoiceTotal(invoice, taxRate${i});`),
    }));
    const ranked = rankContext(query, candidates, { maxSnippets: 5, maxPerFile: 2, maxTotalChars: 8000 });
    assert.ok(ranked.length <= 5);
    const perFile = new Map<string, number>();
    for (const s of ranked) perFile.set(s.path, (perFile.get(s.path) ?? 0) + 1);
    assert.ok([...perFile.values()].every((n) => n <= 2));
    assert.ok(ranked.reduce((sum, s) => sum + s.text.length, 0) <= 8000);
    // Windows of one file never overlap.
    for (const a of ranked)
      for (const b of ranked) {
        if (a !== b && a.path === b.path) assert.ok(Math.abs(a.startLine - b.startLine) >= 48);
      }
  });

  it('drops near-duplicate windows and skips empty or oversized files', () => {
    const text = 'export function computeInvoiceTotal(invoice, taxRate) { return invoice.sum * taxRate; }';
    const ranked = rankContext(query, [
      { path: 'copy1.ts', languageId: 'typescript', text },
      { path: 'copy2.ts', languageId: 'typescript', text: text + ' ' },
      { path: 'empty.ts', languageId: 'typescript', text: '   \n\n' },
      { path: 'huge.min.js', languageId: 'javascript', text: 'computeInvoiceTotal '.repeat(50_000) },
    ]);
    assert.deepStrictEqual(
      ranked.map((s) => s.path),
      ['copy1.ts'],
    );
  });

  it('the fingerprint changes with the snippets and is stable otherwise', () => {
    const a = [{ path: 'a.ts', text: 'x' }];
    assert.strictEqual(snippetsKey(a), snippetsKey([{ path: 'a.ts', text: 'x' }]));
    assert.notStrictEqual(snippetsKey(a), snippetsKey([{ path: 'a.ts', text: 'y' }]));
    assert.notStrictEqual(snippetsKey(a), snippetsKey([{ path: 'b.ts', text: 'x' }]));
    assert.notStrictEqual(snippetsKey(a), snippetsKey([]));
  });
});

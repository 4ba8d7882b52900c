// Row-by-row comparison of two logit matrices [rows x nVocab], as the oracle tests report it.

export interface RowComparison {
  /** Cosine similarity of each row pair. */
  cosines: number[];
  minCosine: number;
  /** Index of the worst row. */
  worstRow: number;
  /** Fraction of rows whose arg-max agrees. */
  top1Agreement: number;
  maxAbsDiff: number;
}

export function argmax(a: Float32Array, offset: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[offset + i] > a[offset + best]) best = i;
  return best;
}

export function compareRows(ours: Float32Array, theirs: Float32Array, rows: number, nVocab: number): RowComparison {
  if (ours.length !== rows * nVocab) throw new Error(`first matrix has ${ours.length} values, expected ${rows} x ${nVocab}`);
  if (theirs.length !== rows * nVocab) throw new Error(`second matrix has ${theirs.length} values, expected ${rows} x ${nVocab}`);
  const cosines: number[] = [];
  let agree = 0;
  let maxAbsDiff = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * nVocab;
    let dot = 0,
      aa = 0,
      bb = 0;
    for (let i = 0; i < nVocab; i++) {
      const a = ours[o + i],
        b = theirs[o + i];
      if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`row ${r}, entry ${i}: non-finite logit (${a} vs ${b})`);
      dot += a * b;
      aa += a * a;
      bb += b * b;
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a - b));
    }
    cosines.push(aa > 0 && bb > 0 ? dot / Math.sqrt(aa * bb) : 0);
    if (argmax(ours, o, nVocab) === argmax(theirs, o, nVocab)) agree++;
  }
  let worstRow = 0;
  cosines.forEach((c, i) => {
    if (c < cosines[worstRow]) worstRow = i;
  });
  return { cosines, minCosine: cosines[worstRow], worstRow, top1Agreement: agree / rows, maxAbsDiff };
}

export function describeComparison(c: RowComparison): string {
  return `min cosine ${c.minCosine.toFixed(7)} (row ${c.worstRow}), top-1 agreement ${(100 * c.top1Agreement).toFixed(1)}%, max |diff| ${c.maxAbsDiff.toExponential(2)}`;
}

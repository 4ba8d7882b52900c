// Which GGML types a quantizer target needs, and which of them the native addon cannot yet both
// write and compute with: the oracle tests skip such a format and print why.
import { loadNative } from '../../src/engine/native';
import { quantTarget } from '../../src/engine/quant-mix';

/** The GGML types a target needs beyond its base type (the head gets Q6_K in llama.cpp's mixes). */
export function typesNeeded(format: string): string[] {
  const base = quantTarget(format).baseType;
  if (['F32', 'F16', 'BF16'].includes(base)) return [base];
  const extra: Record<string, string[]> = { Q2_K: ['Q3_K', 'Q4_K'], Q3_K_M: ['Q4_K', 'Q5_K'], Q4_K_M: ['Q6_K'], Q5_K_M: ['Q6_K'] };
  return [base, 'Q6_K', ...(extra[format] ?? [])];
}

/** Names of the types the addon cannot both write and compute with yet. */
export function missingTypes(format: string): string[] {
  const native = loadNative();
  return typesNeeded(format).filter((t) => {
    try {
      const info = native.typeInfo(t);
      return !(info.supported && info.canQuantize);
    } catch {
      return true;
    }
  });
}

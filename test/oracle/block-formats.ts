// The legacy GGML block formats decoded (and, for Q8_0/Q4_0, encoded) in plain TypeScript, written
// from the format description alone, as an independent check on the native quants.
//
//   Q8_0 (34 bytes / 32 values): f16 d | int8 q[32]                       x = d * q
//   Q4_0 (18 bytes / 32 values): f16 d | u8 qs[16]                        x = d * (nibble - 8)
//   Q4_1 (20 bytes / 32 values): f16 d | f16 m | u8 qs[16]                x = d * nibble + m
//   Q5_0 (22 bytes / 32 values): f16 d | u32 qh | u8 qs[16]               x = d * (nibble | hbit<<4) - 16 d
//   Q5_1 (24 bytes / 32 values): f16 d | f16 m | u32 qh | u8 qs[16]       x = d * (nibble | hbit<<4) + m
// In qs, byte j holds value j in its low nibble and value j + 16 in its high nibble; bit j of qh is
// the fifth bit of value j.

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float32 -> IEEE half, round to nearest even (what F16C and GGML's scalar path do). */
export function f32ToF16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    // subnormal half (or zero)
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

export const BLOCK_BYTES: Record<string, number> = { Q8_0: 34, Q4_0: 18, Q4_1: 20, Q5_0: 22, Q5_1: 24 };

/** Decodes n values (n a multiple of 32) of a legacy block type. */
export function decodeBlocks(type: string, bytes: Uint8Array, n: number): Float32Array {
  const bb = BLOCK_BYTES[type];
  if (!bb) throw new Error(`no TypeScript decoder for ${type}`);
  if (n % 32 !== 0 || bytes.length < (n / 32) * bb) throw new Error(`${type}: ${bytes.length} bytes cannot hold ${n} values`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let b = 0; b < n / 32; b++) {
    const o = b * bb;
    const x = out.subarray(b * 32, b * 32 + 32);
    const d = f16ToF32(dv.getUint16(o, true));
    if (type === 'Q8_0') {
      for (let j = 0; j < 32; j++) x[j] = d * dv.getInt8(o + 2 + j);
      continue;
    }
    const hasMin = type === 'Q4_1' || type === 'Q5_1';
    const m = hasMin ? f16ToF32(dv.getUint16(o + 2, true)) : 0;
    const five = type === 'Q5_0' || type === 'Q5_1';
    const qh = five ? dv.getUint32(o + (hasMin ? 4 : 2), true) : 0;
    const qs = o + (hasMin ? 4 : 2) + (five ? 4 : 0);
    const offset = hasMin ? 0 : five ? 16 : 8; // the zero point of the symmetric types
    for (let j = 0; j < 16; j++) {
      const byte = bytes[qs + j];
      let lo = byte & 0x0f,
        hi = byte >> 4;
      if (five) {
        lo |= ((qh >>> j) & 1) << 4;
        hi |= ((qh >>> (j + 16)) & 1) << 4;
      }
      x[j] = d * (lo - offset) + m;
      x[j + 16] = d * (hi - offset) + m;
    }
  }
  return out;
}

const fr = Math.fround;

/** Q8_0 encoding with GGML's reference rounding: d = max|x| / 127, q = round(x / d). */
export function encodeQ8_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 34);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    dv.setUint16(b * 34, f32ToF16(d), true);
    for (let j = 0; j < 32; j++) {
      const v = fr(x[b * 32 + j] * id);
      // roundf: halves away from zero
      dv.setInt8(b * 34 + 2 + j, Math.sign(v) * Math.floor(Math.abs(v) + 0.5));
    }
  }
  return out;
}

/** Q4_0 encoding with GGML's reference rounding: d = (value of largest magnitude) / -8. */
export function encodeQ4_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 18);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0,
      max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[b * 32 + j];
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d ? fr(1 / d) : 0;
    dv.setUint16(b * 18, f32ToF16(d), true);
    const q = (v: number) => Math.min(15, Math.trunc(fr(fr(v * id) + 8.5)));
    for (let j = 0; j < 16; j++) {
      out[b * 18 + 2 + j] = q(x[b * 32 + j]) | (q(x[b * 32 + j + 16]) << 4);
    }
  }
  return out;
}

/** Spec-test values: encoding arguments for the loader, comparing results bit for bit. */
export interface Value {
  type: string;
  value?: string | string[];
}

/** 64-bit pattern of an argument, as the loader's 16 hex digits; null when not expressible. */
export function argBits(v: Value): string | null {
  if (v.type === 'i32' || v.type === 'i64' || v.type === 'f32' || v.type === 'f64') {
    if (typeof v.value !== 'string') return null;
    return BigInt(v.value).toString(16).padStart(16, '0');
  }
  const ref = refBits(v);
  return ref === null ? null : ref.toString(16).padStart(16, '0');
}

/**
 * A reference as the loader's word (docs/ARCHITECTURE.md, "References"): null is 0, the host's
 * `ref.extern N` is the handle N + 1. A non-null funcref cannot be made by the host (null).
 */
function refBits(v: Value): bigint | null {
  if (v.type !== 'externref' && v.type !== 'funcref') return null;
  if (v.value === 'null') return 0n;
  if (v.type === 'externref' && typeof v.value === 'string') return BigInt(v.value) + 1n;
  return null;
}

const F32_EXP = 0x7f800000n, F32_QUIET = 0x00400000n, F32_MANT = 0x007fffffn;
const F64_EXP = 0x7ff0000000000000n, F64_QUIET = 0x0008000000000000n, F64_MANT = 0x000fffffffffffffn;

/** Does the result `bits` satisfy the expected value (incl. nan:canonical / nan:arithmetic)? */
export function matches(expected: Value, bits: bigint): boolean {
  const v = expected.value;
  // `(ref.func)` / `(ref.extern)` without a value: any non-null reference
  if ((expected.type === 'funcref' || expected.type === 'externref') && v === undefined) return bits !== 0n;
  const ref = refBits(expected);
  if (ref !== null) return ref === bits;
  if (typeof v !== 'string') return false;
  if (expected.type === 'f32' || expected.type === 'f64') {
    const f32 = expected.type === 'f32';
    const exp = f32 ? F32_EXP : F64_EXP, quiet = f32 ? F32_QUIET : F64_QUIET, mant = f32 ? F32_MANT : F64_MANT;
    if (v === 'nan:canonical') return (bits & exp) === exp && (bits & mant) === quiet;
    if (v === 'nan:arithmetic') return (bits & exp) === exp && (bits & quiet) === quiet;
  }
  return BigInt(v) === bits;
}

export function supportedType(t: string): boolean {
  return t === 'i32' || t === 'i64' || t === 'f32' || t === 'f64' || t === 'externref' || t === 'funcref';
}

/** Export names travel as hex of their UTF-8 bytes ("-" for the empty name). */
export function nameHex(name: string): string {
  const hex = Buffer.from(name, 'utf8').toString('hex');
  return hex === '' ? '-' : hex;
}

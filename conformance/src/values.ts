/** Spec-test values: encoding arguments for the loader, comparing results bit for bit. */
export interface Value {
  type: string;
  value?: string | string[];
}

/** Bits of each lane type of a v128 value. */
const LANE_BITS: Record<string, number> = { i8: 8, i16: 16, i32: 32, i64: 64, f32: 32, f64: 64 };

/** A v128 value's lanes as one 128-bit number (lane 0 in the low bits); null for NaN patterns. */
function v128Bits(v: Value & { lane_type?: string }): bigint | null {
  const bits = LANE_BITS[v.lane_type ?? ''];
  if (!bits || !Array.isArray(v.value)) return null;
  let r = 0n;
  for (let k = 0; k < v.value.length; k++) {
    if (/^nan/.test(v.value[k])) return null;
    r |= BigInt.asUintN(bits, BigInt(v.value[k])) << BigInt(k * bits);
  }
  return r;
}

/** Bit pattern of an argument, as the loader's 16 hex digits (32 for a v128); null when not expressible. */
export function argBits(v: Value): string | null {
  if (v.type === 'v128') {
    const b = v128Bits(v);
    return b === null ? null : b.toString(16).padStart(32, '0');
  }
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
  if (expected.type === 'v128') return matchesV128(expected as Value & { lane_type?: string }, bits);
  if (typeof v !== 'string') return false;
  if (expected.type === 'f32' || expected.type === 'f64') {
    const f32 = expected.type === 'f32';
    const exp = f32 ? F32_EXP : F64_EXP, quiet = f32 ? F32_QUIET : F64_QUIET, mant = f32 ? F32_MANT : F64_MANT;
    if (v === 'nan:canonical') return (bits & exp) === exp && (bits & mant) === quiet;
    if (v === 'nan:arithmetic') return (bits & exp) === exp && (bits & quiet) === quiet;
  }
  return BigInt(v) === bits;
}

/** Each lane of a v128 result against its expected lane (NaN patterns per lane). */
function matchesV128(expected: Value & { lane_type?: string }, bits: bigint): boolean {
  const lt = expected.lane_type ?? '';
  const n = LANE_BITS[lt];
  if (!n || !Array.isArray(expected.value)) return false;
  const mask = (1n << BigInt(n)) - 1n;
  return expected.value.every((lane, k) => {
    const got = (bits >> BigInt(k * n)) & mask;
    if (lt === 'f32' || lt === 'f64') return matches({ type: lt, value: lane }, got);
    return BigInt.asUintN(n, BigInt(lane)) === got;
  });
}

export function supportedType(t: string): boolean {
  return t === 'i32' || t === 'i64' || t === 'f32' || t === 'f64' || t === 'v128' || t === 'externref' || t === 'funcref';
}

/** Export names travel as hex of their UTF-8 bytes ("-" for the empty name). */
export function nameHex(name: string): string {
  const hex = Buffer.from(name, 'utf8').toString('hex');
  return hex === '' ? '-' : hex;
}

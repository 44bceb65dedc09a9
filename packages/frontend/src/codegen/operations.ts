/**
 * The typed operations the code generator asks a backend to emit (docs/ARCHITECTURE.md, "Code
 * generator"). A backend never sees an opcode byte: it gets an operation kind, a width (4 or 8
 * bytes; signedness is part of the kind) and operands (backend.ts). Each enum follows its opcodes'
 * order, so the opcode table (opcodes.ts) derives a row's kind from its opcode.
 *
 * SIMD (the 0xfd prefix) will add vector kinds and a lane shape (i8x16 … f64x2) as a further
 * argument of vector operations; scalar operations keep their width.
 */

/** i32/i64 binary operations, in opcode order (0x6a… / 0x7c…). */
export const enum IntBinOp {
  Add = 0, Sub, Mul, DivS, DivU, RemS, RemU, And, Or, Xor, Shl, ShrS, ShrU, Rotl, Rotr,
}

/** i32/i64 unary operations (0x67… / 0x79…). */
export const enum IntUnOp { Clz = 0, Ctz, Popcnt }

/** f32/f64 unary operations (0x8b… / 0x99…). */
export const enum FloatUnOp { Abs = 0, Neg, Ceil, Floor, Trunc, Nearest, Sqrt }

/** f32/f64 binary operations (0x92… / 0xa0…). */
export const enum FloatBinOp { Add = 0, Sub, Mul, Div, Min, Max, Copysign }

/** Integer comparisons (0x46… / 0x51…). */
export const enum IntCmp { Eq = 0, Ne, LtS, LtU, GtS, GtU, LeS, LeU, GeS, GeU }

/** Float comparisons (0x5b… / 0x61…); every one but Ne is false on NaN. */
export const enum FloatCmp { Eq = 0, Ne, Lt, Gt, Le, Ge }

/**
 * Conversions (0xa7–0xc4 and the saturating truncations 0xfc 0–7). Source and result types come
 * with the kind (Backend.convert), so one kind covers e.g. all four trapping signed truncations.
 */
export const enum Conv {
  /** i32.wrap_i64. */
  Wrap = 0,
  /** i64.extend_i32_s. */
  ExtendS,
  /** i64.extend_i32_u. */
  ExtendU,
  /** Float to integer, trapping on NaN ("invalid conversion") and out of range ("integer overflow"). */
  TruncS,
  TruncU,
  /** The saturating forms (NaN gives 0). */
  TruncSatS,
  TruncSatU,
  /** Integer to float, rounding to nearest even. */
  ConvertS,
  ConvertU,
  /** f32.demote_f64 and f64.promote_f32. */
  Demote,
  Promote,
  /** The same bits in the other register class. */
  Reinterpret,
  /** i32.extend8_s … i64.extend32_s: sign-extend the low 8, 16 or 32 bits. */
  Extend8S,
  Extend16S,
  Extend32S,
}

/** The condition a flags value stands for is the backend's own number (Backend.invertCond). */
export type CondCode = number;

/** The two types of a conversion, for its row's `in` and `out` (opcodes.ts). */
export const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b, FUNCREF = 0x70, EXTERNREF = 0x6f;

/** True for types held in floating-point registers. */
export function isFloat(t: number): boolean {
  return t === F32 || t === F64;
}

/** Bytes of a scalar type's register form: 4 for i32/f32, 8 for i64/f64 and references. */
export function widthOf(t: number): number {
  return t === I32 || t === F32 ? 4 : 8;
}

/**
 * The exclusive bounds of the floats that truncate into range (i32/i64.trunc_f32/f64_s/u): the
 * largest float below the lowest valid value is −1 unsigned, −2^31 − 1 (f64) or −2^31 − 2^8 (f32)
 * for i32, −2^63 − 2^11 (f64) or −2^63 − 2^40 (f32) for i64; the upper bound is 2^bits
 * (unsigned) or 2^(bits − 1). Each is exact in both precisions.
 */
export function truncLowBound(signed: boolean, w64: boolean, srcF64: boolean): number {
  if (!signed) return -1;
  if (!w64) return srcF64 ? -2147483649 : -2147483904;
  return srcF64 ? -9223372036854777856 : -9223373136366403584;
}

export function truncHighBound(signed: boolean, w64: boolean): number {
  if (!signed) return w64 ? 18446744073709551616 : 4294967296;
  return w64 ? 9223372036854775808 : 2147483648;
}

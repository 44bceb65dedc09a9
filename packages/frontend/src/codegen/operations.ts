/**
 * The typed operations the code generator asks a backend to emit (docs/ARCHITECTURE.md, "Code
 * generator"). A backend never sees an opcode byte: it gets an operation kind, a width (4 or 8
 * bytes; signedness is part of the kind) and operands (backend.ts). Each enum follows its opcodes'
 * order, so the opcode table (opcodes.ts) derives a row's kind from its opcode.
 *
 * Vector operations (the 0xfd prefix) take a lane shape (`Shape`, i8x16 … f64x2) instead of a
 * width; scalar operations keep their width.
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

/** True for the scalar float types. */
export function isFloat(t: number): boolean {
  return t === F32 || t === F64;
}

/** True for types held in the float/vector register class (xmm, v registers): f32, f64, v128. */
export function inFpr(t: number): boolean {
  return t === F32 || t === F64 || t === V128;
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

// --- SIMD (0xfd) ---------------------------------------------------------------------------------

/**
 * The lane shape of a vector operation: how its 16 bytes split into lanes. For conversions,
 * extensions, narrowing, extended multiplies and dot products it is the result's shape (e.g.
 * i16x8.extmul_low_i8x16_s is `ExtMulLowS` with shape I16x8).
 */
export const enum Shape { I8x16 = 0, I16x8, I32x4, I64x2, F32x4, F64x2 }

/** log2 of a shape's lane size in bytes. */
export function laneLog2(shape: Shape): number {
  return shape >= Shape.F32x4 ? shape - 2 : shape;
}

/** Lanes of a shape. */
export function laneCount(shape: Shape): number {
  return 16 >> laneLog2(shape);
}

/** Float lanes (f32x4, f64x2). */
export function isFloatShape(shape: Shape): boolean {
  return shape >= Shape.F32x4;
}

/** Two-operand vector operations (v128 × v128 → v128). Comparisons give all-ones lanes for true. */
export const enum VecBinOp {
  /** Integer or float by the shape (Div, PMin, PMax: floats only). Min/Max of floats are wasm's (NaN, −0 < +0). */
  Add = 0, Sub, Mul, Div, Min, Max, PMin, PMax,
  AddSatS, AddSatU, SubSatS, SubSatU, MinS, MinU, MaxS, MaxU, AvgrU,
  /** i16x8.q15mulr_sat_s. */
  Q15MulrSatS,
  /** i32x4.dot_i16x8_s. */
  Dot,
  /** Widening multiplies of the low or high half (shape: the result's). */
  ExtMulLowS, ExtMulHighS, ExtMulLowU, ExtMulHighU,
  /** a's lanes then b's, each narrowed with saturation (shape: the result's, i8x16 or i16x8). */
  NarrowS, NarrowU,
  /** Integer comparisons; for float shapes LtS, GtS, LeS, GeS are the (ordered) float ones. */
  Eq, Ne, LtS, LtU, GtS, GtU, LeS, LeU, GeS, GeU,
  And, AndNot, Or, Xor,
  /** i8x16.swizzle: a's bytes selected by b's (an index ≥ 16 selects 0). */
  Swizzle,
}

/** One-operand vector operations (v128 → v128); shape: the result's. */
export const enum VecUnOp {
  Not = 0, Abs, Neg, Popcnt, Sqrt, Ceil, Floor, Trunc, Nearest,
  ExtendLowS, ExtendHighS, ExtendLowU, ExtendHighU, ExtAddPairwiseS, ExtAddPairwiseU,
  /** i32x4.trunc_sat_f32x4_s/u and i32x4.trunc_sat_f64x2_s/u_zero. */
  TruncSatS, TruncSatU, TruncSatZeroS, TruncSatZeroU,
  /** f32x4.convert_i32x4_s/u and f64x2.convert_low_i32x4_s/u. */
  ConvertS, ConvertU, ConvertLowS, ConvertLowU,
  /** f32x4.demote_f64x2_zero, f64x2.promote_low_f32x4. */
  Demote, Promote,
}

/** Shifts by an i32 count taken modulo the lane width. */
export const enum VecShiftOp { Shl = 0, ShrS, ShrU }

/** Vector → i32: v128.any_true, all_true (every lane non-zero), bitmask (the lanes' sign bits). */
export const enum VecTestOp { AnyTrue = 0, AllTrue, Bitmask }

/**
 * Vector loads (the rows' kind): the whole 16 bytes, 8 bytes extended to twice the width
 * (shape: the result's), one lane splat to all (shape: the lane's), one lane with zeros above.
 */
export const enum VecLoad { Full = 0, ExtendS, ExtendU, Splat, Zero }

import { IntBinOp, IntCmp, Conv } from './operations';

/**
 * Constant folding: what the code generator computes itself when operands are constants
 * (docs/ARCHITECTURE.md, "Code generator"). Pure functions of the constants.
 */

/** i32 a op b, or null when the CPU should do it (division traps; rotations are rare). */
export function foldI32(kind: IntBinOp, a: number, b: number): number | null {
  switch (kind) {
    case IntBinOp.Add: return (a + b) | 0;
    case IntBinOp.Sub: return (a - b) | 0;
    case IntBinOp.Mul: return Math.imul(a, b);
    case IntBinOp.And: return a & b;
    case IntBinOp.Or: return a | b;
    case IntBinOp.Xor: return a ^ b;
    case IntBinOp.Shl: return a << (b & 31);
    case IntBinOp.ShrS: return a >> (b & 31);
    case IntBinOp.ShrU: return (a >>> (b & 31)) | 0;
    default: return null;
  }
}

/** Operations whose operands may swap (a constant first operand goes second). */
export function commutative(kind: IntBinOp): boolean {
  return kind === IntBinOp.Add || kind === IntBinOp.Mul || kind === IntBinOp.And || kind === IntBinOp.Or || kind === IntBinOp.Xor;
}

/** The comparison that holds for (b, a) when `kind` holds for (a, b). */
export function swappedCmp(kind: IntCmp): IntCmp {
  switch (kind) {
    case IntCmp.LtS: return IntCmp.GtS;
    case IntCmp.GtS: return IntCmp.LtS;
    case IntCmp.LeS: return IntCmp.GeS;
    case IntCmp.GeS: return IntCmp.LeS;
    case IntCmp.LtU: return IntCmp.GtU;
    case IntCmp.GtU: return IntCmp.LtU;
    case IntCmp.LeU: return IntCmp.GeU;
    case IntCmp.GeU: return IntCmp.LeU;
    default: return kind; // Eq, Ne
  }
}

/** The low half of a sign extension (i64.extend_i32_s, the extendN_s ops) of constant `v`. */
export function foldSignExtend(kind: Conv, v: number): number {
  switch (kind) {
    case Conv.Extend8S: return (v << 24) >> 24;
    case Conv.Extend16S: return (v << 16) >> 16;
    default: return v; // Extend32S, ExtendS: the low 32 bits as they are
  }
}

import { Loc } from './valuestack';
import { H, opHandler, opIn, opKind, opOut } from './opcodes';
import { I32, I64, F32, F64, Conv, type IntCmp, type IntBinOp, widthOf } from './operations';
import { foldI32, commutative, swappedCmp, foldSignExtend } from './fold';
import type { CodeGenContext } from './context';
import type { FunctionCompiler } from './function';

/**
 * Numeric instructions: constants, arithmetic, comparisons, conversions. The code generator folds
 * what it can (fold.ts) and keeps a comparison's result in the flags for a branch or select to
 * consume; everything else is one typed operation of the backend, with its operands placed in the
 * forms the backend accepts (CodeGenContext.operands).
 */

export function constant(fc: FunctionCompiler, row: number): void {
  const rd = fc.rd;
  switch (opOut[row]) {
    case I32: fc.pushConst(I32, rd.s32(), 0); break;
    case I64: rd.s64(); fc.pushConst(I64, rd.lo, rd.hi); break;
    case F32: fc.pushConst(F32, rd.f32bits(), 0); break;
    case F64: rd.f64bits(); fc.pushConst(F64, rd.lo, rd.hi); break;
  }
}

export function eqz(fc: FunctionCompiler, row: number): void {
  fc.pop(opIn[row]);
  const i = fc.stack.height;
  if (!fc.dead) emitEqz(fc, row, i);
  fc.pushed(i, I32);
}

/** Pops the `arity` operands of row `row` (validation); returns the first one's index. */
function operandsOf(fc: FunctionCompiler, row: number, arity: number): number {
  fc.pop(opIn[row]);
  if (arity > 1) fc.pop(opIn[row]);
  return fc.stack.height;
}

export function intCompare(fc: FunctionCompiler, row: number): void {
  const i = operandsOf(fc, row, 2);
  if (!fc.dead) emitIntCompare(fc, row, i);
  fc.pushed(i, I32);
}

export function floatCompare(fc: FunctionCompiler, row: number): void {
  const i = operandsOf(fc, row, 2);
  if (!fc.dead) emitFloatCompare(fc, row, i);
  fc.pushed(i, I32);
}

export function unary(fc: FunctionCompiler, row: number): void {
  const i = operandsOf(fc, row, 1);
  if (!fc.dead) emitUnary(fc, row, i);
  fc.pushed(i, opOut[row]);
}

export function intBinary(fc: FunctionCompiler, row: number): void {
  const i = operandsOf(fc, row, 2);
  if (!fc.dead) emitIntBinary(fc, row, i);
  fc.pushed(i, opOut[row]);
}

export function floatBinary(fc: FunctionCompiler, row: number): void {
  const i = operandsOf(fc, row, 2);
  if (!fc.dead) emitFloatBinary(fc, row, i);
  fc.pushed(i, opOut[row]);
}

export function convert(fc: FunctionCompiler, row: number): void {
  const i = operandsOf(fc, row, 1);
  if (!fc.dead) emitConvert(fc, row, i);
  fc.pushed(i, opOut[row]);
}

/**
 * The code of numeric row `row` whose operands are value `i` and, for two, `i + 1` (popped):
 * folded, or one backend operation; value `i` becomes its result (its type is the caller's to
 * set). The handlers above call the emitter of their row; this is all of them, for tests.
 */
export function emitNumeric(fc: CodeGenContext, row: number, i: number): void {
  switch (opHandler[row]) {
    case H.Eqz: return emitEqz(fc, row, i);
    case H.IntCompare: return emitIntCompare(fc, row, i);
    case H.FloatCompare: return emitFloatCompare(fc, row, i);
    case H.IntUnary: case H.FloatUnary: return emitUnary(fc, row, i);
    case H.IntBinary: return emitIntBinary(fc, row, i);
    case H.FloatBinary: return emitFloatBinary(fc, row, i);
    case H.Convert: return emitConvert(fc, row, i);
  }
}

/** A constant first operand goes second, the comparison swapped. */
function emitIntCompare(fc: CodeGenContext, row: number, i: number): void {
  const s = fc.stack;
  let kind: IntCmp = opKind[row];
  if (s.loc[i] === Loc.Const && s.loc[i + 1] === Loc.Reg) {
    s.swap(i, i + 1);
    kind = swappedCmp(kind);
  }
  const dst = fc.operands(row, i, 2);
  fc.result(row, i, 2, dst, fc.be.intCompare(kind, widthOf(opIn[row]), dst, fc.opA, fc.opB));
}

function emitFloatCompare(fc: CodeGenContext, row: number, i: number): void {
  const dst = fc.operands(row, i, 2);
  fc.result(row, i, 2, dst, fc.be.floatCompare(opKind[row], widthOf(opIn[row]), dst, fc.opA, fc.opB));
}

function emitUnary(fc: CodeGenContext, row: number, i: number): void {
  const dst = fc.operands(row, i, 1);
  if (opHandler[row] === H.IntUnary) fc.be.intUnary(opKind[row], widthOf(opIn[row]), dst);
  else fc.be.floatUnary(opKind[row], widthOf(opIn[row]), dst);
  fc.result(row, i, 1, dst, 0);
}

/** i32 operations of two constants are folded; a constant first operand of a commutative one goes second. */
function emitIntBinary(fc: CodeGenContext, row: number, i: number): void {
  const s = fc.stack;
  const kind: IntBinOp = opKind[row];
  if (opIn[row] === I32 && s.loc[i] === Loc.Const && s.loc[i + 1] === Loc.Const) {
    const v = foldI32(kind, s.lo[i], s.lo[i + 1]);
    if (v !== null) {
      s.setConst(i, v, 0);
      return;
    }
  }
  if (commutative(kind) && s.loc[i] === Loc.Const && s.loc[i + 1] === Loc.Reg) s.swap(i, i + 1);
  const dst = fc.operands(row, i, 2);
  fc.be.intBinary(kind, widthOf(opIn[row]), dst, fc.opA, fc.opB);
  fc.result(row, i, 2, dst, 0);
}

function emitFloatBinary(fc: CodeGenContext, row: number, i: number): void {
  const dst = fc.operands(row, i, 2);
  fc.be.floatBinary(opKind[row], widthOf(opIn[row]), dst, fc.opA, fc.opB);
  fc.result(row, i, 2, dst, 0);
}

function emitConvert(fc: CodeGenContext, row: number, i: number): void {
  if (foldConvert(fc, opKind[row], i)) return;
  const dst = fc.operands(row, i, 1);
  fc.be.convert(opKind[row], opIn[row], opOut[row], dst, fc.opA);
  fc.result(row, i, 1, dst, 0);
}

/** i32.eqz / i64.eqz (row) of value `i`: a comparison inverted, a constant folded, else a test. */
export function emitEqz(fc: CodeGenContext, row: number, i: number): void {
  const s = fc.stack;
  switch (s.loc[i]) {
    case Loc.Flags:
      s.reg[i] = fc.be.invertCond(s.reg[i]);
      return;
    case Loc.Const:
      s.setConst(i, s.lo[i] === 0 && (opIn[row] === I32 || s.hi[i] === 0) ? 1 : 0, 0);
      return;
  }
  const dst = fc.operands(row, i, 1);
  fc.result(row, i, 1, dst, fc.be.testZero(widthOf(opIn[row]), fc.opA));
}

/**
 * Conversions that need no instruction: of a constant (wrap, the zero and sign extensions, a
 * reinterpretation: the same bits), i64.extend_i32_u of a register (an i32 register is
 * zero-extended already), a reinterpretation of a value in its slot (which holds the same bits
 * under either type). True when value `i` is the result.
 */
function foldConvert(fc: CodeGenContext, kind: Conv, i: number): boolean {
  const s = fc.stack;
  const isConst = s.loc[i] === Loc.Const;
  switch (kind) {
    case Conv.Wrap:
    case Conv.ExtendU:
      if (isConst) s.setConst(i, s.lo[i], 0);
      else if (kind === Conv.ExtendU) fc.regOf(i);
      return isConst || kind === Conv.ExtendU;
    case Conv.ExtendS:
    case Conv.Extend32S:
      if (isConst) s.setConst(i, s.lo[i], s.lo[i] >> 31);
      return isConst;
    case Conv.Extend8S:
    case Conv.Extend16S:
      if (isConst) {
        const v = foldSignExtend(kind, s.lo[i]);
        // i32.extend8_s/16_s keep hi 0 (an i32 constant's), the i64 forms sign-extend it
        s.setConst(i, v, s.type[i] === I32 ? 0 : v >> 31);
      }
      return isConst;
    case Conv.Reinterpret:
      return isConst || s.loc[i] === Loc.Mem;
  }
  return false;
}


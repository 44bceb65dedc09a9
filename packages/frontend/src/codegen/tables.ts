import { TableOp } from '../runtime/vmctx';
import { UNKNOWN } from './valuestack';
import { I32, I64, FUNCREF } from './operations';
import { emitEqz } from './numeric';
import { isRef, type FunctionCompiler } from './function';

/**
 * Table instructions and references (docs/ARCHITECTURE.md, "Tables", "References"). A reference is
 * one 64-bit word, null is 0. Every table operation but call_indirect's read is one call of the
 * loader's table routine, the same C code on every ISA; it never suspends, so it is no site.
 */

/** The element type of table `index` of the module. */
export function tableElemType(fc: FunctionCompiler, index: number): number {
  return fc.env.tableElemType(index);
}

function tableIndex(fc: FunctionCompiler): number {
  const x = fc.rd.u32();
  if (x >= fc.env.tableCount) fc.fail(`unknown table ${x}`);
  return x;
}

function elemIndex(fc: FunctionCompiler): number {
  const x = fc.rd.u32();
  if (x >= fc.env.module.elements.length) fc.fail(`unknown elem segment ${x}`);
  return x;
}

/**
 * A table operation done by the loader's table routine: its `nOperands` operands (already popped,
 * at the stack height) go to their slots with everything below them, and the result, if any
 * (`resultType` ≠ 0), is pushed; the register locals are reloaded after it.
 */
function tableCall(fc: FunctionCompiler, op: TableOp, a: number, b: number, nOperands: number, resultType: number): void {
  const s = fc.stack;
  const i = s.height;
  if (!fc.dead) {
    fc.spillOperands(i, nOperands);
    const dst = resultType !== 0 ? fc.allocReg(resultType) : -1;
    fc.be.tableCall(op, a, b, fc.frame.homeOffset(i), dst);
    if (dst >= 0) s.setReg(i, dst);
    fc.reloadLocals(-1);
  }
  if (resultType !== 0) fc.pushed(i, resultType);
}

export function tableGet(fc: FunctionCompiler): void {
  const x = tableIndex(fc);
  fc.pop(I32);
  tableCall(fc, TableOp.Get, fc.env.linkedTable(x), 0, 1, tableElemType(fc, x));
}

export function tableSet(fc: FunctionCompiler): void {
  const x = tableIndex(fc);
  fc.pop(tableElemType(fc, x));
  fc.pop(I32);
  tableCall(fc, TableOp.Set, fc.env.linkedTable(x), 0, 2, 0);
}

/** table.init seg table: (dst, src, n). */
export function tableInit(fc: FunctionCompiler): void {
  const seg = elemIndex(fc);
  const x = tableIndex(fc);
  if (fc.env.module.elements[seg].elemType !== tableElemType(fc, x)) fc.fail('type mismatch');
  fc.pop(I32); fc.pop(I32); fc.pop(I32);
  tableCall(fc, TableOp.Init, fc.env.linkedTable(x), fc.env.linkedElem(seg), 3, 0);
}

export function elemDrop(fc: FunctionCompiler): void {
  const seg = elemIndex(fc);
  tableCall(fc, TableOp.ElemDrop, 0, fc.env.linkedElem(seg), 0, 0);
}

/** table.copy dst src: (dst, src, n). */
export function tableCopy(fc: FunctionCompiler): void {
  const dst = tableIndex(fc);
  const src = tableIndex(fc);
  if (tableElemType(fc, dst) !== tableElemType(fc, src)) fc.fail('type mismatch');
  fc.pop(I32); fc.pop(I32); fc.pop(I32);
  tableCall(fc, TableOp.Copy, fc.env.linkedTable(dst), fc.env.linkedTable(src), 3, 0);
}

/** table.grow: (init, n) → old size. */
export function tableGrow(fc: FunctionCompiler): void {
  const x = tableIndex(fc);
  fc.pop(I32);
  fc.pop(tableElemType(fc, x));
  tableCall(fc, TableOp.Grow, fc.env.linkedTable(x), 0, 2, I32);
}

export function tableSize(fc: FunctionCompiler): void {
  const x = tableIndex(fc);
  tableCall(fc, TableOp.Size, fc.env.linkedTable(x), 0, 0, I32);
}

/** table.fill: (index, ref, n). */
export function tableFill(fc: FunctionCompiler): void {
  const x = tableIndex(fc);
  fc.pop(I32);
  fc.pop(tableElemType(fc, x));
  fc.pop(I32);
  tableCall(fc, TableOp.Fill, fc.env.linkedTable(x), 0, 3, 0);
}

export function refNull(fc: FunctionCompiler): void {
  const rd = fc.rd;
  const at = rd.pos;
  const t = rd.u8();
  if (!isRef(t)) {
    fc.opOffset = at;
    fc.fail('malformed reference type');
  }
  fc.pushConst(t, 0, 0); // null is the word 0
}

/** ref.is_null is i64.eqz of the reference's word. */
export function refIsNull(fc: FunctionCompiler): void {
  const t = fc.pop(0);
  if (t !== UNKNOWN && !isRef(t)) fc.fail('type mismatch');
  const i = fc.stack.height;
  if (!fc.dead) {
    fc.stack.type[i] = I64;
    emitEqz(fc, 0x50, i);
  }
  fc.pushed(i, I32);
}

export function refFunc(fc: FunctionCompiler): void {
  const f = fc.rd.u32();
  const m = fc.env.module;
  if (f >= m.importedFuncs + m.functions.length) fc.fail(`unknown function ${f}`);
  if (!fc.env.funcDeclared(f)) fc.fail('undeclared function reference');
  // the table entry's word: type id + 1, linked function index (never 0, never ~0)
  fc.pushConst(FUNCREF, fc.env.funcTypeId(f) + 1, fc.env.linkedFunc(f));
}

import { opAlign, opBytes, opIn, opOut, opSigned } from './opcodes';
import { I32 } from './operations';
import { globalOffset } from './variables';
import type { FunctionCompiler } from './function';
import { PROPOSAL } from '../features';

/**
 * Loads, stores and the memory instructions. Linear memory needs no bounds checks
 * (ARCHITECTURE §4): an access is one instruction at memory base +
 * zext(address) + offset. memory.grow, copy, fill and init call code that may clobber any register,
 * so every value goes to its slot first, and the register locals are reloaded after.
 */

export function memarg(fc: FunctionCompiler, row: number): number {
  const rd = fc.rd;
  const align = rd.u32();
  // bit 6: a memory index follows (multi-memory); with one memory it could only be 0, but it
  // is that proposal's encoding
  if (align & 0x40) fc.unsupported(PROPOSAL.multiMemory, 'a memory index in a memory access');
  const offset = rd.u32();
  if (fc.env.memoryCount === 0) fc.fail('unknown memory 0');
  if (align > opAlign[row]) fc.fail('alignment must not be larger than natural');
  return offset;
}

function memoryIndex(fc: FunctionCompiler): void {
  if (fc.rd.u8() !== 0) fc.fail('zero byte expected');
  if (fc.env.memoryCount === 0) fc.fail('unknown memory 0');
}

export function load(fc: FunctionCompiler, row: number): void {
  const offset = memarg(fc, row);
  fc.pop(I32);
  const i = fc.stack.height;
  if (!fc.dead) {
    const dst = fc.operands(row, i, 1);
    fc.ool.mark(fc.out.buf.pos, fc.opOffset);
    fc.be.memLoad(opOut[row], opBytes[row], opSigned[row] !== 0, dst, fc.opA, offset);
    fc.result(row, i, 1, dst, 0);
  }
  fc.pushed(i, opOut[row]);
}

/** The value is placed first: forming the address may take a scratch register. */
export function store(fc: FunctionCompiler, row: number): void {
  const offset = memarg(fc, row);
  fc.pop(opIn[row]);
  fc.pop(I32);
  if (fc.dead) return;
  const i = fc.stack.height;
  const f = fc.forms[row];
  fc.place(i + 1, (f >> 4) & 0xf, fc.opB);
  fc.place(i, f & 0xf, fc.opA);
  fc.ool.mark(fc.out.buf.pos, fc.opOffset);
  fc.be.memStore(opIn[row], opBytes[row], fc.opA, offset, fc.opB);
  fc.release(i);
  fc.release(i + 1);
}

export function memorySize(fc: FunctionCompiler): void {
  memoryIndex(fc);
  const i = fc.push(I32);
  if (fc.dead) return;
  const r = fc.allocReg(I32);
  fc.be.memorySize(r, fc.env.memoryDesc);
  fc.stack.setReg(i, r);
}

export function memoryGrow(fc: FunctionCompiler): void {
  memoryIndex(fc);
  fc.pop(I32);
  const i = fc.stack.height;
  if (!fc.dead) {
    fc.spillOperands(i, 1);
    const r = fc.allocReg(I32);
    fc.be.memoryGrow(r, fc.frame.homeOffset(i), fc.env.memoryDesc);
    fc.stack.setReg(i, r);
    fc.reloadLocals(-1);
  }
  fc.pushed(i, I32);
}

/** A data segment index: only with a data count section, which bounds it (spec 2.0 §3.4.7). */
function dataIndex(fc: FunctionCompiler): number {
  const x = fc.rd.u32();
  const count = fc.env.module.dataCount;
  if (count === null) fc.fail('data count section required');
  if (x >= count) fc.fail(`unknown data segment ${x}`);
  return x;
}

/** The three i32 operands of memory.copy/fill/init, popped and in their slots; returns the first. */
function threeOperands(fc: FunctionCompiler): number {
  fc.pop(I32);
  fc.pop(I32);
  fc.pop(I32);
  const i = fc.stack.height;
  if (!fc.dead) fc.spillOperands(i, 3);
  return i;
}

export function memoryInit(fc: FunctionCompiler): void {
  const seg = dataIndex(fc);
  memoryIndex(fc);
  const i = threeOperands(fc);
  if (fc.dead) return;
  const h = fc.frame;
  fc.be.memoryInit(h.homeOffset(i), h.homeOffset(i + 1), h.homeOffset(i + 2), fc.env.memoryDesc, globalOffset(fc.env.dataSlot(seg)));
  fc.reloadLocals(-1);
}

export function dataDrop(fc: FunctionCompiler): void {
  const seg = dataIndex(fc);
  if (!fc.dead) fc.be.dataDrop(globalOffset(fc.env.dataSlot(seg)));
}

export function memoryCopy(fc: FunctionCompiler): void {
  if (fc.rd.u8() !== 0) fc.fail('zero byte expected');
  memoryIndex(fc);
  const i = threeOperands(fc);
  if (fc.dead) return;
  const h = fc.frame;
  fc.be.memoryCopy(h.homeOffset(i), h.homeOffset(i + 1), h.homeOffset(i + 2), fc.env.memoryDesc);
  fc.reloadLocals(-1);
}

export function memoryFill(fc: FunctionCompiler): void {
  memoryIndex(fc);
  const i = threeOperands(fc);
  if (fc.dead) return;
  const h = fc.frame;
  fc.be.memoryFill(h.homeOffset(i), h.homeOffset(i + 1), h.homeOffset(i + 2), fc.env.memoryDesc);
  fc.reloadLocals(-1);
}

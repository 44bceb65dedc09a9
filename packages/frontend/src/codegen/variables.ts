import { VMCTX } from '../runtime/vmctx';
import { Base } from './backend';
import type { FunctionCompiler } from './function';

/**
 * local.get/set/tee and global.get/set. Locals live in their canonical slots (docs/ARCHITECTURE.md,
 * "Frames"): a get loads the slot into a register, a set stores the value there. Globals are 8-byte
 * words of the vmctx (a v128 takes two, bytes 0–7 first).
 */

/** vmctx offset of global slot `slot`. */
export function globalOffset(slot: number): number {
  return VMCTX.globals + 8 * slot;
}

export function localGet(fc: FunctionCompiler): void {
  const x = fc.localIndex();
  const t = fc.localTypes[x];
  const i = fc.push(t);
  if (fc.dead) return;
  const r = fc.allocReg(t);
  fc.be.loadSlot(t, r, Base.Frame, fc.frame.localOffset(x));
  fc.stack.setReg(i, r);
}

/** local.set and local.tee (0x22): the value stays for tee. */
export function localSet(fc: FunctionCompiler, row: number): void {
  const dead = fc.dead;
  const x = fc.localIndex();
  const t = fc.localTypes[x];
  fc.pop(t);
  const i = fc.stack.height;
  if (!dead) fc.storeValue(i, Base.Frame, fc.frame.localOffset(x));
  if (row === 0x22) fc.pushed(i, t);
  else if (!dead) fc.release(i);
}

function globalIndex(fc: FunctionCompiler): number {
  const g = fc.rd.u32();
  const m = fc.env.module;
  if (g >= m.importedGlobals + m.globals.length) fc.fail('unknown global');
  return g;
}

export function globalGet(fc: FunctionCompiler): void {
  const g = globalIndex(fc);
  const gt = fc.env.globalType(g);
  const i = fc.push(gt.type);
  if (fc.dead) return;
  const r = fc.allocReg(gt.type);
  fc.be.loadSlot(gt.type, r, Base.Vmctx, globalOffset(fc.env.globalSlot(g)));
  fc.stack.setReg(i, r);
}

export function globalSet(fc: FunctionCompiler): void {
  const g = globalIndex(fc);
  const gt = fc.env.globalType(g);
  if (!gt.mutable) fc.fail('global is immutable');
  fc.pop(gt.type);
  if (fc.dead) return;
  const i = fc.stack.height;
  fc.storeValue(i, Base.Vmctx, globalOffset(fc.env.globalSlot(g)));
  fc.release(i);
}

import { VMCTX } from '../runtime/vmctx';
import { Base } from './backend';
import { Loc } from './valuestack';
import { V128 } from './operations';
import type { FunctionCompiler } from './function';

/**
 * local.get/set/tee and global.get/set. A local lives in its canonical slot (docs/ARCHITECTURE.md,
 * "Frames"), where a get loads it from and a set stores it, or in a register for the whole function
 * (localregs.ts), whose value a get shares and a set replaces; a v128 local always in its two
 * slots. Globals are 8-byte words of the vmctx (a v128 takes two, bytes 0–7 first).
 */

/** vmctx offset of global slot `slot`. */
export function globalOffset(slot: number): number {
  return VMCTX.globals + 8 * slot;
}

/**
 * The value is the local itself (Loc.Local in its register, Loc.LocalSlot in its slot) until
 * someone writes either: no instruction yet. A v128 is loaded at once (no lazy v128 entries: the
 * slot-to-slot copies and memory operands of Loc.LocalSlot are 8-byte ones).
 */
export function localGet(fc: FunctionCompiler): void {
  const x = fc.localIndex();
  const t = fc.localTypes[x];
  const i = fc.push(t);
  if (fc.dead) return;
  if (t === V128) {
    const r = fc.allocReg(t);
    fc.be.loadSlot(t, r, Base.Frame, fc.frame.localOffset(x));
    fc.stack.setReg(i, r);
  } else fc.setLocalEntry(i, x);
}

/**
 * local.set and local.tee (0x22): the value stays for tee. A register local's register gets the
 * value (entries still reading the old one get their own copy first); unless the value is already
 * there (the local's own value, or a result written straight into it: CodeGenContext.resultHint).
 */
export function localSet(fc: FunctionCompiler, row: number): void {
  const dead = fc.dead;
  const x = fc.localIndex();
  const t = fc.localTypes[x];
  fc.pop(t);
  const i = fc.stack.height;
  const s = fc.stack;
  const r = fc.localReg[x];
  if (!dead) {
    if (r < 0) {
      if (!(s.loc[i] === Loc.LocalSlot && s.lo[i] === x)) {
        fc.detachLocalRefs(x, i);
        fc.storeValue(i, Base.Frame, fc.frame.localOffset(x));
      }
    } else if (!(s.loc[i] === Loc.Local && s.reg[i] === r)) {
      fc.detachLocalRefs(x, i);
      fc.copyToReg(i, r);
      fc.release(i);
      fc.setLocalEntry(i, x);
      fc.localWritten(x);
    }
  }
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

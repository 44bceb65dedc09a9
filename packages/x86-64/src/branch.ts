import { Loc, isFloat, type FunctionCompiler } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, Cond, NO_INDEX } from './encode';
import { FP, SCRATCH, SCRATCH2, SCRATCH3, invert } from './regs';
import { copyToReg } from './move';

export function jump(fc: FunctionCompiler, target: number): number {
  const b = fc.out.buf;
  const at = x.jmpRel32(b);
  if (target >= 0) x.patchRel32(b, at, target);
  return at;
}

export function patchJump(fc: FunctionCompiler, at: number, target: number): void {
  x.patchRel32(fc.out.buf, at, target);
}

export function branchIf(fc: FunctionCompiler, i: number, ifZero: boolean, target: number): number {
  const b = fc.out.buf;
  const s = fc.stack;
  let cc: number;
  switch (s.loc[i]) {
    case Loc.Const: {
      const taken = (s.lo[i] !== 0) !== ifZero;
      if (!taken) return -1;
      fc.lastFixup = jump(fc, target);
      return -2;
    }
    case Loc.Flags:
      cc = ifZero ? invert(s.reg[i]) : s.reg[i];
      break;
    case Loc.Reg:
      x.testRR(b, 4, s.reg[i], s.reg[i]);
      fc.release(i);
      cc = ifZero ? Cond.E : Cond.NE;
      break;
    default:
      x.aluMI(b, x.Alu.CMP, 4, FP, NO_INDEX, 1, fc.homeOffset(i), 0);
      cc = ifZero ? Cond.E : Cond.NE;
  }
  const at = x.jccRel32(b, cc);
  if (target >= 0) x.patchRel32(b, at, target);
  return at;
}

/**
 * Dispatch through a table of rel32 entries, each relative to its own end (so they are patched
 * like jumps): index ≥ count goes to out[count].
 */
export function branchTable(fc: FunctionCompiler, i: number, count: number, out: Int32Array): void {
  const b = fc.out.buf;
  copyToReg(fc, i, SCRATCH2);
  fc.release(i);
  x.aluRI(b, x.Alu.CMP, 4, SCRATCH2, count);
  out[count] = x.jccRel32(b, Cond.AE);
  if (count === 0) return;
  const tableAt = x.leaRip(b, SCRATCH);
  const leaEnd = b.pos;
  x.lea(b, 8, SCRATCH3, SCRATCH, SCRATCH2, 4, 0);
  x.loadExt(b, x.ExtKind.S32_64, SCRATCH2, SCRATCH3, NO_INDEX, 1, 0);
  x.lea(b, 8, SCRATCH, SCRATCH3, SCRATCH2, 1, 4);
  x.jmpR(b, SCRATCH);
  b.patch32(tableAt, b.pos - leaEnd);
  for (let k = 0; k < count; k++) {
    out[k] = b.pos;
    b.emit32(0);
  }
}

/** a = i, b = i+1, cond = i+2 → i. */
export function select(fc: FunctionCompiler, i: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const c = i + 2;
  if (s.loc[c] === Loc.Const) {
    const keep = s.lo[c] !== 0 ? i : i + 1;
    const drop = keep === i ? i + 1 : i;
    fc.release(drop);
    if (keep !== i) {
      s.type[i] = s.type[keep];
      s.loc[i] = s.loc[keep];
      s.reg[i] = s.reg[keep];
      s.lo[i] = s.lo[keep];
      s.hi[i] = s.hi[keep];
      if (s.loc[i] === Loc.Mem) {
        // value still sits in position i+1's slot: bring it into a register
        const r = fc.allocReg(s.type[i]);
        copyToRegFromPos(fc, i + 1, r);
        s.setReg(i, r);
      }
    }
    return;
  }
  const float = isFloat(s.type[i]);
  // operands into registers first: loads leave the flags alone
  const ra = fc.regOf(i);
  const rb = fc.regOf(i + 1);
  let cc: number;
  if (s.loc[c] === Loc.Flags) cc = s.reg[c];
  else {
    if (s.loc[c] === Loc.Reg) {
      x.testRR(b, 4, s.reg[c], s.reg[c]);
      fc.release(c);
    } else x.aluMI(b, x.Alu.CMP, 4, FP, NO_INDEX, 1, fc.homeOffset(c), 0);
    cc = Cond.NE;
  }
  if (float) {
    const at = x.jccRel8(b, cc);
    x.fmovRR(b, ra, rb);
    x.patchRel8(b, at, b.pos);
  } else {
    x.cmovcc(b, invert(cc), 8, ra, rb);
  }
  fc.release(i + 1);
}

function copyToRegFromPos(fc: FunctionCompiler, pos: number, r: number): void {
  const s = fc.stack;
  const t = s.type[pos];
  const b = fc.out.buf;
  if (isFloat(t)) x.fload(b, t === 0x7d ? 4 : 8, r, FP, NO_INDEX, 1, fc.homeOffset(pos));
  else x.load(b, t === 0x7f ? 4 : 8, r, FP, NO_INDEX, 1, fc.homeOffset(pos));
}

export { Reg };

import { Base, Form } from './backend';
import { Loc, UNKNOWN } from './valuestack';
import { I32 } from './operations';
import { isRef, isValueType, type FunctionCompiler } from './function';
import { typeFeature } from '../features';

/** drop and select. */

export function drop(fc: FunctionCompiler): void {
  fc.pop(0);
  if (!fc.dead) fc.release(fc.stack.height);
}

/** select without a type: numeric operands only. */
export function select(fc: FunctionCompiler): void {
  fc.pop(I32);
  const t2 = fc.pop(0);
  const t1 = fc.pop(0);
  if (t1 !== t2 && t1 !== UNKNOWN && t2 !== UNKNOWN) fc.fail('type mismatch');
  const t = t1 === UNKNOWN ? t2 : t1;
  if (isRef(t)) fc.fail('type mismatch');
  const i = fc.stack.height;
  if (!fc.dead) emitSelect(fc, i);
  fc.pushed(i, t);
}

/** select t: one result type, references allowed. */
export function selectTyped(fc: FunctionCompiler): void {
  const n = fc.rd.u32();
  if (n !== 1) fc.fail('invalid result arity');
  const t = fc.rd.u8();
  if (!isValueType(t)) {
    const f = typeFeature(t);
    if (f) fc.unsupported(f[1], `select of ${f[0]}`);
    fc.fail('malformed value type');
  }
  fc.pop(I32);
  fc.pop(t);
  fc.pop(t);
  const i = fc.stack.height;
  if (!fc.dead) emitSelect(fc, i);
  fc.pushed(i, t);
}

/** a = i, b = i + 1, condition = i + 2 → i. A constant condition picks an operand at compile time. */
function emitSelect(fc: FunctionCompiler, i: number): void {
  const s = fc.stack;
  const c = i + 2;
  if (s.loc[c] === Loc.Const) {
    const keep = s.lo[c] !== 0 ? i : i + 1;
    fc.release(keep === i ? i + 1 : i);
    if (keep !== i) {
      s.type[i] = s.type[keep];
      s.loc[i] = s.loc[keep];
      s.reg[i] = s.reg[keep];
      s.lo[i] = s.lo[keep];
      s.hi[i] = s.hi[keep];
      if (s.loc[i] === Loc.Local || s.loc[i] === Loc.LocalSlot) fc.setLocalEntry(i, s.lo[i]);
      else if (s.loc[i] === Loc.Mem) {
        // the value still sits in position i + 1's slot: bring it into a register
        const r = fc.allocReg(s.type[i]);
        fc.be.loadSlot(s.type[i], r, Base.Frame, fc.frame.homeOffset(i + 1));
        s.setReg(i, r);
      }
    }
    return;
  }
  // the operands into registers first (b may stay a local's: it is only read); loads leave the
  // flags alone
  const ra = fc.regOf(i);
  const rb = s.loc[i + 1] === Loc.Local ? s.reg[i + 1] : fc.regOf(i + 1);
  let cc: number;
  if (s.loc[c] === Loc.Flags) cc = s.reg[c];
  else {
    cc = fc.be.invertCond(fc.be.testZero(4, fc.place(c, Form.ASlot, fc.opA)));
    fc.release(c);
  }
  fc.be.select(s.type[i], ra, rb, cc);
  fc.release(i + 1);
}

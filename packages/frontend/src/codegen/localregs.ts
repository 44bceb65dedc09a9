import { Imm, opImm, opSubBase, opSubCount } from './opcodes';
import { isFloat, V128 } from './operations';
import type { CodeGenContext } from './context';

/**
 * Which locals live in registers (docs/ARCHITECTURE.md, "Code generator", "Locals in registers").
 * Before a body is compiled, one scan over its bytes (no IR, nothing validated: the compile that
 * follows does that) weighs each local by its uses, each use counting 8× more per enclosing loop,
 * and notes which locals each loop writes. The heaviest locals of each register class get a
 * register of the backend's `localGprMask`/`localFprMask` for the whole function; every other
 * local stays in its slot. Linear time; memory grows with the largest function only (arrays reused
 * from one function to the next).
 */

/**
 * A local used fewer times than this (by weight) is not worth a register; nor is one used no more
 * often than calls reload it (CodeGenContext.callResults reloads every register local).
 */
const MIN_WEIGHT = 2;
/** Locals in registers at most: their dirty flags are the bits of one int32. */
export const MAX_REG_LOCALS = 32;
/** Loop-log events besides a local index (a local.set/tee). */
const LOOP_BEGIN = -1, LOOP_END = -2;

/** Per-function scratch of the scan, kept between functions. */
export class LocalScan {
  weight = new Float64Array(256);
  /** Nesting of the scanned blocks: 1 for a loop. */
  kinds = new Uint8Array(64);
  /** local.set/tee indices and loop begin/end events, in body order. */
  log = new Int32Array(256);
  logLength = 0;
  /** Loops the scan saw (begin events); loops after a stop have no mask. */
  loops = 0;
  /** Calls, weighted like uses (what keeping locals in registers costs: a reload after each). */
  callWeight = 0;
  /** The best candidates of one class, heaviest first. */
  top = new Int32Array(MAX_REG_LOCALS);
  masks = new Int32Array(64);
  ords = new Int32Array(64);
}

function grownI32(a: Int32Array, min: number): Int32Array<ArrayBuffer> {
  let n = a.length * 2;
  while (n < min) n *= 2;
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

/**
 * Scans the body bytes [pos, end) (after the local declarations) of a function with `nLocals`
 * locals, parameters included: the weight of each local, the loop log, the call weight.
 */
export function scanBody(sc: LocalScan, bytes: Uint8Array, pos: number, end: number, nLocals: number): void {
  if (sc.weight.length < nLocals) sc.weight = new Float64Array(Math.max(nLocals, sc.weight.length * 2));
  const weight = sc.weight;
  weight.fill(0, 0, nLocals);
  let kinds = sc.kinds;
  let log = sc.log;
  let logLength = 0;
  let depth = 0;
  let loopDepth = 0;
  let loops = 0;
  let callWeight = 0;
  let w = 1;
  let v = 0; // the last LEB read
  scan: while (pos < end) {
    let row = bytes[pos++];
    let imm = opImm[row];
    if (imm === Imm.Prefix) {
      // the sub-opcode (a u32)
      v = 0;
      for (let shift = 0; pos < end; shift += 7) {
        const b = bytes[pos++];
        if (shift < 28) v |= (b & 0x7f) << shift;
        else v = 0x7fffffff;
        if ((b & 0x80) === 0) break;
      }
      if (v >= opSubCount[row]) break;
      row = opSubBase[row] + v;
      imm = opImm[row];
    }
    switch (imm) {
      case Imm.None: break;
      case Imm.Byte: pos++; break;
      case Imm.Byte2: pos += 2; break;
      case Imm.F32: pos += 4; break;
      case Imm.F64: pos += 8; break;
      case Imm.U32: case Imm.Leb:
        while (pos < end && bytes[pos++] & 0x80);
        break;
      case Imm.U32x2: case Imm.MemArg:
        while (pos < end && bytes[pos++] & 0x80);
        while (pos < end && bytes[pos++] & 0x80);
        break;
      case Imm.U32Byte:
        while (pos < end && bytes[pos++] & 0x80);
        pos++;
        break;
      case Imm.MemArgByte:
        while (pos < end && bytes[pos++] & 0x80);
        while (pos < end && bytes[pos++] & 0x80);
        pos++;
        break;
      case Imm.Bytes16: pos += 16; break;
      case Imm.Call:
        callWeight += w;
        while (pos < end && bytes[pos++] & 0x80);
        if (row === 0x11) while (pos < end && bytes[pos++] & 0x80);
        break;
      case Imm.Block: case Imm.Loop: {
        const b = pos < end ? bytes[pos] : 0;
        if (b === 0x40 || (b >= 0x7b && b <= 0x7f) || b === 0x70 || b === 0x6f) pos++;
        else while (pos < end && bytes[pos++] & 0x80);
        if (depth >= kinds.length) {
          const k = new Uint8Array(kinds.length * 2);
          k.set(kinds);
          sc.kinds = kinds = k;
        }
        const loop = imm === Imm.Loop;
        kinds[depth++] = loop ? 1 : 0;
        if (loop) {
          loops++;
          loopDepth++;
          w = weightAt(loopDepth);
          if (logLength >= log.length) sc.log = log = grownI32(log, logLength + 1);
          log[logLength++] = LOOP_BEGIN;
        }
        break;
      }
      case Imm.End:
        if (depth > 0 && kinds[--depth] === 1) {
          loopDepth--;
          w = weightAt(loopDepth);
          if (logLength >= log.length) sc.log = log = grownI32(log, logLength + 1);
          log[logLength++] = LOOP_END;
        }
        break;
      case Imm.BrTable: {
        v = 0;
        for (let shift = 0; pos < end; shift += 7) {
          const b = bytes[pos++];
          if (shift < 28) v |= (b & 0x7f) << shift;
          else v = 0x7fffffff;
          if ((b & 0x80) === 0) break;
        }
        for (let k = 0; k <= v && pos < end; k++) while (pos < end && bytes[pos++] & 0x80);
        break;
      }
      case Imm.SelectT: {
        const n = pos < end ? bytes[pos] : 0;
        while (pos < end && bytes[pos++] & 0x80);
        pos += n & 0x7f;
        break;
      }
      case Imm.LocalGet: case Imm.LocalSet: {
        v = 0;
        let shift = 0;
        for (; pos < end; shift += 7) {
          const b = bytes[pos++];
          if (shift < 28) v |= (b & 0x7f) << shift;
          else v = -1;
          if ((b & 0x80) === 0) break;
        }
        if (v >= 0 && v < nLocals) {
          weight[v] += w;
          if (imm === Imm.LocalSet) {
            if (logLength >= log.length) sc.log = log = grownI32(log, logLength + 1);
            log[logLength++] = v;
          }
        }
        break;
      }
      default:
        break scan; // an opcode the compile will refuse
    }
  }
  sc.logLength = logLength;
  sc.loops = loops;
  sc.callWeight = callWeight;
}

/** 8^depth, from 4 loops deep on the same. */
function weightAt(loopDepth: number): number {
  return 1 << (3 * (loopDepth < 4 ? loopDepth : 4));
}

/**
 * Chooses the locals held in registers from a scan (the heaviest of each class, at most as many
 * as the backend's local masks hold) and records them in the context (CodeGenContext.setLocalReg);
 * then each loop's mask of register locals it writes.
 */
export function assignLocalRegisters(fc: CodeGenContext, sc: LocalScan, nLocals: number): void {
  fc.clearLocalRegs(nLocals);
  const gprs = fc.be.localGprMask, fprs = fc.be.localFprMask;
  if (gprs !== 0) pickClass(fc, sc, nLocals, false, gprs);
  if (fprs !== 0) pickClass(fc, sc, nLocals, true, fprs);
  loopMasks(fc, sc);
}

/** The heaviest locals of one class, each given the highest free register of `mask`. */
function pickClass(fc: CodeGenContext, sc: LocalScan, nLocals: number, float: boolean, mask: number): void {
  let k = popcount(mask);
  if (k > MAX_REG_LOCALS - fc.nRegLocals) k = MAX_REG_LOCALS - fc.nRegLocals;
  if (k <= 0) return;
  const top = sc.top, weight = sc.weight, types = fc.localTypes;
  // each call reloads the local (and may store it); the entry loads it once
  const least = Math.max(MIN_WEIGHT, sc.callWeight + 2);
  let n = 0;
  for (let x = 0; x < nLocals; x++) {
    const wx = weight[x];
    // a v128 stays in its two slots (no register class of its own here)
    if (wx < least || types[x] === V128 || isFloat(types[x]) !== float) continue;
    if (n === k && wx <= weight[top[n - 1]]) continue;
    // insertion into the sorted top k (k ≤ 32)
    let j = n < k ? n++ : n - 1;
    while (j > 0 && weight[top[j - 1]] < wx) {
      top[j] = top[j - 1];
      j--;
    }
    top[j] = x;
  }
  for (let j = 0; j < n; j++) {
    const r = 31 - Math.clz32(mask);
    mask &= ~(1 << r);
    fc.setLocalReg(top[j], r);
  }
}

/** Each loop's written register locals (CodeGenContext.loopMasks), from the scan's log. */
function loopMasks(fc: CodeGenContext, sc: LocalScan): void {
  if (fc.loopMask.length < sc.loops) fc.loopMask = new Int32Array(Math.max(sc.loops, fc.loopMask.length * 2));
  fc.loopsScanned = sc.loops;
  if (fc.nRegLocals === 0) {
    fc.loopMask.fill(0, 0, sc.loops);
    return;
  }
  const log = sc.log;
  let masks = sc.masks, ords = sc.ords;
  let open = 0, loop = 0;
  for (let k = 0; k < sc.logLength; k++) {
    const e = log[k];
    if (e === LOOP_BEGIN) {
      if (open >= masks.length) {
        sc.masks = masks = grownI32(masks, open + 1);
        sc.ords = ords = grownI32(ords, open + 1);
      }
      masks[open] = 0;
      ords[open++] = loop++;
    } else if (e === LOOP_END) {
      const m = masks[--open];
      fc.loopMask[ords[open]] = m;
      if (open > 0) masks[open - 1] |= m;
    } else if (open > 0) {
      const ord = fc.localOrd[e];
      if (ord >= 0) masks[open - 1] |= 1 << ord;
    }
  }
  // loops the scan saw open at its end: anything may be written in them
  while (open > 0) fc.loopMask[ords[--open]] = -1;
}

function popcount(m: number): number {
  let n = 0;
  for (; m !== 0; m &= m - 1) n++;
  return n;
}

/**
 * The encoders' semantics, executed: every case below runs real instructions under qemu-aarch64
 * in one static executable and compares the values it stores with a BigInt/JS reference model of
 * the ARM ARM. This checks what capstone cannot: that the constant materialiser and the bitmask
 * immediates produce their values, that w-register results zero the upper half, that the
 * condition codes mean what the macro layer assumes (signed/unsigned, unordered floats), the
 * division, conversion and min/max corner cases the comments promise, load extension, the
 * register-offset extends, writeback, and patched branches. Skipped without qemu-aarch64.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CodeBuffer } from '@wagc/frontend';
import * as a from '../src/encode';
import { BITMASKS, mask, halves, rand, randInt } from './capstone';
import { elf, LOAD, DATA_OFF } from './elf';

const QEMU = ['/usr/bin/qemu-aarch64', '/usr/bin/qemu-aarch64-static', '/usr/local/bin/qemu-aarch64'].find((p) => existsSync(p));
const maybe = QEMU ? test : test.skip;

const DATA = LOAD + DATA_OFF;
const RESULTS = LOAD + 0x4000000;
const RDATA = 27, RRES = 28, TMP = 9;

type Expect = bigint | ((got: bigint) => boolean);

/** Code that stores 8-byte results through x28, and what each should be. */
class Program {
  readonly b = new CodeBuffer(1 << 20);
  readonly want: Expect[] = [];
  readonly names: string[] = [];

  constructor() {
    a.movConst(this.b, 8, RDATA, DATA, 0);
    a.movConst(this.b, 8, RRES, RESULTS, 0);
  }

  /** x[r] ← v (64-bit). */
  set(r: number, v: bigint): void {
    const [lo, hi] = halves(BigInt.asUintN(64, v));
    a.movConst(this.b, 8, r, lo, hi);
  }

  /** v[r] ← bits (single: low 32). */
  setF(sz: number, r: number, bits: bigint): void {
    this.set(TMP, bits);
    a.fmovToFp(this.b, sz, r, TMP);
  }

  result(r: number, want: Expect, name: string): void {
    a.ldstIndexed(this.b, a.MemOp.STR_X, r, RRES, 8, false);
    this.want.push(typeof want === 'bigint' ? BigInt.asUintN(64, want) : want);
    this.names.push(name);
  }

  /** The result in v[r], as its bits (single: zero-extended). */
  resultF(sz: number, r: number, want: Expect, name: string): void {
    a.fmovFromFp(this.b, sz, TMP, r);
    this.result(TMP, want, name);
  }

  /** Records NZCV (bits 31..28). */
  flags(want: number, name: string): void {
    a.mrs(this.b, TMP, a.SysReg.NZCV);
    this.result(TMP, BigInt(want) << 28n, name);
  }

  run(data: Uint8Array): string[] {
    const b = this.b;
    a.movz(b, 8, 0, 1); // write(1, RESULTS, 8·n)
    a.movConst(b, 8, 1, RESULTS, 0);
    a.movConst(b, 8, 2, this.want.length * 8, 0);
    a.movz(b, 8, 8, 64);
    a.svc(b);
    a.movz(b, 8, 0, 0); // exit(0)
    a.movz(b, 8, 8, 93);
    a.svc(b);
    const dir = mkdtempSync(join(tmpdir(), 'arm64-exec-'));
    try {
      const exe = join(dir, 'a.out');
      writeFileSync(exe, elf(b.finish(), data, RESULTS - LOAD + this.want.length * 8 + 16), { mode: 0o755 });
      const out = execFileSync(QEMU!, [exe], { maxBuffer: 1 << 28 });
      expect(out.length).toBe(this.want.length * 8);
      // eslint-disable-next-line no-console
      if (process.env.ENCODE_COUNTS) console.log(`executed results: ${this.want.length} from ${b.pos / 4} instructions`);
      const dv = new DataView(out.buffer, out.byteOffset, out.length);
      const bad: string[] = [];
      this.want.forEach((w, k) => {
        const got = dv.getBigUint64(k * 8, true);
        if (typeof w === 'bigint' ? got !== w : !w(got)) {
          bad.push(`${this.names[k]}: got 0x${got.toString(16)}${typeof w === 'bigint' ? `, want 0x${w.toString(16)}` : ''}`);
        }
      });
      return bad;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// reference model

const sx = (v: bigint, bits: number): bigint => BigInt.asIntN(bits, v);
const ux = (v: bigint, bits: number): bigint => BigInt.asUintN(bits, v);

function randBits(): bigint {
  const pick = randInt(6);
  if (pick === 0) return BigInt([0, 1, -1, 0x7fffffff, -0x80000000, 0x80000000, 0xffffffff][randInt(7)]);
  if (pick === 1) return [0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffff00000000n, 0x100000000n][randInt(4)];
  if (pick === 2) return BigInt(randInt(256)) - 128n;
  return (BigInt(rand()) << 32n) | BigInt(rand());
}

function shifted(v: bigint, shift: number, amt: number, bits: number): bigint {
  const n = BigInt(amt);
  switch (shift) {
    case 0: return ux(v << n, bits);
    case 1: return ux(v, bits) >> n;
    case 2: return ux(sx(v, bits) >> n, bits);
    default: return ux((ux(v, bits) >> n) | (v << BigInt(bits - amt)), bits);
  }
}

/** NZCV of a − b (sub) or a + b at `bits`. */
function flagsOf(x: bigint, y: bigint, bits: number, sub: boolean): number {
  const ua = ux(x, bits), ub = ux(y, bits);
  const r = ux(sub ? ua - ub : ua + ub, bits);
  const n = r >> BigInt(bits - 1) === 1n ? 8 : 0;
  const z = r === 0n ? 4 : 0;
  const c = (sub ? ua >= ub : ua + ub >= 1n << BigInt(bits)) ? 2 : 0;
  const exact = sub ? sx(x, bits) - sx(y, bits) : sx(x, bits) + sx(y, bits);
  const v = exact !== sx(r, bits) ? 1 : 0;
  return n | z | c | v;
}

function holds(cond: number, nzcv: number): boolean {
  const n = !!(nzcv & 8), z = !!(nzcv & 4), c = !!(nzcv & 2), v = !!(nzcv & 1);
  let r: boolean;
  switch (cond >> 1) {
    case 0: r = z; break;
    case 1: r = c; break;
    case 2: r = n; break;
    case 3: r = v; break;
    case 4: r = c && !z; break;
    case 5: r = n === v; break;
    case 6: r = !z && n === v; break;
    default: r = true;
  }
  return cond < 14 && cond & 1 ? !r : r;
}

const bitLength = (v: bigint): number => v.toString(2).length - (v === 0n ? 1 : 0);
const popcount = (v: bigint): number => v.toString(2).split('').filter((c) => c === '1').length;
function reverseBits(v: bigint, bits: number): bigint {
  return BigInt(`0b${ux(v, bits).toString(2).padStart(bits, '0').split('').reverse().join('')}`);
}
function reverseBytes(v: bigint, bits: number): bigint {
  let r = 0n;
  for (let k = 0; k < bits; k += 8) r = (r << 8n) | ((v >> BigInt(k)) & 0xffn);
  return r;
}

// ---------------------------------------------------------------------------------------------

maybe('integer encoders compute what the ARM ARM says (qemu-aarch64)', () => {
  const p = new Program();
  const b = p.b;

  // constants: every materialisation path, w results zero-extended over an all-ones register
  for (let k = 0; k < 4000; k++) {
    const w = k % 2 ? 8 : 4;
    let v = randBits();
    if (k % 4 >= 2) {
      const list = [...BITMASKS[w].keys()];
      v = list[randInt(list.length)];
      const sh = BigInt(16 * randInt(w / 2));
      if (k % 8 >= 4) v = (v & ~(0xffffn << sh)) | (BigInt(randInt(0x10000)) << sh);
    }
    v = ux(v, w * 8);
    const r = k % 27;
    p.set(r, -1n);
    const [lo, hi] = halves(v);
    a.movConst(b, w, r, lo, hi);
    p.result(r, v, `movConst w${w} 0x${v.toString(16)}`);
  }
  // constants patched in after the fact
  for (let k = 0; k < 64; k++) {
    const w = k % 2 ? 8 : 4;
    const v = ux(randBits(), w * 8);
    const [lo, hi] = halves(v);
    p.set(5, -1n);
    const at = a.movConstPatchable(b, w, 5, w / 2);
    a.patchMovConst(b, at, lo, hi);
    p.result(5, v, `patchMovConst w${w} 0x${v.toString(16)}`);
  }
  // every logical immediate, through ORR from zr
  for (const w of [4, 8]) {
    for (const [v, enc] of BITMASKS[w]) {
      a.logicImm(b, a.Logic.ORR, w, 2, 31, enc);
      p.result(2, v, `orr w${w} 0x${v.toString(16)}`);
    }
  }

  const ADDSUB = [a.AddSub.ADD, a.AddSub.ADDS, a.AddSub.SUB, a.AddSub.SUBS];
  const LOGIC = [a.Logic.AND, a.Logic.BIC, a.Logic.ORR, a.Logic.ORN, a.Logic.EOR, a.Logic.EON, a.Logic.ANDS, a.Logic.BICS];
  const SHV = [a.ShiftV.LSLV, a.ShiftV.LSRV, a.ShiftV.ASRV, a.ShiftV.RORV];
  for (let k = 0; k < 600; k++) {
    const w = k % 2 ? 8 : 4, bits = w * 8;
    const x = randBits(), y = k % 7 === 0 ? BigInt(randInt(200)) : randBits(), z = randBits();
    p.set(0, x);
    p.set(1, y);
    p.set(3, z);
    const X = ux(x, bits), Y = ux(y, bits), Z = ux(z, bits), M = mask(bits);
    const name = (op: string): string => `${op} w${w} 0x${X.toString(16)}, 0x${Y.toString(16)}`;
    const shift = k % 3, amt = randInt(bits);
    const op2 = shifted(Y, shift, amt, bits);
    ADDSUB.forEach((op, i) => {
      a.addSubReg(b, op, w, 2, 0, 1, shift, amt);
      p.result(2, ux(i < 2 ? X + op2 : X - op2, bits), name(`addsub${i} ${shift}#${amt}`));
      if (i === 1 || i === 3) p.flags(flagsOf(X, op2, bits, i === 3), name(`flags${i}`));
    });
    const lshift = k % 4;
    const lop2 = shifted(Y, lshift, amt, bits);
    const logic = [X & lop2, X & ~lop2, X | lop2, X | ~lop2, X ^ lop2, X ^ ~lop2, X & lop2, X & ~lop2];
    LOGIC.forEach((op, i) => {
      a.logicReg(b, op, w, 2, 0, 1, lshift, amt);
      p.result(2, logic[i] & M, name(`logic${i} ${lshift}#${amt}`));
    });
    const ext = [0, 1, 2, 3, 4, 5, 6, 7][k % 8], eamt = k % 5;
    const extended = ux((ext & 4 ? sx(y, 8 << (ext & 3)) : ux(y, 8 << (ext & 3))) << BigInt(eamt), bits);
    a.addSubExt(b, a.AddSub.SUB, w, 2, 0, 1, ext, eamt);
    p.result(2, ux(X - extended, bits), name(`sub ext${ext} #${eamt}`));
    const imm = [0, 1, 0xfff, 0x1000, 0xfff000, randInt(4096)][k % 6];
    a.addSubImm(b, a.AddSub.ADD, w, 2, 0, imm);
    p.result(2, ux(X + BigInt(imm), bits), name(`add #${imm}`));
    a.addSubImm(b, a.AddSub.SUBS, w, 31, 0, imm);
    p.flags(flagsOf(X, BigInt(imm), bits, true), name(`cmp #${imm}`));

    a.mul(b, w, 2, 0, 1);
    p.result(2, ux(X * Y, bits), name('mul'));
    a.madd(b, w, 2, 0, 1, 3);
    p.result(2, ux(Z + X * Y, bits), name('madd'));
    a.msub(b, w, 2, 0, 1, 3);
    p.result(2, ux(Z - X * Y, bits), name('msub'));
    const sX = sx(X, bits), sY = sx(Y, bits);
    a.sdiv(b, w, 2, 0, 1);
    p.result(2, Y === 0n ? 0n : ux(sX / sY, bits), name('sdiv'));
    a.udiv(b, w, 2, 0, 1);
    p.result(2, Y === 0n ? 0n : X / Y, name('udiv'));
    if (w === 8) {
      a.smulh(b, 2, 0, 1);
      p.result(2, ux((sX * sY) >> 64n, 64), name('smulh'));
      a.umulh(b, 2, 0, 1);
      p.result(2, (X * Y) >> 64n, name('umulh'));
    }
    SHV.forEach((op, i) => {
      a.shiftReg(b, op, w, 2, 0, 1);
      p.result(2, shifted(X, i, Number(Y % BigInt(bits)), bits), name(`shiftv${i}`));
    });
    const n = randInt(bits);
    a.lslImm(b, w, 2, 0, n);
    p.result(2, shifted(X, 0, n, bits), name(`lsl #${n}`));
    a.lsrImm(b, w, 2, 0, n);
    p.result(2, shifted(X, 1, n, bits), name(`lsr #${n}`));
    a.asrImm(b, w, 2, 0, n);
    p.result(2, shifted(X, 2, n, bits), name(`asr #${n}`));
    a.rorImm(b, w, 2, 0, n);
    p.result(2, shifted(X, 3, n, bits), name(`ror #${n}`));
    a.extr(b, w, 2, 0, 1, n);
    p.result(2, ux(((X << BigInt(bits)) | Y) >> BigInt(n), bits), name(`extr #${n}`));
    const lsb = randInt(bits), width = 1 + randInt(bits - lsb);
    const field = (X >> BigInt(lsb)) & mask(width);
    a.ubfx(b, w, 2, 0, lsb, width);
    p.result(2, field, name(`ubfx ${lsb},${width}`));
    a.sbfx(b, w, 2, 0, lsb, width);
    p.result(2, ux(sx(field, width), bits), name(`sbfx ${lsb},${width}`));
    a.movRR(b, 8, 2, 3);
    a.bfi(b, w, 2, 0, lsb, width);
    p.result(2, (Z & ~(mask(width) << BigInt(lsb))) | ((X & mask(width)) << BigInt(lsb)), name(`bfi ${lsb},${width}`));
    a.movRR(b, 8, 2, 3);
    a.bfxil(b, w, 2, 0, lsb, width);
    p.result(2, (Z & ~mask(width)) | field, name(`bfxil ${lsb},${width}`));
    a.sxtb(b, w, 2, 0);
    p.result(2, ux(sx(X, 8), bits), name('sxtb'));
    a.sxth(b, w, 2, 0);
    p.result(2, ux(sx(X, 16), bits), name('sxth'));
    a.sxtw(b, 2, 0);
    p.result(2, ux(sx(X, 32), 64), name('sxtw'));
    a.uxtb(b, 2, 0);
    p.result(2, X & 0xffn, name('uxtb'));
    a.uxth(b, 2, 0);
    p.result(2, X & 0xffffn, name('uxth'));
    a.movRR(b, w, 2, 0);
    p.result(2, X, name('mov'));
    a.clz(b, w, 2, 0);
    p.result(2, BigInt(bits - bitLength(X)), name('clz'));
    a.rbit(b, w, 2, 0);
    p.result(2, reverseBits(X, bits), name('rbit'));
    a.rev(b, w, 2, 0);
    p.result(2, reverseBytes(X, bits), name('rev'));
    a.popcount(b, w, 2, 0, 7);
    p.result(2, BigInt(popcount(X)), name('popcount'));

    // conditions after cmp x, y: every code through cset, csetm and the selects
    const nzcv = flagsOf(X, Y, bits, true);
    a.addSubReg(b, a.AddSub.SUBS, w, 31, 0, 1);
    for (let c = 0; c < 14; c++) {
      a.cset(b, w, 2, c);
      p.result(2, holds(c, nzcv) ? 1n : 0n, name(`cset ${c}`));
    }
    const c = k % 16;
    const sel: [a.CondSel, bigint][] = [[a.CondSel.CSEL, Z], [a.CondSel.CSINC, Z + 1n], [a.CondSel.CSINV, ~Z], [a.CondSel.CSNEG, -Z]];
    for (const [op, other] of sel) {
      a.condSelect(b, op, w, 2, 0, 3, c);
      p.result(2, holds(c, nzcv) ? X : ux(other, bits), name(`condSelect ${op} ${c}`));
    }
    a.csetm(b, w, 2, c % 14);
    p.result(2, holds(c % 14, nzcv) ? M : 0n, name(`csetm ${c % 14}`));
    const fallback = k % 16, c2 = (k >> 4) % 16;
    a.ccmpReg(b, false, w, 1, 3, fallback, c2);
    p.flags(holds(c2, nzcv) ? flagsOf(Y, Z, bits, true) : fallback, name(`ccmp ${c2}`));
    a.addSubReg(b, a.AddSub.SUBS, w, 31, 0, 1);
    const i5 = randInt(32);
    a.ccmpImm(b, true, w, 1, i5, fallback, c2);
    p.flags(holds(c2, nzcv) ? flagsOf(Y, BigInt(i5), bits, false) : fallback, name(`ccmn #${i5} ${c2}`));
  }
  expect(p.run(new Uint8Array(0)).slice(0, 20)).toEqual([]);
});

// ---------------------------------------------------------------------------------------------
// floating point

const dv8 = new DataView(new ArrayBuffer(8));
function fromBits(sz: number, bits: bigint): number {
  if (sz === 4) {
    dv8.setUint32(0, Number(ux(bits, 32)), true);
    return dv8.getFloat32(0, true);
  }
  dv8.setBigUint64(0, ux(bits, 64), true);
  return dv8.getFloat64(0, true);
}
function toBits(sz: number, v: number): bigint {
  if (sz === 4) {
    dv8.setFloat32(0, v, true);
    return BigInt(dv8.getUint32(0, true));
  }
  dv8.setFloat64(0, v, true);
  return dv8.getBigUint64(0, true);
}

const isNaNBits = (sz: number) => (got: bigint): boolean => (sz === 4 ? got < 0x100000000n : true) && Number.isNaN(fromBits(sz, got));
/** Expected float result: exact bits, or any NaN. */
const fexp = (sz: number, v: number): Expect => (Number.isNaN(v) ? isNaNBits(sz) : toBits(sz, v));

const SPECIAL = [0, -0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 3.5, Infinity, -Infinity, NaN, 2 ** 31, -(2 ** 31), 2 ** 31 - 0.5,
  2 ** 32, 2 ** 63, -(2 ** 63), 2 ** 64, 1e10, -1e-10, 3.7, -3.7, 4503599627370498 /* 2^52 + 2 */, 2 ** 52 + 1, -0.2, 1.7976931348623157e308];

function randFloat(sz: number): number {
  if (randInt(3) === 0) return sz === 4 ? Math.fround(SPECIAL[randInt(SPECIAL.length)]) : SPECIAL[randInt(SPECIAL.length)];
  if (randInt(2) === 0) return fromBits(sz, sz === 4 ? BigInt(rand()) : (BigInt(rand()) << 32n) | BigInt(rand()));
  const v = (rand() - 2 ** 31) / (1 + randInt(1000));
  return sz === 4 ? Math.fround(v) : v;
}

/** Round half to even. */
function roundEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/** A signalling NaN: quiet bit clear. */
const isSignalling = (sz: number, bits: bigint): boolean => Number.isNaN(fromBits(sz, bits)) && ((bits >> BigInt(sz === 4 ? 22 : 51)) & 1n) === 0n;

/** Integer → float, correctly rounded (ties to even) from the exact value. */
function intToFloat(sz: number, v: bigint): number {
  const neg = v < 0n;
  let m = neg ? -v : v;
  const p = sz === 4 ? 24 : 53;
  const len = bitLength(m);
  if (len > p) {
    const sh = BigInt(len - p);
    let q = m >> sh;
    const rem = m - (q << sh), half = 1n << (sh - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
    m = q << sh;
  }
  const r = Number(m);
  return neg ? -r : r;
}

/** Float → integer, truncated, saturated at the range, NaN → 0. */
function floatToInt(v: number, bits: number, signed: boolean): bigint {
  if (Number.isNaN(v)) return 0n;
  const lo = signed ? -(1n << BigInt(bits - 1)) : 0n, hi = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  if (v === Infinity) return hi;
  if (v === -Infinity) return lo;
  const t = BigInt(Math.trunc(v));
  return t < lo ? lo : t > hi ? hi : t;
}

function fcmpFlags(x: number, y: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return 0b0011;
  return x === y ? 0b0110 : x < y ? 0b1000 : 0b0010;
}

maybe('float encoders compute what the ARM ARM says (qemu-aarch64)', () => {
  const p = new Program();
  const b = p.b;
  const FA = [a.FArith.FMUL, a.FArith.FDIV, a.FArith.FADD, a.FArith.FSUB, a.FArith.FMAX, a.FArith.FMIN, a.FArith.FMAXNM, a.FArith.FMINNM, a.FArith.FNMUL];
  const FU: [a.FUnary, (v: number) => number][] = [
    [a.FUnary.FSQRT, Math.sqrt], [a.FUnary.FRINTN, roundEven], [a.FUnary.FRINTP, Math.ceil], [a.FUnary.FRINTM, Math.floor],
    [a.FUnary.FRINTZ, Math.trunc], [a.FUnary.FRINTA, (v) => (v < 0 ? -Math.round(-v) : Math.round(v))], [a.FUnary.FRINTX, roundEven], [a.FUnary.FRINTI, roundEven],
  ];
  for (let k = 0; k < 800; k++) {
    const sz = k % 2 ? 8 : 4, bits = sz * 8;
    const round = sz === 4 ? Math.fround : (v: number): number => v;
    const x = randFloat(sz), y = k % 5 === 0 ? x : randFloat(sz);
    const xb = toBits(sz, x), yb = toBits(sz, y);
    p.setF(sz, 0, xb);
    p.setF(sz, 1, yb);
    const name = (op: string): string => `${op} f${bits} ${x} (0x${xb.toString(16)}), ${y}`;
    const anyNaN = Number.isNaN(x) || Number.isNaN(y);
    const maxmin = (max: boolean): number => {
      if (anyNaN) return NaN;
      if (x === 0 && y === 0) return (Object.is(x, -0) && Object.is(y, -0)) || (!max && (Object.is(x, -0) || Object.is(y, -0))) ? -0 : 0;
      return max ? Math.max(x, y) : Math.min(x, y);
    };
    const nm = (max: boolean): number => {
      if (Number.isNaN(x) && Number.isNaN(y)) return NaN;
      if (isSignalling(sz, xb) || isSignalling(sz, yb)) return NaN;
      if (Number.isNaN(x)) return y;
      if (Number.isNaN(y)) return x;
      return maxmin(max);
    };
    const want = [round(x * y), round(x / y), round(x + y), round(x - y), maxmin(true), maxmin(false), nm(true), nm(false), round(-(x * y))];
    FA.forEach((op, i) => {
      a.farith(b, op, sz, 2, 0, 1);
      p.resultF(sz, 2, fexp(sz, want[i]), name(`farith${i}`));
    });
    for (const [op, fn] of FU) {
      a.funary(b, op, sz, 2, 0);
      p.resultF(sz, 2, fexp(sz, round(fn(x))), name(`funary 0x${op.toString(16)}`));
    }
    const signBit = 1n << BigInt(bits - 1);
    a.funary(b, a.FUnary.FABS, sz, 2, 0);
    p.resultF(sz, 2, xb & ~signBit, name('fabs'));
    a.funary(b, a.FUnary.FNEG, sz, 2, 0);
    p.resultF(sz, 2, xb ^ signBit, name('fneg'));
    a.funary(b, a.FUnary.FMOV, sz, 2, 0);
    p.resultF(sz, 2, xb, name('fmov'));
    a.fcvt(b, sz, 2, 0);
    p.resultF(12 - sz, 2, fexp(12 - sz, sz === 4 ? x : Math.fround(x)), name('fcvt'));
    a.fcmp(b, sz, 0, 1);
    const nzcv = fcmpFlags(x, y);
    p.flags(nzcv, name('fcmp'));
    const c = k % 16;
    a.fcsel(b, sz, 2, 0, 1, c);
    p.resultF(sz, 2, holds(c, nzcv) ? xb : yb, name(`fcsel ${c}`));
    a.fcmpZero(b, sz, 0);
    p.flags(fcmpFlags(x, 0), name('fcmp #0'));
    for (const w of [4, 8]) {
      a.fconvInt(b, a.FConv.FCVTZS, sz, w, 2, 0);
      p.result(2, ux(floatToInt(x, w * 8, true), w * 8), name(`fcvtzs w${w}`));
      a.fconvInt(b, a.FConv.FCVTZU, sz, w, 2, 0);
      p.result(2, floatToInt(x, w * 8, false), name(`fcvtzu w${w}`));
      const iv = randBits();
      p.set(3, iv);
      a.fconvInt(b, a.FConv.SCVTF, sz, w, 2, 3);
      p.resultF(sz, 2, toBits(sz, intToFloat(sz, sx(iv, w * 8))), `scvtf w${w} f${bits} ${iv}`);
      a.fconvInt(b, a.FConv.UCVTF, sz, w, 2, 3);
      p.resultF(sz, 2, toBits(sz, intToFloat(sz, ux(iv, w * 8))), `ucvtf w${w} f${bits} ${iv}`);
    }
  }
  for (const sz of [4, 8]) {
    for (let imm8 = 0; imm8 < 256; imm8++) {
      a.fmovImm(b, sz, 2, imm8);
      const sign = imm8 & 0x80 ? -1 : 1, b6 = (imm8 >> 6) & 1;
      const v = sign * ((16 + (imm8 & 15)) / 16) * 2 ** (b6 ? ((imm8 >> 4) & 3) - 3 : ((imm8 >> 4) & 3) + 1);
      p.resultF(sz, 2, toBits(sz, v), `fmov #${v}`);
      // and the encoder that finds it
      const [lo, hi] = halves(toBits(sz, v));
      expect(a.encodeFpImm(sz, lo, hi)).toBe(imm8);
    }
  }
  expect(p.run(new Uint8Array(0)).slice(0, 20)).toEqual([]);
});

// ---------------------------------------------------------------------------------------------
// loads, stores, branches

/** op, access size, how the loaded value is extended (bits, or −bits for sign extension), float. */
const LOADS: [a.MemOp, number, number, boolean][] = [
  [a.MemOp.LDRB, 1, 0, false], [a.MemOp.LDRSB_W, 1, 32, false], [a.MemOp.LDRSB_X, 1, 64, false],
  [a.MemOp.LDRH, 2, 0, false], [a.MemOp.LDRSH_W, 2, 32, false], [a.MemOp.LDRSH_X, 2, 64, false],
  [a.MemOp.LDR_W, 4, 0, false], [a.MemOp.LDRSW, 4, 64, false], [a.MemOp.LDR_X, 8, 0, false],
  [a.MemOp.LDR_S, 4, 0, true], [a.MemOp.LDR_D, 8, 0, true],
];
const STORES: [a.MemOp, number, boolean][] = [
  [a.MemOp.STRB, 1, false], [a.MemOp.STRH, 2, false], [a.MemOp.STR_W, 4, false], [a.MemOp.STR_X, 8, false],
  [a.MemOp.STR_S, 4, true], [a.MemOp.STR_D, 8, true],
];

maybe('loads, stores and branches behave (qemu-aarch64)', () => {
  const p = new Program();
  const b = p.b;
  const table = new Uint8Array(256);
  for (let k = 0; k < 256; k++) table[k] = rand() & 0xff;
  const dv = new DataView(table.buffer);
  const SCRATCH = 0x800; // zeroed, writable, after the table
  /** The value a load of `size` at table offset `off` leaves in the register. */
  const loaded = (off: number, size: number, ext: number): bigint => {
    let v = 0n;
    for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(table[off + k]);
    return ext ? ux(sx(v, size * 8), ext) : v;
  };
  const fetch = (float: boolean, size: number, want: bigint, name: string): void => {
    if (float) p.resultF(size, 2, want, name);
    else p.result(2, want, name);
  };

  for (let k = 0; k < 400; k++) {
    const [op, size, ext, float] = LOADS[k % LOADS.length];
    const name = (form: string, off: number): string => `${form} op ${k % LOADS.length} at ${off}`;
    // unsigned scaled offset from the table base
    const off = randInt(256 / size) * size;
    a.ldstImm(b, op, 2, RDATA, off);
    fetch(float, size, loaded(off, size, ext), name('imm', off));
    // unscaled, negative and odd, from the middle
    const u = randInt(256 - size) - 128;
    a.addSubImm(b, a.AddSub.ADD, 8, 4, RDATA, 128);
    a.ldstUnscaled(b, op, 2, 4, u);
    fetch(float, size, loaded(128 + u, size, ext), name('unscaled', 128 + u));
    // base + zext(w index): the index register's upper half is garbage
    const idx = randInt(256 / size);
    const shifted = k % 2 === 0;
    p.set(5, (BigInt(rand() | 1) << 32n) | BigInt(shifted ? idx : idx * size));
    a.ldstReg(b, op, 2, RDATA, 5, a.Extend.UXTW, shifted);
    fetch(float, size, loaded(idx * size, size, ext), name(`uxtw${shifted ? ' shifted' : ''}`, idx * size));
    // base + sext(w index), negative
    const neg = -(1 + randInt(128 / size));
    p.set(5, (BigInt(rand()) << 32n) | ux(BigInt(neg), 32));
    a.ldstReg(b, op, 2, 4, 5, a.Extend.SXTW, true);
    fetch(float, size, loaded(128 + neg * size, size, ext), name('sxtw', 128 + neg * size));
    // plain 64-bit index
    p.set(5, BigInt(idx * size));
    a.ldstReg(b, op, 2, RDATA, 5, a.Extend.UXTX, false);
    fetch(float, size, loaded(idx * size, size, ext), name('lsl', idx * size));
    // writeback: the base moves before (pre) or after (post) the access
    const step = (randInt(16) - 8) * size;
    const pre = k % 2 === 1;
    a.ldstIndexed(b, op, 2, 4, step, pre);
    fetch(float, size, loaded(128 + (pre ? step : 0), size, ext), name(pre ? 'pre' : 'post', step));
    a.addSubImm(b, a.AddSub.SUB, 8, 4, 4, 128);
    a.addSubReg(b, a.AddSub.SUB, 8, 4, 4, RDATA);
    p.result(4, ux(BigInt(step), 64), name('writeback', step));
  }

  // stores: into a zeroed 16-byte window, read back whole
  for (let k = 0; k < 200; k++) {
    const [op, size, float] = STORES[k % STORES.length];
    const v = randBits();
    if (float) p.setF(size, 6, ux(v, size * 8));
    else p.set(6, v);
    a.addSubImm(b, a.AddSub.ADD, 8, 4, RDATA, SCRATCH);
    a.stp(b, a.PairOp.X, 31, 31, 4, 0);
    const off = k % 3 === 0 ? randInt(9 - size) : randInt(8 / size) * size;
    if (k % 3 === 0) a.ldstUnscaled(b, op, 6, 4, off);
    else a.ldstImm(b, op, 6, 4, off);
    a.ldp(b, a.PairOp.X, 2, 3, 4, 0);
    const all = ux(v, size * 8) << BigInt(off * 8);
    p.result(2, ux(all, 64), `store ${k % STORES.length} at ${off} (low)`);
    p.result(3, all >> 64n, `store ${k % STORES.length} at ${off} (high)`);
  }

  // pairs, every kind and mode, with the base's writeback
  const PAIRS: [a.PairOp, number, boolean][] = [[a.PairOp.W, 4, false], [a.PairOp.X, 8, false], [a.PairOp.S, 4, true], [a.PairOp.D, 8, true]];
  for (const [op, size, float] of PAIRS) {
    for (const [mode, delta] of [[a.PairMode.OFFSET, 0], [a.PairMode.PRE, 1], [a.PairMode.POST, 1]] as [a.PairMode, number][]) {
      const off = 2 * size;
      a.addSubImm(b, a.AddSub.ADD, 8, 4, RDATA, 64);
      a.ldp(b, op, 2, 3, 4, off, mode);
      const at = 64 + (mode === a.PairMode.POST ? 0 : off);
      if (float) {
        p.resultF(size, 2, loaded(at, size, 0), `ldp float ${size} ${mode}`);
        p.resultF(size, 3, loaded(at + size, size, 0), `ldp float ${size} ${mode} (second)`);
      } else {
        p.result(2, loaded(at, size, 0), `ldp ${size} ${mode}`);
        p.result(3, loaded(at + size, size, 0), `ldp ${size} ${mode} (second)`);
      }
      a.addSubReg(b, a.AddSub.SUB, 8, 4, 4, RDATA);
      p.result(4, BigInt(64 + delta * off), `ldp ${size} ${mode} base`);
      // and back through stp into the scratch window
      a.addSubImm(b, a.AddSub.ADD, 8, 5, RDATA, SCRATCH + 64);
      a.stp(b, op, 2, 3, 5, -off, mode);
      a.addSubImm(b, a.AddSub.ADD, 8, 5, RDATA, SCRATCH + 64 - (mode === a.PairMode.POST ? 0 : off));
      a.ldstImm(b, size === 8 ? a.MemOp.LDR_X : a.MemOp.LDR_W, 6, 5, 0);
      p.result(6, loaded(at, size, 0), `stp ${size} ${mode}`);
    }
  }

  // a literal pool in the code, jumped over by a patched branch
  for (const [op, want] of [[a.LiteralOp.X, dv.getBigUint64(8, true)], [a.LiteralOp.W, BigInt(dv.getUint32(8, true))], [a.LiteralOp.SW, ux(BigInt(dv.getInt32(8, true)), 64)]] as [a.LiteralOp, bigint][]) {
    const skip = a.branch(b);
    const lit = b.pos;
    b.emit32(dv.getUint32(8, true));
    b.emit32(dv.getUint32(12, true));
    expect(a.patchBranch(b, skip, b.pos)).toBe(true);
    const at = a.ldrLiteral(b, op, 2);
    expect(a.patchBranch(b, at, lit)).toBe(true);
    p.result(2, want, `ldr literal ${op}`);
  }

  // every condition, as a taken or fallen-through forward branch
  for (let k = 0; k < 200; k++) {
    const w = k % 2 ? 8 : 4, bits = w * 8;
    const x = randBits(), y = k % 9 === 0 ? x : randBits();
    p.set(0, x);
    p.set(1, y);
    const nzcv = flagsOf(ux(x, bits), ux(y, bits), bits, true);
    a.addSubReg(b, a.AddSub.SUBS, w, 31, 0, 1);
    const c = k % 16;
    a.movz(b, 8, 2, 1);
    const at = a.branchCond(b, c);
    a.movz(b, 8, 2, 0);
    expect(a.patchBranch(b, at, b.pos)).toBe(true);
    p.result(2, holds(c, nzcv) ? 1n : 0n, `b.${c} after cmp w${w} ${x}, ${y}`);
    // cbz/cbnz look at the width's bits only; tbz/tbnz at one bit
    const bit = randInt(64);
    const tests: [(at: number) => number, boolean][] = [
      [() => a.cbz(b, w, 0), ux(x, bits) === 0n], [() => a.cbnz(b, w, 0), ux(x, bits) !== 0n],
      [() => a.tbz(b, 0, bit), ((x >> BigInt(bit)) & 1n) === 0n], [() => a.tbnz(b, 0, bit), ((x >> BigInt(bit)) & 1n) === 1n],
    ];
    tests.forEach(([emit, taken], i) => {
      a.movz(b, 8, 2, 1);
      const t = emit(0);
      a.movz(b, 8, 2, 0);
      expect(a.patchBranch(b, t, b.pos)).toBe(true);
      p.result(2, taken ? 1n : 0n, `test-branch ${i} w${w} bit ${bit} of 0x${ux(x, 64).toString(16)}`);
    });
  }
  p.set(5, 0x100000000n);
  a.movz(b, 8, 2, 1);
  const cbzW = a.cbz(b, 4, 5);
  a.movz(b, 8, 2, 0);
  a.patchBranch(b, cbzW, b.pos);
  p.result(2, 1n, 'cbz w ignores the upper half');

  // a backward loop, a call and return, indirect calls and jumps, adr
  a.movz(b, 8, 2, 0);
  a.movz(b, 8, 3, 10);
  const loop = b.pos;
  a.addSubImm(b, a.AddSub.ADD, 8, 2, 2, 3);
  a.addSubImm(b, a.AddSub.SUBS, 8, 3, 3, 1);
  a.branchCond(b, a.Cond.NE, loop - b.pos);
  p.result(2, 30n, 'backward loop');
  const over = a.branch(b);
  const sub = b.pos;
  a.movz(b, 8, 2, 42);
  a.ret(b);
  a.patchBranch(b, over, b.pos);
  a.movz(b, 8, 2, 0);
  a.branchLink(b, sub - b.pos);
  p.result(2, 42n, 'bl + ret');
  a.movz(b, 8, 2, 0);
  a.adr(b, 3, sub - b.pos);
  a.blr(b, 3);
  p.result(2, 42n, 'adr + blr');
  a.adr(b, 3, 12);
  a.br(b, 3);
  a.movz(b, 8, 2, 99); // skipped
  p.result(2, 42n, 'adr + br skips');
  for (const rel of [0, 1, -1, 0x12345, -0x54321, 2 ** 20 - 1]) {
    a.adr(b, 4, 0);
    a.adr(b, 2, rel);
    a.addSubReg(b, a.AddSub.SUB, 8, 2, 2, 4);
    p.result(2, ux(BigInt(rel + 4), 64), `adr ${rel}`);
  }

  // system: cache maintenance runs at EL0 under Linux; CTR_EL0 is readable
  a.dcCvau(b, RDATA);
  a.dsb(b);
  a.icIvau(b, RDATA);
  a.dsb(b);
  a.isb(b);
  a.dmb(b);
  a.nop(b);
  a.mrs(b, 2, a.SysReg.CTR_EL0);
  p.result(2, (v) => v !== 0n, 'ctr_el0');
  a.movz(b, 8, 2, 0b0101 << 12, 16);
  a.msr(b, a.SysReg.NZCV, 2);
  p.flags(0b0101, 'msr nzcv');
  a.mrs(b, 2, a.SysReg.FPCR);
  p.result(2, 0n, 'fpcr: round to nearest, no traps');
  expect(p.run(table).slice(0, 20)).toEqual([]);
});

/**
 * The arithmetic macros (binary, compare, eqz, unary, convert) run under qemu-aarch64 against
 * V8's WebAssembly as the reference. Each case puts its operands where the value stack says
 * (a register, a constant, or the home slot: every combination over the cases), runs the macro
 * through a real FunctionCompiler, then stores the result (or the trap id its out-of-line trap branch
 * reaches) and two canary registers that the macro must leave alone. The code generator's numeric
 * emitter runs each (emitNumeric: its folding, operand placement and register allocation with the
 * real backend), so constant operands are folded where it folds them. All cases go into one
 * static ELF, whose output the test compares with V8 running the same op on the same bits.
 * NaN results need only be NaNs (x86-64 and ARM64 make different default NaNs), except for
 * abs/neg/copysign/reinterpret, which must keep every bit.
 * Skipped when qemu-aarch64 is not installed.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CodeBuffer, CompileOutput, FunctionCompiler, Loc, FC_BASE, emitNumeric } from '@wagc/frontend';
import { a } from '../src/encode/flat';
import { MemOp } from '../src/encode';
import { FP, GPR_MASK, FPR_MASK, SCRATCH, SCRATCH3, XSCRATCH2, STACK_LIMIT } from '../src/regs';
import { ldstAt } from '../src/move';
import { A64Backend } from '../src/backend';
import { elf, LOAD, CODE_OFF } from './elf';

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;

function findQemu(): string | null {
  for (const p of ['/usr/bin/qemu-aarch64', '/usr/bin/qemu-aarch64-static', '/usr/local/bin/qemu-aarch64']) if (existsSync(p)) return p;
  return null;
}
const QEMU = findQemu();
const maybe = QEMU ? test : test.skip;

// --- values, as 64-bit bit patterns ------------------------------------------------------------

const f32b = (v: number): bigint => { const f = new Float32Array([v]); return BigInt(new Uint32Array(f.buffer)[0]); };
const f64b = (v: number): bigint => { const f = new Float64Array([v]); return new BigUint64Array(f.buffer)[0]; };
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

const I32_VALUES = [0, 1, -1, 2, 3, 7, 31, 32, 33, 63, 64, -2, -32, 0x7fffffff, -0x80000000, 0x12345678, -0x12345679,
  4095, 4096, -4095, -4096, 0xfff000, 0x1000000, 0xff, 0x80, 0x8000, 0x7fff0000, 0x55555555, 10, -10, 100].map((v) => BigInt(v >>> 0));
const I64_VALUES = [0n, 1n, -1n, 2n, 3n, 63n, 64n, 65n, -64n, 0x7fffffffffffffffn, -0x8000000000000000n, 0x123456789abcdef0n,
  -0x123456789abcdef1n, 0xffffffffn, 0x100000000n, 0x80000000n, -0x80000000n, 4095n, 4096n, -4095n, -4096n, 0xfff000n,
  0x5555555555555555n, 10n, -10n, 1000000007n, 0x8000000000000000n >> 1n, 0xffn].map(u64);
const F32_VALUES = [0, -0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 3.7, -3.7, Infinity, -Infinity, 2147483648, -2147483648,
  2147483520, -2147483904, 4294967296, 4294967040, 9223372036854775808, -9223372036854775808, 9223371487098961920,
  -9223373136366403584, 18446744073709551616, 18446742974197923840, 1e10, -1e10, 1.401298464324817e-45, 3.4028234663852886e38,
  -0.99, 0.99].map(f32b).concat([0x7fc00000n, 0x7fa00000n, 0xffc00001n, 0x7f800001n]);
const F64_VALUES = [0, -0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 3.7, -3.7, Infinity, -Infinity, 2147483647.9, 2147483648,
  -2147483648.9, -2147483649, 4294967295.9, 4294967296, -0.999, 9223372036854774784, 9223372036854775808,
  -9223372036854775808, -9223372036854777856, 18446744073709549568, 18446744073709551616, 1e300, -1e300, 5e-324,
  1e-310, 0.1, 123456789.123].map(f64b).concat([0x7ff8000000000000n, 0x7ff4000000000000n, 0xfff8000000000001n]);
const VALUES: Record<number, bigint[]> = { [I32]: I32_VALUES, [I64]: I64_VALUES, [F32]: F32_VALUES, [F64]: F64_VALUES };

// --- the ops ----------------------------------------------------------------------------------

const enum Kind { Binary, Compare, Eqz, Unary, Convert }
/** Compare/eqz ops followed by i32.eqz: the inverted condition (cc ^ 1) of the flags. */
const NOT = 0x1000;
interface Op { kind: Kind; op: number; bytes: number[]; inT: number; outT: number; exactNaN?: boolean }

function ops(): Op[] {
  const out: Op[] = [];
  const add = (kind: Kind, op: number, inT: number, outT: number, exactNaN = false): void => {
    const bytes = op & NOT ? [op & 0xff, 0x45] : op >= FC_BASE ? [0xfc, op - FC_BASE] : [op];
    out.push({ kind, op, bytes, inT, outT, exactNaN });
  };
  for (const not of [0, NOT]) {
    for (let op = 0x46; op <= 0x4f; op++) add(Kind.Compare, op | not, I32, I32);
    for (let op = 0x51; op <= 0x5a; op++) add(Kind.Compare, op | not, I64, I32);
    for (let op = 0x5b; op <= 0x60; op++) add(Kind.Compare, op | not, F32, I32);
    for (let op = 0x61; op <= 0x66; op++) add(Kind.Compare, op | not, F64, I32);
    add(Kind.Eqz, 0x45 | not, I32, I32);
    add(Kind.Eqz, 0x50 | not, I64, I32);
  }
  for (let op = 0x67; op <= 0x69; op++) add(Kind.Unary, op, I32, I32);
  for (let op = 0x6a; op <= 0x78; op++) add(Kind.Binary, op, I32, I32);
  for (let op = 0x79; op <= 0x7b; op++) add(Kind.Unary, op, I64, I64);
  for (let op = 0x7c; op <= 0x8a; op++) add(Kind.Binary, op, I64, I64);
  for (let op = 0x8b; op <= 0x91; op++) add(Kind.Unary, op, F32, F32, op <= 0x8c);
  for (let op = 0x92; op <= 0x98; op++) add(Kind.Binary, op, F32, F32, op === 0x98);
  for (let op = 0x99; op <= 0x9f; op++) add(Kind.Unary, op, F64, F64, op <= 0x9a);
  for (let op = 0xa0; op <= 0xa6; op++) add(Kind.Binary, op, F64, F64, op === 0xa6);
  const CONV: [number, number, number][] = [
    [0xa7, I64, I32], [0xa8, F32, I32], [0xa9, F32, I32], [0xaa, F64, I32], [0xab, F64, I32], [0xac, I32, I64], [0xad, I32, I64],
    [0xae, F32, I64], [0xaf, F32, I64], [0xb0, F64, I64], [0xb1, F64, I64], [0xb2, I32, F32], [0xb3, I32, F32], [0xb4, I64, F32],
    [0xb5, I64, F32], [0xb6, F64, F32], [0xb7, I32, F64], [0xb8, I32, F64], [0xb9, I64, F64], [0xba, I64, F64], [0xbb, F32, F64],
    [0xbc, F32, I32], [0xbd, F64, I64], [0xbe, I32, F32], [0xbf, I64, F64], [0xc0, I32, I32], [0xc1, I32, I32], [0xc2, I64, I64],
    [0xc3, I64, I64], [0xc4, I64, I64],
  ];
  for (const [op, inT, outT] of CONV) add(Kind.Convert, op, inT, outT, op >= 0xbc && op <= 0xbf);
  const SAT_IN = [F32, F32, F64, F64, F32, F32, F64, F64];
  for (let n = 0; n < 8; n++) add(Kind.Convert, FC_BASE + n, SAT_IN[n], n < 4 ? I32 : I64);
  return out;
}

const arity = (o: Op): number => (o.kind === Kind.Binary || o.kind === Kind.Compare ? 2 : 1);

// --- the reference: one wasm function per op, (i64 bits, i64 bits) → i64 bits ---------------

const fromBits = (t: number): number[] => (t === I32 ? [0xa7] : t === F32 ? [0xa7, 0xbe] : t === F64 ? [0xbf] : []);
const toBits = (t: number): number[] => (t === I32 ? [0xad] : t === F32 ? [0xbc, 0xad] : t === F64 ? [0xbd] : []);

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

function referenceModule(list: Op[]): WebAssembly.Instance {
  const n = list.length;
  const type = section(1, [1, 0x60, 2, I64, I64, 1, I64]);
  const funcs = section(3, [...leb(n), ...list.map(() => 0)]);
  const exps: number[] = [...leb(n)];
  const codes: number[] = [...leb(n)];
  list.forEach((o, k) => {
    const name = Array.from(Buffer.from(`f${k}`));
    exps.push(...leb(name.length), ...name, 0, ...leb(k));
    const body = [0, 0x20, 0, ...fromBits(o.inT)];
    if (arity(o) === 2) body.push(0x20, 1, ...fromBits(o.inT));
    body.push(...o.bytes, ...toBits(o.outT), 0x0b);
    codes.push(...leb(body.length), ...body);
  });
  const bytes = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...funcs, ...section(7, exps), ...section(10, codes)]);
  return new WebAssembly.Instance(new WebAssembly.Module(bytes));
}

/** V8's trap messages; it says "float unrepresentable" for NaN and out of range alike. */
function reference(fn: (x: bigint, y: bigint) => bigint, t: number, x: bigint, y: bigint): { value: bigint; trap: number } {
  try {
    return { value: u64(fn(BigInt.asIntN(64, x), BigInt.asIntN(64, y))), trap: 0 };
  } catch (e) {
    const msg = String((e as Error).message);
    if (/divide by zero|remainder by zero/.test(msg)) return { value: 0n, trap: 2 };
    if (/integer overflow|unrepresentable/.test(msg)) return { value: 0n, trap: isNaNBits(t, x) ? 4 : 3 };
    throw e;
  }
}

// --- the program --------------------------------------------------------------------------------

const CANARY_GP = 0x0123456789abcdefn, CANARY_FP = 0x7ff0123456789abcn;
// Location combinations of the operands (the last one also for unary ops)
const LOCS: [Loc, Loc][] = [[Loc.Reg, Loc.Reg], [Loc.Reg, Loc.Const], [Loc.Const, Loc.Reg], [Loc.Mem, Loc.Mem],
  [Loc.Const, Loc.Const], [Loc.Mem, Loc.Const], [Loc.Const, Loc.Mem], [Loc.Reg, Loc.Mem], [Loc.Mem, Loc.Reg]];

const UNARY_LOCS = [0, 3, 4]; // Reg, Mem, Const

interface Case { op: Op; x: bigint; y: bigint; locs: [Loc, Loc] }

function halves(v: bigint): [number, number] {
  return [Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0];
}

/** movz + 3 movk (movConst searches for shorter forms, which costs time over 10^5 cases). */
function movWords(b: CodeBuffer, rd: number, v: bigint): void {
  a.movz(b, 8, rd, Number(v & 0xffffn));
  for (let k = 1; k < 4; k++) a.movk(b, 8, rd, Number((v >> BigInt(16 * k)) & 0xffffn), 16 * k);
}

/** Emits every case; x26 points at the results (4 × 8 bytes per case), x29 at the frame. */
function program(cases: Case[], resultsAt: number, frameAt: number): Uint8Array {
  const out = new CompileOutput();
  const b = out.buf;
  const be = new A64Backend();
  const fc = new FunctionCompiler(be, out);
  fc.frame.reset(new Uint8Array(0), 0, 0);
  const s = fc.stack;
  a.movConst(b, 8, STACK_LIMIT, resultsAt, 0);
  a.movConst(b, 8, FP, frameAt, 0);
  cases.forEach((c, n) => {
    const ool = fc.ool;
    ool.reset();
    // every fourth case has two registers of each class: the macro's allocations spill
    const pressure = n % 4 === 3;
    fc.freeGpr = pressure ? 3 : GPR_MASK;
    fc.freeFpr = pressure ? 3 : FPR_MASK;
    s.height = 0;
    // canaries below the operands: a value the macro must not touch in each register class
    const cg = fc.allocReg(I64);
    movWords(b, cg, CANARY_GP);
    s.push(I64, Loc.Reg, cg, 0, 0);
    const cf = fc.allocReg(F64);
    movWords(b, SCRATCH, CANARY_FP);
    a.fmovToFp(b, 8, cf, SCRATCH);
    s.push(F64, Loc.Reg, cf, 0, 0);
    const t = c.op.inT;
    const vals = [c.x, c.y];
    for (let k = 0; k < arity(c.op); k++) {
      const pos = s.height;
      const [lo, hi] = halves(vals[k]);
      const loc = c.locs[k];
      if (loc === Loc.Const) s.push(t, Loc.Const, 0, lo, t === I32 || t === F32 ? 0 : hi);
      else if (loc === Loc.Reg) {
        const r = fc.allocReg(t);
        if (t === I32) a.movConst(b, 4, r, lo, 0);
        else if (t === I64) movWords(b, r, vals[k]);
        else {
          movWords(b, SCRATCH, vals[k]);
          a.fmovToFp(b, t === F32 ? 4 : 8, r, SCRATCH);
        }
        s.push(t, Loc.Reg, r, 0, 0);
      } else {
        // 32-bit values get garbage in the slot's upper half: only the low 4 bytes are theirs
        movWords(b, SCRATCH, t === I32 || t === F32 ? vals[k] | 0x5eadbeef00000000n : vals[k]);
        ldstAt(b, MemOp.STR_X, SCRATCH, FP, fc.frame.homeOffset(pos));
        s.push(t, Loc.Mem, 0, 0, 0);
      }
    }
    const i = 2;
    s.height = i; // the frontend pops the operands, then calls the backend
    emitNumeric(fc, c.op.op & 0xfff, i); // the opcode row (opcodes.ts)
    s.type[i] = c.op.outT;
    s.height = i + 1;
    if (c.op.op & NOT) emitNumeric(fc, 0x45, i); // i32.eqz
    // result bits into x14
    const ot = c.op.outT;
    if (ot === F32 || ot === F64) {
      fc.copyToReg(i, XSCRATCH2);
      a.fmovFromFp(b, ot === F32 ? 4 : 8, SCRATCH3, XSCRATCH2);
    } else fc.copyToReg(i, SCRATCH3);
    const slot = 32 * n;
    ldstAt(b, MemOp.STR_X, SCRATCH3, STACK_LIMIT, slot);
    ldstAt(b, MemOp.STR_X, 31, STACK_LIMIT, slot + 8);
    // the canaries, wherever they are now (spilled under pressure)
    fc.copyToReg(0, SCRATCH3);
    ldstAt(b, MemOp.STR_X, SCRATCH3, STACK_LIMIT, slot + 16);
    fc.copyToReg(1, XSCRATCH2);
    ldstAt(b, MemOp.STR_D, XSCRATCH2, STACK_LIMIT, slot + 24);
    const done = a.branch(b);
    const exits = [done];
    for (let k = 0; k < ool.trapCount; k++) {
      a.patchBranch(b, ool.traps[5 * k], b.pos);
      a.movz(b, 8, SCRATCH3, ool.traps[5 * k + 1]);
      ldstAt(b, MemOp.STR_X, SCRATCH3, STACK_LIMIT, slot + 8);
      if (pressure) {
        // a spill may come after the trap branch: where the canaries were then is not known here
        movWords(b, SCRATCH3, CANARY_GP);
        ldstAt(b, MemOp.STR_X, SCRATCH3, STACK_LIMIT, slot + 16);
        movWords(b, SCRATCH3, CANARY_FP);
        ldstAt(b, MemOp.STR_X, SCRATCH3, STACK_LIMIT, slot + 24);
      } else {
        ldstAt(b, MemOp.STR_X, cg, STACK_LIMIT, slot + 16);
        ldstAt(b, MemOp.STR_D, cf, STACK_LIMIT, slot + 24);
      }
      exits.push(a.branch(b));
    }
    for (const e of exits) a.patchBranch(b, e, b.pos);
    // the case's literal pool (constants.ts), jumped over
    const over = a.branch(b);
    be.pool.emit(b);
    a.patchBranch(b, over, b.pos);
  });
  // write(1, results, size); exit(0)
  a.movz(b, 8, 0, 1);
  a.movRR(b, 8, 1, STACK_LIMIT);
  a.movConst(b, 8, 2, cases.length * 32, 0);
  a.movz(b, 8, 8, 64);
  a.svc(b);
  a.movz(b, 8, 0, 0);
  a.movz(b, 8, 8, 93);
  a.svc(b);
  return b.bytes.slice(0, b.pos);
}

function isNaNBits(t: number, v: bigint): boolean {
  if (t === F32) return (v & 0x7f800000n) === 0x7f800000n && (v & 0x7fffffn) !== 0n;
  if (t === F64) return (v & 0x7ff0000000000000n) === 0x7ff0000000000000n && (v & 0xfffffffffffffn) !== 0n;
  return false;
}

/** Arithmetic NaN: the quiet bit is set (what every NaN-producing wasm float op gives). */
function isQuiet(t: number, v: bigint): boolean {
  return t === F32 ? (v & 0x400000n) !== 0n : (v & 0x8000000000000n) !== 0n;
}

maybe('macros under qemu-aarch64 agree with V8', () => {
  const list = ops();
  const inst = referenceModule(list);
  const cases: Case[] = [];
  let combo = 0;
  list.forEach((op) => {
    const vals = VALUES[op.inT];
    for (let x = 0; x < vals.length; x++) {
      if (arity(op) === 1) {
        cases.push({ op, x: vals[x], y: 0n, locs: LOCS[UNARY_LOCS[combo++ % 3]] });
        continue;
      }
      for (let y = 0; y < vals.length; y++) cases.push({ op, x: vals[x], y: vals[y], locs: LOCS[combo++ % LOCS.length] });
    }
  });
  // code (~25 instructions a case) at LOAD + CODE_OFF, results and a frame area far above it
  const resultsAt = LOAD + 0x8000000;
  const frameAt = resultsAt + cases.length * 32 + 0x10000;
  const code = program(cases, resultsAt, frameAt);
  expect(CODE_OFF + code.length).toBeLessThan(resultsAt - LOAD);
  const image = elf(code, new Uint8Array(0), frameAt + 0x1000 - LOAD);
  const dir = mkdtempSync(join(tmpdir(), 'wagc-macro-'));
  try {
    const exe = join(dir, 'macro');
    writeFileSync(exe, image, { mode: 0o755 });
    const stdout = execFileSync(QEMU!, [exe], { maxBuffer: 1 << 28 });
    expect(stdout.length).toBe(cases.length * 32);
    const view = new DataView(stdout.buffer, stdout.byteOffset, stdout.length);
    const failures: string[] = [];
    const fns = list.map((_, k) => (inst.exports[`f${k}`] as (x: bigint, y: bigint) => bigint));
    cases.forEach((c, n) => {
      const value = view.getBigUint64(32 * n, true);
      const trap = Number(view.getBigUint64(32 * n + 8, true));
      const cg = view.getBigUint64(32 * n + 16, true);
      const cf = view.getBigUint64(32 * n + 24, true);
      const exp = reference(fns[list.indexOf(c.op)], c.op.inT, c.x, c.y);
      const ot = c.op.outT;
      let ok = trap === exp.trap && cg === CANARY_GP && cf === CANARY_FP;
      if (ok && trap === 0) {
        if (isNaNBits(ot, exp.value) && !c.op.exactNaN) ok = isNaNBits(ot, value) && isQuiet(ot, value);
        else ok = value === exp.value;
      }
      if (!ok && failures.length < 40) {
        failures.push(`op 0x${c.op.op.toString(16)} (${c.x.toString(16)}, ${c.y.toString(16)}) locs ${c.locs}: ` +
          `got ${value.toString(16)} trap ${trap} canaries ${cg === CANARY_GP} ${cf === CANARY_FP}, want ${exp.value.toString(16)} trap ${exp.trap}`);
      }
    });
    expect(failures).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

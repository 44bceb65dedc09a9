/**
 * Every encoder in src/encode against capstone: each case emits one instruction, capstone must
 * decode exactly those bytes (one instruction, full length) to the text computed here from the
 * inputs, and the length must be the shortest encoding the inputs allow (REX only when needed,
 * SIB only for rsp/r12 bases or an index, disp8/disp32/no displacement, imm8 vs imm32).
 */
import { CodeBuffer } from '@wagc/frontend';
import * as x from '../src/encode';
import { decodeSync, initDisassembler } from '../src/disasm';

beforeAll(() => initDisassembler());

// ---------------------------------------------------------------------------------------------
// names and formatting

const R64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', ...R64.slice(8).map((r) => `${r}d`)];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', ...R64.slice(8).map((r) => `${r}w`)];
const R8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', ...R64.slice(8).map((r) => `${r}b`)];
const XMM = Array.from({ length: 16 }, (_, k) => `xmm${k}`);
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const PTR: Record<number, string> = { 1: 'byte ptr', 2: 'word ptr', 4: 'dword ptr', 8: 'qword ptr' };

const REGS = Array.from({ length: 16 }, (_, k) => k);
const WIDTHS = [4, 8];

function reg(w: number, r: number): string {
  return (w === 8 ? R64 : w === 4 ? R32 : w === 2 ? R16 : R8)[r];
}

const fitsI8 = (v: number): boolean => v >= -128 && v <= 127;
const hexAbs = (v: number): string => (v <= 9 ? `${v}` : `0x${v.toString(16)}`);

interface Mem { base: number; index: number; scale: number; disp: number }

/** capstone's Intel syntax for [base + index*scale ± disp]. */
function memText(m: Mem): string {
  let s = R64[m.base];
  if (m.index >= 0) s += ` + ${R64[m.index]}${m.scale > 1 ? `*${m.scale}` : ''}`;
  if (m.disp !== 0) s += m.disp < 0 ? ` - ${hexAbs(-m.disp)}` : ` + ${hexAbs(m.disp)}`;
  return `[${s}]`;
}

/** ModRM + SIB + displacement bytes: the x86 rules, written independently of core.ts. */
function memLen(m: Mem): number {
  const sib = m.index >= 0 || m.base === 4 || m.base === 12 ? 1 : 0;
  const noDisp = m.disp === 0 && m.base !== 5 && m.base !== 13;
  return 1 + sib + (noDisp ? 0 : fitsI8(m.disp) ? 1 : 4);
}

/** 1 if a REX prefix is needed: W, any extended register, or a byte register spl..dil. */
function rexLen(w64: boolean, regs: number[], byteRegs: number[] = []): number {
  return w64 || regs.some((r) => r >= 8) || byteRegs.some((r) => r >= 4) ? 1 : 0;
}
const memRegs = (m: Mem): number[] => (m.index >= 0 ? [m.base, m.index] : [m.base]);

const DISPS = [0, 1, -1, 9, 10, 127, -128, 128, -129, 0x1234, 0x7fffffff, -0x80000000];
const INDEXES = REGS.filter((r) => r !== 4); // rsp can't be an index; r12 can
const SCALES = [1, 2, 4, 8];

/** Every base with every displacement class, then every base × index × scale. */
const MEMS: Mem[] = [];
for (const base of REGS) for (const disp of DISPS) MEMS.push({ base, index: -1, scale: 1, disp });
for (const base of REGS) {
  for (const index of INDEXES) {
    for (const scale of SCALES) {
      for (const disp of [0, -8, 0x100]) MEMS.push({ base, index, scale, disp });
    }
  }
}
/** The awkward ones, for sweeping the other operand over all registers. */
const SMALL_MEMS: Mem[] = [
  { base: 4, index: -1, scale: 1, disp: 0 }, { base: 5, index: -1, scale: 1, disp: 0 },
  { base: 12, index: -1, scale: 1, disp: 8 }, { base: 13, index: -1, scale: 1, disp: 0 },
  { base: 5, index: -1, scale: 1, disp: -0x7fff0000 }, { base: 0, index: 12, scale: 4, disp: 0 },
  { base: 13, index: 13, scale: 8, disp: -1 }, { base: 15, index: 0, scale: 1, disp: 200 },
];

/** (reg, mem) pairs: all of MEMS with the register rotating, plus every register with SMALL_MEMS. */
function regMemPairs(regs: number[] = REGS): [number, Mem][] {
  const out: [number, Mem][] = MEMS.map((m, k) => [regs[k % regs.length], m]);
  for (const r of regs) for (const m of SMALL_MEMS) out.push([r, m]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// checking

interface Case {
  emit: (b: CodeBuffer) => void;
  text: string;
  /** Expected length in bytes (the shortest encoding). */
  len?: number;
  /** Width at which immediates are compared (capstone prints some sign-extended, some not). */
  immBits?: number;
}

const BASE = 0x1000;

/** Immediates outside brackets, rewritten as signed values of `bits` bits. */
function normalize(text: string, bits: number): string {
  const canon = (v: bigint): string => {
    const s = BigInt.asIntN(bits, v);
    return s < 0n ? `-0x${(-s).toString(16)}` : `0x${s.toString(16)}`;
  };
  const parts = text.split(/(\[[^\]]*\])/);
  return parts.map((p) => (p.startsWith('[') ? p : p.replace(/(?<![\w])(-?)(0x[0-9a-f]+|\d+)(?![\w])/g, (_, neg: string, num: string) => {
    const v = BigInt(num);
    return canon(neg ? -v : v);
  }))).join('').trim();
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (v) => v.toString(16).padStart(2, '0')).join(' ');

function check(c: Case): string | null {
  const b = new CodeBuffer(32);
  c.emit(b);
  const bytes = b.finish();
  const insns = decodeSync(bytes, BASE);
  const got = insns.map((i) => `${i.mnemonic} ${i.opStr}`.trim()).join(' ; ');
  if (insns.length !== 1 || insns[0].size !== bytes.length || insns[0].mnemonic === '.byte') {
    return `${c.text}: [${hex(bytes)}] decodes as ${insns.length} instruction(s): ${got}`;
  }
  const bits = c.immBits ?? 64;
  if (normalize(got, bits) !== normalize(c.text, bits)) return `${c.text}: [${hex(bytes)}] decodes as "${got}"`;
  if (c.len !== undefined && bytes.length !== c.len) return `${c.text}: [${hex(bytes)}] is ${bytes.length} bytes, shortest is ${c.len}`;
  return null;
}

const counts: Record<string, number> = {};

/** Runs the cases of one encoder; all failures are reported together. */
function run(name: string, cases: Case[]): void {
  counts[name] = cases.length;
  const failures: string[] = [];
  for (const c of cases) {
    const f = check(c);
    if (f) failures.push(f);
  }
  expect({ failed: failures.length, first: failures.slice(0, 20) }).toEqual({ failed: 0, first: [] });
  expect(cases.length).toBeGreaterThan(0);
}

afterAll(() => {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  // eslint-disable-next-line no-console
  if (process.env.ENCODE_COUNTS) console.log(`encoder cases: ${total}\n${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join('\n')}`);
});

// ---------------------------------------------------------------------------------------------
// coverage: a new encoder needs cases here

/** Exported functions of src/encode and the test that covers each. */
const COVERED = [
  'fitsI8', 'rex', 'modrmReg', 'modrmMem', 'opRR', 'opRM', 'imm8', 'imm32',
  'movRR', 'movRI32', 'movRI64', 'load', 'store', 'storeImm', 'loadExt', 'extRR', 'movzxRR8', 'lea',
  'aluRR', 'aluRI', 'aluRM', 'aluMI', 'testRR', 'testRI', 'imulRR', 'imulRRI', 'mulDiv', 'cdq',
  'shiftCL', 'shiftRI', 'neg', 'not', 'bitCount', 'btRI', 'setcc', 'cmovcc', 'push', 'pop', 'pushM',
  'repMovsb', 'repStosb', 'std', 'cld',
  'ret', 'ud2', 'int3', 'nop', 'callRel32', 'jmpRel32', 'jccRel32', 'jmpRel8', 'jccRel8', 'patchRel32', 'patchRel8',
  'callR', 'callM', 'jmpR', 'jmpM', 'leaRip',
  'fload', 'fstore', 'fmovRR', 'movGX', 'movXG', 'farith', 'ucomis', 'cvtsi2f', 'cvttf2si', 'cvtf2f', 'roundf', 'fbit',
  'opRip', 'aluRip', 'imulRip', 'floadRip', 'farithRip', 'ucomisRip',
];

test('every exported encoder has cases', () => {
  const exported = Object.keys(x).filter((k) => typeof (x as Record<string, unknown>)[k] === 'function').sort();
  expect(exported.filter((k) => !COVERED.includes(k))).toEqual([]);
});

// ---------------------------------------------------------------------------------------------
// core

describe('core', () => {
  test('fitsI8', () => {
    for (const v of [-129, -128, -1, 0, 127, 128, 0x7fffffff, -0x80000000]) expect(x.fitsI8(v)).toBe(fitsI8(v));
  });

  test('opRR / rex / modrmReg', () => {
    const cases: Case[] = [];
    for (const w of WIDTHS) {
      for (const r of REGS) {
        for (const rm of REGS) {
          cases.push({ emit: (b) => x.opRR(b, 0, w === 8, 0x8b, r, rm), text: `mov ${reg(w, r)}, ${reg(w, rm)}`, len: rexLen(w === 8, [r, rm]) + 2 });
        }
      }
    }
    for (const r of REGS) {
      cases.push({ emit: (b) => x.opRR(b, 0, false, 0x88, r, 0, r >= 4), text: `mov al, ${R8[r]}`, len: rexLen(false, [r], [r]) + 2 });
      cases.push({ emit: (b) => x.opRR(b, 0x66, false, 0x89, r, 1), text: `mov cx, ${R16[r]}`, len: 1 + rexLen(false, [r]) + 2 });
    }
    run('opRR', cases);
  });

  test('imm8 / imm32 after opRR (its room covers them)', () => {
    const cases: Case[] = REGS.flatMap((r) => [
      { emit: (b: CodeBuffer) => { x.opRR(b, 0, true, 0x83, 0, r); x.imm8(b, -3); }, text: `add ${R64[r]}, -3`, len: 4 },
      { emit: (b: CodeBuffer) => { x.opRR(b, 0, true, 0x81, 0, r); x.imm32(b, 0x12345678); }, text: `add ${R64[r]}, 0x12345678`, len: 7 },
    ]);
    run('imm', cases);
  });

  test('opRM / modrmMem', () => {
    const cases: Case[] = regMemPairs().map(([r, m]) => ({
      emit: (b: CodeBuffer) => x.opRM(b, 0, true, 0x8b, r, m.base, m.index, m.scale, m.disp),
      text: `mov ${R64[r]}, qword ptr ${memText(m)}`,
      len: 1 + 1 + memLen(m),
    }));
    run('opRM', cases);
  });
});

// ---------------------------------------------------------------------------------------------
// integer

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const IMMS = [0, 1, -1, 9, 127, -128, 128, -129, 0x1234, 0x7fffffff, -0x80000000];
const immLen = (v: number): number => (fitsI8(v) ? 1 : 4);

describe('int', () => {
  test('movRR', () => {
    const cases: Case[] = [];
    for (const w of WIDTHS) for (const d of REGS) for (const s of REGS) {
      cases.push({ emit: (b) => x.movRR(b, w, d, s), text: `mov ${reg(w, d)}, ${reg(w, s)}`, len: rexLen(w === 8, [d, s]) + 2 });
    }
    run('movRR', cases);
  });

  test('movRI32', () => {
    const cases: Case[] = [];
    for (const d of REGS) for (const v of IMMS) {
      cases.push({ emit: (b) => x.movRI32(b, 4, d, v), text: `mov ${R32[d]}, ${v}`, len: rexLen(false, [d]) + 5, immBits: 32 });
      cases.push({ emit: (b) => x.movRI32(b, 8, d, v), text: `mov ${R64[d]}, ${v}`, len: 7, immBits: 64 });
    }
    run('movRI32', cases);
  });

  test('movRI64: shortest of mov r32 / mov r64 imm32 / movabs', () => {
    const values = [0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, -1n, -0x80000000n, -0x80000001n,
      0x123456789abcdef0n, 0x7fffffffffffffffn, -0x8000000000000000n, 0xfedcba9876543210n, 0x80000000ffffffffn];
    const cases: Case[] = [];
    for (const d of REGS) {
      for (const v0 of values) {
        const v = BigInt.asIntN(64, v0);
        const lo = Number(BigInt.asIntN(32, v));
        const hi = Number(BigInt.asIntN(32, v >> 32n));
        const u = BigInt.asUintN(64, v);
        let text: string, len: number;
        if (u <= 0xffffffffn) { text = `mov ${R32[d]}, ${u}`; len = rexLen(false, [d]) + 5; }
        else if (v >= -0x80000000n && v <= 0x7fffffffn) { text = `mov ${R64[d]}, ${v}`; len = 7; }
        else { text = `movabs ${R64[d]}, ${v}`; len = 10; }
        cases.push({ emit: (b) => x.movRI64(b, d, lo, hi), text, len, immBits: u <= 0xffffffffn ? 32 : 64 });
      }
    }
    run('movRI64', cases);
  });

  test('load', () => {
    const cases: Case[] = [];
    for (const w of [1, 2, 4, 8]) {
      for (const [r, m] of regMemPairs()) {
        cases.push({
          emit: (b) => x.load(b, w, r, m.base, m.index, m.scale, m.disp),
          text: `mov ${reg(w, r)}, ${PTR[w]} ${memText(m)}`,
          len: (w === 2 ? 1 : 0) + rexLen(w === 8, [r, ...memRegs(m)], w === 1 ? [r] : []) + 1 + memLen(m),
        });
      }
    }
    run('load', cases);
  });

  test('store', () => {
    const cases: Case[] = [];
    for (const w of [1, 2, 4, 8]) {
      for (const [r, m] of regMemPairs()) {
        cases.push({
          emit: (b) => x.store(b, w, m.base, m.index, m.scale, m.disp, r),
          text: `mov ${PTR[w]} ${memText(m)}, ${reg(w, r)}`,
          len: (w === 2 ? 1 : 0) + rexLen(w === 8, [r, ...memRegs(m)], w === 1 ? [r] : []) + 1 + memLen(m),
        });
      }
    }
    run('store', cases);
  });

  test('storeImm', () => {
    const cases: Case[] = [];
    const immsFor: Record<number, number[]> = { 1: [0, 1, 0x7f, 0x80, 0xff], 2: [0, 1, 0x7fff, 0x8000, 0xffff], 4: IMMS, 8: IMMS };
    for (const w of [1, 2, 4, 8]) {
      MEMS.forEach((m, k) => {
        const imms = immsFor[w];
        const v = imms[k % imms.length];
        cases.push({
          emit: (b) => x.storeImm(b, w, m.base, m.index, m.scale, m.disp, v),
          text: `mov ${PTR[w]} ${memText(m)}, ${v}`,
          len: (w === 2 ? 1 : 0) + rexLen(w === 8, memRegs(m)) + 1 + memLen(m) + Math.min(w, 4),
          immBits: w * 8,
        });
      });
    }
    run('storeImm', cases);
  });

  const EXT: [number, string, number, number, number][] = [
    // kind, mnemonic, dst width, src width, opcode bytes
    [x.ExtKind.U8_32, 'movzx', 4, 1, 2], [x.ExtKind.S8_32, 'movsx', 4, 1, 2],
    [x.ExtKind.U16_32, 'movzx', 4, 2, 2], [x.ExtKind.S16_32, 'movsx', 4, 2, 2],
    [x.ExtKind.S8_64, 'movsx', 8, 1, 2], [x.ExtKind.S16_64, 'movsx', 8, 2, 2],
    [x.ExtKind.S32_64, 'movsxd', 8, 4, 1],
  ];

  test('loadExt', () => {
    const cases: Case[] = [];
    for (const [kind, mn, dw, sw, ol] of EXT) {
      for (const [r, m] of regMemPairs()) {
        cases.push({
          emit: (b) => x.loadExt(b, kind, r, m.base, m.index, m.scale, m.disp),
          text: `${mn} ${reg(dw, r)}, ${PTR[sw]} ${memText(m)}`,
          len: rexLen(dw === 8, [r, ...memRegs(m)]) + ol + memLen(m),
        });
      }
    }
    run('loadExt', cases);
  });

  test('extRR / movzxRR8', () => {
    const cases: Case[] = [];
    for (const [kind, mn, dw, sw, ol] of EXT) {
      for (const d of REGS) for (const s of REGS) {
        cases.push({
          emit: (b) => x.extRR(b, kind, d, s),
          text: `${mn} ${reg(dw, d)}, ${reg(sw, s)}`,
          len: rexLen(dw === 8, [d, s], sw === 1 ? [s] : []) + ol + 1,
        });
      }
    }
    for (const d of REGS) for (const s of REGS) {
      cases.push({ emit: (b) => x.movzxRR8(b, d, s), text: `movzx ${R32[d]}, ${R8[s]}`, len: rexLen(false, [d, s], [s]) + 3 });
    }
    run('extRR', cases);
  });

  test('lea', () => {
    const cases: Case[] = [];
    for (const w of WIDTHS) {
      for (const [r, m] of regMemPairs()) {
        cases.push({ emit: (b) => x.lea(b, w, r, m.base, m.index, m.scale, m.disp), text: `lea ${reg(w, r)}, ${memText(m)}`, len: rexLen(w === 8, [r, ...memRegs(m)]) + 1 + memLen(m) });
      }
    }
    run('lea', cases);
  });

  test('aluRR', () => {
    const cases: Case[] = [];
    for (let op = 0; op < 8; op++) for (const w of WIDTHS) for (const d of REGS) for (const s of REGS) {
      cases.push({ emit: (b) => x.aluRR(b, op, w, d, s), text: `${ALU[op]} ${reg(w, d)}, ${reg(w, s)}`, len: rexLen(w === 8, [d, s]) + 2 });
    }
    run('aluRR', cases);
  });

  test('aluRI', () => {
    const cases: Case[] = [];
    for (let op = 0; op < 8; op++) for (const w of WIDTHS) for (const d of REGS) for (const v of IMMS) {
      cases.push({ emit: (b) => x.aluRI(b, op, w, d, v), text: `${ALU[op]} ${reg(w, d)}, ${v}`, len: rexLen(w === 8, [d]) + 2 + immLen(v), immBits: w * 8 });
    }
    run('aluRI', cases);
  });

  test('aluRM', () => {
    const cases: Case[] = [];
    for (let op = 0; op < 8; op++) for (const w of WIDTHS) {
      regMemPairs().forEach(([r, m], k) => {
        if (k % 4 !== op % 4) return; // every operation sees a quarter of the operands
        cases.push({ emit: (b) => x.aluRM(b, op, w, r, m.base, m.index, m.scale, m.disp), text: `${ALU[op]} ${reg(w, r)}, ${PTR[w]} ${memText(m)}`, len: rexLen(w === 8, [r, ...memRegs(m)]) + 1 + memLen(m) });
      });
    }
    run('aluRM', cases);
  });

  test('aluMI', () => {
    const cases: Case[] = [];
    for (let op = 0; op < 8; op++) for (const w of WIDTHS) {
      MEMS.forEach((m, k) => {
        if (k % 4 !== op % 4) return;
        const v = IMMS[k % IMMS.length];
        cases.push({ emit: (b) => x.aluMI(b, op, w, m.base, m.index, m.scale, m.disp, v), text: `${ALU[op]} ${PTR[w]} ${memText(m)}, ${v}`, len: rexLen(w === 8, memRegs(m)) + 1 + memLen(m) + immLen(v), immBits: w * 8 });
      });
    }
    run('aluMI', cases);
  });

  test('testRR / testRI', () => {
    const cases: Case[] = [];
    for (const w of WIDTHS) for (const a of REGS) {
      for (const c of REGS) cases.push({ emit: (b) => x.testRR(b, w, a, c), text: `test ${reg(w, a)}, ${reg(w, c)}`, len: rexLen(w === 8, [a, c]) + 2 });
      for (const v of IMMS) cases.push({ emit: (b) => x.testRI(b, w, a, v), text: `test ${reg(w, a)}, ${v}`, len: rexLen(w === 8, [a]) + 6, immBits: w * 8 });
    }
    run('test', cases);
  });

  test('imulRR / imulRRI', () => {
    const cases: Case[] = [];
    for (const w of WIDTHS) for (const d of REGS) for (const s of REGS) {
      cases.push({ emit: (b) => x.imulRR(b, w, d, s), text: `imul ${reg(w, d)}, ${reg(w, s)}`, len: rexLen(w === 8, [d, s]) + 3 });
      const v = IMMS[(d * 16 + s) % IMMS.length];
      cases.push({ emit: (b) => x.imulRRI(b, w, d, s, v), text: `imul ${reg(w, d)}, ${reg(w, s)}, ${v}`, len: rexLen(w === 8, [d, s]) + 2 + immLen(v), immBits: w * 8 });
    }
    run('imul', cases);
  });

  test('mulDiv / neg / not / cdq', () => {
    const cases: Case[] = [];
    const MD: [number, string][] = [[x.MulDiv.MUL, 'mul'], [x.MulDiv.IMUL, 'imul'], [x.MulDiv.DIV, 'div'], [x.MulDiv.IDIV, 'idiv']];
    for (const w of WIDTHS) for (const r of REGS) {
      for (const [op, mn] of MD) cases.push({ emit: (b) => x.mulDiv(b, op, w, r), text: `${mn} ${reg(w, r)}`, len: rexLen(w === 8, [r]) + 2 });
      cases.push({ emit: (b) => x.neg(b, w, r), text: `neg ${reg(w, r)}`, len: rexLen(w === 8, [r]) + 2 });
      cases.push({ emit: (b) => x.not(b, w, r), text: `not ${reg(w, r)}`, len: rexLen(w === 8, [r]) + 2 });
    }
    cases.push({ emit: (b) => x.cdq(b, 4), text: 'cdq', len: 1 }, { emit: (b) => x.cdq(b, 8), text: 'cqo', len: 2 });
    run('mulDiv', cases);
  });

  test('shiftCL / shiftRI', () => {
    const SH: [number, string][] = [[x.Shift.ROL, 'rol'], [x.Shift.ROR, 'ror'], [x.Shift.SHL, 'shl'], [x.Shift.SHR, 'shr'], [x.Shift.SAR, 'sar']];
    const cases: Case[] = [];
    for (const [op, mn] of SH) for (const w of WIDTHS) for (const r of REGS) {
      cases.push({ emit: (b) => x.shiftCL(b, op, w, r), text: `${mn} ${reg(w, r)}, cl`, len: rexLen(w === 8, [r]) + 2 });
      for (const n of [1, 2, 7, 8, 31, ...(w === 8 ? [32, 63] : [])]) {
        cases.push({ emit: (b) => x.shiftRI(b, op, w, r, n), text: `${mn} ${reg(w, r)}, ${n}`, len: rexLen(w === 8, [r]) + 3, immBits: 8 });
      }
    }
    run('shift', cases);
  });

  test('bitCount', () => {
    const BC: [number, string, number][] = [[x.BitCount.LZCNT, 'lzcnt', 1], [x.BitCount.TZCNT, 'tzcnt', 1], [x.BitCount.POPCNT, 'popcnt', 1], [x.BitCount.BSR, 'bsr', 0], [x.BitCount.BSF, 'bsf', 0]];
    const cases: Case[] = [];
    for (const [op, mn, pfx] of BC) for (const w of WIDTHS) for (const d of REGS) for (const s of REGS) {
      cases.push({ emit: (b) => x.bitCount(b, op, w, d, s), text: `${mn} ${reg(w, d)}, ${reg(w, s)}`, len: pfx + rexLen(w === 8, [d, s]) + 3 });
    }
    run('bitCount', cases);
  });

  test('btRI', () => {
    const BT: [number, string][] = [[x.Bt.BT, 'bt'], [x.Bt.BTS, 'bts'], [x.Bt.BTR, 'btr'], [x.Bt.BTC, 'btc']];
    const cases: Case[] = [];
    for (const [op, mn] of BT) for (const w of WIDTHS) for (const r of REGS) for (const n of [0, 1, 31, ...(w === 8 ? [32, 63] : [])]) {
      cases.push({ emit: (b) => x.btRI(b, op, w, r, n), text: `${mn} ${reg(w, r)}, ${n}`, len: rexLen(w === 8, [r]) + 4, immBits: 8 });
    }
    run('btRI', cases);
  });

  test('setcc / cmovcc', () => {
    const cases: Case[] = [];
    for (let cc = 0; cc < 16; cc++) for (const r of REGS) {
      cases.push({ emit: (b) => x.setcc(b, cc, r), text: `set${CC[cc]} ${R8[r]}`, len: rexLen(false, [r], [r]) + 3 });
      for (const w of WIDTHS) for (const s of REGS) {
        cases.push({ emit: (b) => x.cmovcc(b, cc, w, r, s), text: `cmov${CC[cc]} ${reg(w, r)}, ${reg(w, s)}`, len: rexLen(w === 8, [r, s]) + 3 });
      }
    }
    run('setcc/cmovcc', cases);
  });

  test('push / pop / pushM', () => {
    const cases: Case[] = [];
    for (const r of REGS) {
      cases.push({ emit: (b) => x.push(b, r), text: `push ${R64[r]}`, len: rexLen(false, [r]) + 1 });
      cases.push({ emit: (b) => x.pop(b, r), text: `pop ${R64[r]}`, len: rexLen(false, [r]) + 1 });
      for (const disp of DISPS) {
        const m = { base: r, index: -1, scale: 1, disp };
        cases.push({ emit: (b) => x.pushM(b, r, disp), text: `push qword ptr ${memText(m)}`, len: rexLen(false, [r]) + 1 + memLen(m) });
      }
    }
    run('push/pop', cases);
  });

  test('string moves and the direction flag', () => {
    run('string', [
      { emit: (b) => x.repMovsb(b), text: 'rep movsb byte ptr [rdi], byte ptr [rsi]', len: 2 },
      { emit: (b) => x.repStosb(b), text: 'rep stosb byte ptr [rdi], al', len: 2 },
      { emit: (b) => x.std(b), text: 'std', len: 1 },
      { emit: (b) => x.cld(b), text: 'cld', len: 1 },
    ]);
  });

  test('modrmReg (re-exported)', () => {
    // 0x89 /r written by hand around it
    const cases: Case[] = REGS.flatMap((r) => REGS.map((rm) => ({
      emit: (b: CodeBuffer) => { x.rex(b, true, r, -1, rm); b.emit8(0x89); x.modrmReg(b, r, rm); },
      text: `mov ${R64[rm]}, ${R64[r]}`, len: 3,
    })));
    run('modrmReg', cases);
  });
});

// ---------------------------------------------------------------------------------------------
// branches

describe('branch', () => {
  test('ret / ud2 / int3 / nop', () => {
    run('simple', [
      { emit: (b) => x.ret(b), text: 'ret', len: 1 }, { emit: (b) => x.ud2(b), text: 'ud2', len: 2 },
      { emit: (b) => x.int3(b), text: 'int3', len: 1 }, { emit: (b) => x.nop(b), text: 'nop', len: 1 },
    ]);
  });

  test('rel32 call/jmp/jcc with patchRel32', () => {
    const targets = [0, 5, 6, -0x1000, 0x12345, 0x7fff0000];
    const cases: Case[] = [];
    for (const t of targets) {
      cases.push({ emit: (b) => x.patchRel32(b, x.callRel32(b), t), text: `call ${BASE + t}`, len: 5 });
      cases.push({ emit: (b) => x.patchRel32(b, x.jmpRel32(b), t), text: `jmp ${BASE + t}`, len: 5 });
      for (let cc = 0; cc < 16; cc++) cases.push({ emit: (b) => x.patchRel32(b, x.jccRel32(b, cc), t), text: `j${CC[cc]} ${BASE + t}`, len: 6 });
    }
    run('rel32', cases);
    // each returns the position of its displacement field
    const b = new CodeBuffer(16);
    x.nop(b);
    expect(x.callRel32(b)).toBe(2);
    expect(x.jmpRel32(b)).toBe(7);
    expect(x.jccRel32(b, 4)).toBe(13);
    expect(x.jmpRel8(b)).toBe(18);
    expect(x.jccRel8(b, 4)).toBe(20);
  });

  test('rel8 jmp/jcc with patchRel8', () => {
    const cases: Case[] = [];
    for (const t of [2, 0, -126, 129, 50]) {
      cases.push({ emit: (b) => x.patchRel8(b, x.jmpRel8(b), t), text: `jmp ${BASE + t}`, len: 2 });
      for (let cc = 0; cc < 16; cc++) cases.push({ emit: (b) => x.patchRel8(b, x.jccRel8(b, cc), t), text: `j${CC[cc]} ${BASE + t}`, len: 2 });
    }
    run('rel8', cases);
    const b = new CodeBuffer(16);
    const at = x.jmpRel8(b);
    expect(() => x.patchRel8(b, at, 130)).toThrow(/rel8 out of range/);
    expect(() => x.patchRel8(b, at, -127)).toThrow(/rel8 out of range/);
  });

  test('callR / jmpR / callM / jmpM', () => {
    const cases: Case[] = [];
    for (const r of REGS) {
      cases.push({ emit: (b) => x.callR(b, r), text: `call ${R64[r]}`, len: rexLen(false, [r]) + 2 });
      cases.push({ emit: (b) => x.jmpR(b, r), text: `jmp ${R64[r]}`, len: rexLen(false, [r]) + 2 });
      for (const disp of DISPS) {
        const m = { base: r, index: -1, scale: 1, disp };
        cases.push({ emit: (b) => x.callM(b, r, disp), text: `call qword ptr ${memText(m)}`, len: rexLen(false, [r]) + 1 + memLen(m) });
      }
    }
    for (const m of MEMS) {
      cases.push({ emit: (b) => x.jmpM(b, m.base, m.index, m.scale, m.disp), text: `jmp qword ptr ${memText(m)}`, len: rexLen(false, memRegs(m)) + 1 + memLen(m) });
    }
    run('call/jmp indirect', cases);
  });

  test('leaRip', () => {
    const cases: Case[] = [];
    for (const r of REGS) for (const d of [0, 16, -16, 0x12345678]) {
      cases.push({
        emit: (b) => { const at = x.leaRip(b, r); b.patch32(at, d); },
        text: `lea ${R64[r]}, [rip${d === 0 ? '' : d < 0 ? ` - ${hexAbs(-d)}` : ` + ${hexAbs(d)}`}]`, len: 7,
      });
    }
    run('leaRip', cases);
  });

  test('rip-relative operands (the constant pool): opRip, aluRip, imulRip', () => {
    const cases: Case[] = [];
    const rip = (d: number): string => `[rip${d === 0 ? '' : d < 0 ? ` - ${hexAbs(-d)}` : ` + ${hexAbs(d)}`}]`;
    for (const r of REGS) for (const d of [0, 16, -16, 0x12345678]) {
      for (const w of WIDTHS) {
        const rx = rexLen(w === 8, [r]);
        ALU.forEach((mn, op) => cases.push({ emit: (b) => { b.patch32(x.aluRip(b, op, w, r), d); }, text: `${mn} ${reg(w, r)}, ${PTR[w]} ${rip(d)}`, len: rx + 6 }));
        cases.push({ emit: (b) => { b.patch32(x.imulRip(b, w, r), d); }, text: `imul ${reg(w, r)}, ${PTR[w]} ${rip(d)}`, len: rx + 7 });
        cases.push({ emit: (b) => { b.patch32(x.opRip(b, 0, w === 8, 0x8b, r), d); }, text: `mov ${reg(w, r)}, ${PTR[w]} ${rip(d)}`, len: rx + 6 });
      }
    }
    run('rip', cases);
  });
});

// ---------------------------------------------------------------------------------------------
// SSE

describe('sse', () => {
  const S = (sz: number): string => (sz === 4 ? 'ss' : 'sd');

  test('fload / fstore', () => {
    const cases: Case[] = [];
    for (const sz of [4, 8]) {
      for (const [r, m] of regMemPairs()) {
        const len = 1 + rexLen(false, [r, ...memRegs(m)]) + 2 + memLen(m);
        cases.push({ emit: (b) => x.fload(b, sz, r, m.base, m.index, m.scale, m.disp), text: `mov${S(sz)} ${XMM[r]}, ${PTR[sz]} ${memText(m)}`, len });
        cases.push({ emit: (b) => x.fstore(b, sz, m.base, m.index, m.scale, m.disp, r), text: `mov${S(sz)} ${PTR[sz]} ${memText(m)}, ${XMM[r]}`, len });
      }
    }
    run('fload/fstore', cases);
  });

  test('register forms', () => {
    const FA: [number, string][] = [[x.FArith.ADD, 'add'], [x.FArith.MUL, 'mul'], [x.FArith.SUB, 'sub'], [x.FArith.MIN, 'min'], [x.FArith.DIV, 'div'], [x.FArith.MAX, 'max'], [x.FArith.SQRT, 'sqrt']];
    const FB: [number, string][] = [[x.FBit.AND, 'andps'], [x.FBit.ANDN, 'andnps'], [x.FBit.OR, 'orps'], [x.FBit.XOR, 'xorps']];
    const cases: Case[] = [];
    for (const d of REGS) for (const s of REGS) {
      const rx = rexLen(false, [d, s]);
      cases.push({ emit: (b) => x.fmovRR(b, d, s), text: `movaps ${XMM[d]}, ${XMM[s]}`, len: rx + 3 });
      for (const [op, mn] of FB) cases.push({ emit: (b) => x.fbit(b, op, d, s), text: `${mn} ${XMM[d]}, ${XMM[s]}`, len: rx + 3 });
      for (const sz of [4, 8]) {
        for (const [op, mn] of FA) cases.push({ emit: (b) => x.farith(b, op, sz, d, s), text: `${mn}${S(sz)} ${XMM[d]}, ${XMM[s]}`, len: 1 + rx + 3 });
        cases.push({ emit: (b) => x.ucomis(b, sz, d, s), text: `ucomis${sz === 4 ? 's' : 'd'} ${XMM[d]}, ${XMM[s]}`, len: (sz === 8 ? 1 : 0) + rx + 3 });
        cases.push({ emit: (b) => x.cvtf2f(b, sz, d, s), text: `${sz === 4 ? 'cvtss2sd' : 'cvtsd2ss'} ${XMM[d]}, ${XMM[s]}`, len: 1 + rx + 3 });
        for (const mode of [0, 1, 2, 3, 8, 9, 10, 11]) {
          if ((d * 16 + s + mode) % 4 !== 0) continue;
          cases.push({ emit: (b) => x.roundf(b, sz, d, s, mode), text: `round${S(sz)} ${XMM[d]}, ${XMM[s]}, ${mode}`, len: 1 + rx + 5, immBits: 8 });
        }
      }
    }
    run('sse reg', cases);
  });

  test('rip-relative forms (the constant pool)', () => {
    const FA: [number, string][] = [[x.FArith.ADD, 'add'], [x.FArith.MUL, 'mul'], [x.FArith.SUB, 'sub'], [x.FArith.DIV, 'div']];
    const cases: Case[] = [];
    for (const r of REGS) for (const sz of [4, 8]) for (const d of [0, 8, -24, 0x123456]) {
      const rx = rexLen(false, [r]);
      const rip = `${PTR[sz]} [rip${d === 0 ? '' : d < 0 ? ` - ${hexAbs(-d)}` : ` + ${hexAbs(d)}`}]`;
      cases.push({ emit: (b) => { b.patch32(x.floadRip(b, sz, r), d); }, text: `mov${S(sz)} ${XMM[r]}, ${rip}`, len: 1 + rx + 7 });
      for (const [op, mn] of FA) cases.push({ emit: (b) => { b.patch32(x.farithRip(b, op, sz, r), d); }, text: `${mn}${S(sz)} ${XMM[r]}, ${rip}`, len: 1 + rx + 7 });
      cases.push({ emit: (b) => { b.patch32(x.ucomisRip(b, sz, r), d); }, text: `ucomis${sz === 4 ? 's' : 'd'} ${XMM[r]}, ${rip}`, len: (sz === 8 ? 1 : 0) + rx + 7 });
    }
    run('sse rip', cases);
  });

  test('moves and conversions between register files', () => {
    const cases: Case[] = [];
    for (const xr of REGS) for (const g of REGS) for (const w of WIDTHS) {
      const rx = rexLen(w === 8, [xr, g]);
      const mv = w === 8 ? 'movq' : 'movd';
      cases.push({ emit: (b) => x.movGX(b, w, xr, g), text: `${mv} ${XMM[xr]}, ${reg(w, g)}`, len: 1 + rx + 3 });
      cases.push({ emit: (b) => x.movXG(b, w, g, xr), text: `${mv} ${reg(w, g)}, ${XMM[xr]}`, len: 1 + rx + 3 });
      for (const sz of [4, 8]) {
        cases.push({ emit: (b) => x.cvtsi2f(b, sz, w, xr, g), text: `cvtsi2${S(sz)} ${XMM[xr]}, ${reg(w, g)}`, len: 1 + rx + 3 });
        cases.push({ emit: (b) => x.cvttf2si(b, sz, w, g, xr), text: `cvtt${S(sz)}2si ${reg(w, g)}, ${XMM[xr]}`, len: 1 + rx + 3 });
      }
    }
    run('sse gpr', cases);
  });
});

// ---------------------------------------------------------------------------------------------
// the disassembler itself

describe('disasm', () => {
  test('chunks restart at instruction boundaries; bad bytes become .byte', () => {
    const b = new CodeBuffer();
    // 100 KiB of 10-byte movabs and 7-byte mov r64, imm32: chunk ends fall inside instructions
    let n = 0;
    while (b.pos < 100 * 1024) {
      if (n % 2) x.movRI64(b, n % 16, 0x12345678, 0x9abcdef0 | 0);
      else x.movRI32(b, 8, n % 16, -n);
      n++;
    }
    b.emit8(0x06); // invalid in 64-bit mode
    x.ret(b);
    const code = b.finish();
    const insns = decodeSync(code, 0x400000);
    expect(insns.length).toBe(n + 2);
    let at = 0x400000;
    for (const i of insns) {
      expect(i.address).toBe(at);
      at += i.size;
    }
    expect(insns[n]).toMatchObject({ mnemonic: '.byte', opStr: '0x06', size: 1 });
    expect(insns[n + 1].mnemonic).toBe('ret');
  });
});

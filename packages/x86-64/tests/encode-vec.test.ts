/**
 * The packed SSE encoders (src/encode/vec.ts) against capstone: every instruction of `V` in each
 * of its forms, every register in each field, memory operands of every addressing shape, the
 * immediate shifts, RIP-relative pool references. Capstone must decode exactly the bytes emitted,
 * as one instruction, to the text computed here; the length must be the shortest (REX only for
 * W or an extended register).
 */
import { CodeBuffer } from '@wagc/frontend';
import * as vec from '../src/encode/vec';
import { V, ShiftExt, VecLevel } from '../src/encode/vec';
import { decodeSync, initDisassembler } from '../src/disasm';

beforeAll(() => initDisassembler());

const R64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', ...R64.slice(8).map((r) => `${r}d`)];
const X = (r: number): string => `xmm${r}`;
const PTR: Record<number, string> = { 1: 'byte ptr', 2: 'word ptr', 4: 'dword ptr', 8: 'qword ptr', 16: 'xmmword ptr' };

/** Every register in each field: (reg, rm) pairs. */
const PAIRS: [number, number][] = [];
for (let r = 0; r < 16; r++) {
  PAIRS.push([r, (r * 7 + 3) % 16]);
  PAIRS.push([(r * 5 + 1) % 16, r]);
}

interface Mem { base: number; index: number; scale: number; disp: number }
const MEMS: Mem[] = [
  { base: 0, index: -1, scale: 1, disp: 0 }, { base: 4, index: -1, scale: 1, disp: 0 }, { base: 5, index: -1, scale: 1, disp: 0 },
  { base: 12, index: -1, scale: 1, disp: 8 }, { base: 13, index: -1, scale: 1, disp: -0x100 }, { base: 15, index: 3, scale: 1, disp: 0x7fffffff },
  { base: 15, index: 12, scale: 1, disp: 16 }, { base: 15, index: -1, scale: 1, disp: 0x12345 }, { base: 5, index: 9, scale: 8, disp: -1 },
];
const hexAbs = (v: number): string => (v <= 9 ? `${v}` : `0x${v.toString(16)}`);
function memText(m: Mem): string {
  let s = R64[m.base];
  if (m.index >= 0) s += ` + ${R64[m.index]}${m.scale > 1 ? `*${m.scale}` : ''}`;
  if (m.disp !== 0) s += m.disp < 0 ? ` - ${hexAbs(-m.disp)}` : ` + ${hexAbs(m.disp)}`;
  return `[${s}]`;
}
const fitsI8 = (v: number): boolean => v >= -128 && v <= 127;
function memLen(m: Mem): number {
  const sib = m.index >= 0 || m.base === 4 || m.base === 12 ? 1 : 0;
  const noDisp = m.disp === 0 && m.base !== 5 && m.base !== 13;
  return 1 + sib + (noDisp ? 0 : fitsI8(m.disp) ? 1 : 4);
}

/** Bytes of prefix, REX, 0F, map byte and opcode. */
function headLen(op: V, regs: number[]): number {
  const prefix = (op >> 16) & 3 ? 1 : 0;
  const rex = (op & 0x40000) !== 0 || regs.some((r) => r >= 8) ? 1 : 0;
  const map = (op >> 8) & 3;
  return prefix + rex + 1 + (map >= 2 ? 1 : 0) + 1;
}

interface Case { emit: (b: CodeBuffer) => void; text: string; len: number }

function check(c: Case): string | null {
  const b = new CodeBuffer(32);
  c.emit(b);
  const bytes = b.finish();
  const insns = decodeSync(bytes, 0x1000);
  const got = insns.map((i) => `${i.mnemonic} ${i.opStr}`.trim()).join(' ; ');
  const hex = Array.from(bytes, (v) => v.toString(16).padStart(2, '0')).join(' ');
  if (insns.length !== 1 || insns[0].size !== bytes.length) return `${c.text}: [${hex}] decodes as ${got}`;
  if (got !== c.text) return `${c.text}: [${hex}] decodes as "${got}"`;
  if (bytes.length !== c.len) return `${c.text}: [${hex}] is ${bytes.length} bytes, shortest is ${c.len}`;
  return null;
}

function run(cases: Case[]): void {
  const failures = cases.map(check).filter((f): f is string => f !== null);
  expect({ failed: failures.length, first: failures.slice(0, 20) }).toEqual({ failed: 0, first: [] });
  expect(cases.length).toBeGreaterThan(0);
}

/** xmm, xmm instructions: mnemonic, and the size of the memory operand of their load form. */
const XX: [V, string, number][] = [
  [V.PADDB, 'paddb', 16], [V.PADDW, 'paddw', 16], [V.PADDD, 'paddd', 16], [V.PADDQ, 'paddq', 16],
  [V.PSUBB, 'psubb', 16], [V.PSUBW, 'psubw', 16], [V.PSUBD, 'psubd', 16], [V.PSUBQ, 'psubq', 16],
  [V.PADDSB, 'paddsb', 16], [V.PADDSW, 'paddsw', 16], [V.PADDUSB, 'paddusb', 16], [V.PADDUSW, 'paddusw', 16],
  [V.PSUBSB, 'psubsb', 16], [V.PSUBSW, 'psubsw', 16], [V.PSUBUSB, 'psubusb', 16], [V.PSUBUSW, 'psubusw', 16],
  [V.PMULLW, 'pmullw', 16], [V.PMULHW, 'pmulhw', 16], [V.PMULHUW, 'pmulhuw', 16], [V.PMULUDQ, 'pmuludq', 16], [V.PMADDWD, 'pmaddwd', 16],
  [V.PMINUB, 'pminub', 16], [V.PMAXUB, 'pmaxub', 16], [V.PMINSW, 'pminsw', 16], [V.PMAXSW, 'pmaxsw', 16], [V.PAVGB, 'pavgb', 16], [V.PAVGW, 'pavgw', 16],
  [V.PCMPEQB, 'pcmpeqb', 16], [V.PCMPEQW, 'pcmpeqw', 16], [V.PCMPEQD, 'pcmpeqd', 16], [V.PCMPGTB, 'pcmpgtb', 16], [V.PCMPGTW, 'pcmpgtw', 16], [V.PCMPGTD, 'pcmpgtd', 16],
  [V.PAND, 'pand', 16], [V.PANDN, 'pandn', 16], [V.POR, 'por', 16], [V.PXOR, 'pxor', 16],
  [V.PACKSSWB, 'packsswb', 16], [V.PACKUSWB, 'packuswb', 16], [V.PACKSSDW, 'packssdw', 16],
  [V.PUNPCKLBW, 'punpcklbw', 16], [V.PUNPCKLWD, 'punpcklwd', 16], [V.PUNPCKLDQ, 'punpckldq', 16], [V.PUNPCKLQDQ, 'punpcklqdq', 16],
  [V.PUNPCKHBW, 'punpckhbw', 16], [V.PUNPCKHWD, 'punpckhwd', 16], [V.PUNPCKHDQ, 'punpckhdq', 16], [V.PUNPCKHQDQ, 'punpckhqdq', 16],
  [V.PSLLW, 'psllw', 16], [V.PSLLD, 'pslld', 16], [V.PSLLQ, 'psllq', 16], [V.PSRLW, 'psrlw', 16], [V.PSRLD, 'psrld', 16], [V.PSRLQ, 'psrlq', 16],
  [V.PSRAW, 'psraw', 16], [V.PSRAD, 'psrad', 16],
  [V.MOVDQU_LOAD, 'movdqu', 16], [V.MOVAPS, 'movaps', 16], [V.MOVQ_LOAD, 'movq', 8],
  [V.MOVSS, 'movss', 4], [V.MOVSD, 'movsd', 8],
  [V.CVTDQ2PS, 'cvtdq2ps', 16], [V.CVTTPS2DQ, 'cvttps2dq', 16], [V.CVTDQ2PD, 'cvtdq2pd', 8], [V.CVTTPD2DQ, 'cvttpd2dq', 16],
  [V.CVTPS2PD, 'cvtps2pd', 8], [V.CVTPD2PS, 'cvtpd2ps', 16],
  [V.ADDPS, 'addps', 16], [V.MULPS, 'mulps', 16], [V.SUBPS, 'subps', 16], [V.MINPS, 'minps', 16], [V.DIVPS, 'divps', 16], [V.MAXPS, 'maxps', 16], [V.SQRTPS, 'sqrtps', 16],
  [V.ADDPD, 'addpd', 16], [V.MULPD, 'mulpd', 16], [V.SUBPD, 'subpd', 16], [V.MINPD, 'minpd', 16], [V.DIVPD, 'divpd', 16], [V.MAXPD, 'maxpd', 16], [V.SQRTPD, 'sqrtpd', 16],
  [V.ANDPS, 'andps', 16], [V.ANDNPS, 'andnps', 16], [V.ORPS, 'orps', 16], [V.XORPS, 'xorps', 16], [V.UNPCKLPS, 'unpcklps', 16],
  [V.MOVSHDUP, 'movshdup', 16], [V.MOVDDUP, 'movddup', 8],
  [V.PSHUFB, 'pshufb', 16], [V.PMADDUBSW, 'pmaddubsw', 16], [V.PMULHRSW, 'pmulhrsw', 16], [V.PABSB, 'pabsb', 16], [V.PABSW, 'pabsw', 16], [V.PABSD, 'pabsd', 16],
  [V.PMOVSXBW, 'pmovsxbw', 8], [V.PMOVSXWD, 'pmovsxwd', 8], [V.PMOVSXDQ, 'pmovsxdq', 8], [V.PMOVZXBW, 'pmovzxbw', 8], [V.PMOVZXWD, 'pmovzxwd', 8], [V.PMOVZXDQ, 'pmovzxdq', 8],
  [V.PMULDQ, 'pmuldq', 16], [V.PCMPEQQ, 'pcmpeqq', 16], [V.PACKUSDW, 'packusdw', 16], [V.PTEST, 'ptest', 16],
  [V.PMINSB, 'pminsb', 16], [V.PMINSD, 'pminsd', 16], [V.PMINUW, 'pminuw', 16], [V.PMINUD, 'pminud', 16],
  [V.PMAXSB, 'pmaxsb', 16], [V.PMAXSD, 'pmaxsd', 16], [V.PMAXUW, 'pmaxuw', 16], [V.PMAXUD, 'pmaxud', 16], [V.PMULLD, 'pmulld', 16],
];
/** Register-only moves between halves (no load form of this meaning). */
const XX_ONLY: [V, string][] = [[V.MOVHLPS, 'movhlps'], [V.MOVLHPS, 'movlhps']];
/** xmm, xmm, imm8. */
const XXI: [V, string, number][] = [
  [V.PSHUFD, 'pshufd', 16], [V.PSHUFLW, 'pshuflw', 16], [V.PSHUFHW, 'pshufhw', 16], [V.SHUFPS, 'shufps', 16], [V.PALIGNR, 'palignr', 16],
  [V.ROUNDPS, 'roundps', 16], [V.ROUNDPD, 'roundpd', 16], [V.PBLENDW, 'pblendw', 16], [V.INSERTPS, 'insertps', 4],
];
/** A general-purpose destination (reg field), xmm source (rm). */
const GX: [V, string, boolean][] = [[V.PMOVMSKB, 'pmovmskb', false], [V.MOVMSKPS, 'movmskps', false], [V.MOVMSKPD, 'movmskpd', false], [V.PEXTRW, 'pextrw', true]];
/** xmm (reg field) from a general-purpose register or memory (rm): 64-bit register for W. */
const XG: [V, string, boolean, number][] = [
  [V.MOVD_TO, 'movd', false, 4], [V.MOVQ_TO, 'movq', false, 8], [V.PINSRW, 'pinsrw', true, 2],
  [V.PINSRB, 'pinsrb', true, 1], [V.PINSRD, 'pinsrd', true, 4], [V.PINSRQ, 'pinsrq', true, 8],
];
/** A general-purpose or memory destination (rm) from xmm (reg field). */
const GXR: [V, string, boolean, number][] = [
  [V.MOVD_FROM, 'movd', false, 4], [V.MOVQ_FROM, 'movq', false, 8],
  [V.PEXTRB, 'pextrb', true, 1], [V.PEXTRD, 'pextrd', true, 4], [V.PEXTRQ, 'pextrq', true, 8],
];
/** Stores: memory destination only. */
const STORES: [V, string, number, boolean][] = [
  [V.MOVDQU_STORE, 'movdqu', 16, false], [V.MOVQ_STORE, 'movq', 8, false], [V.MOVHPS_STORE, 'movhps', 8, false], [V.PEXTRW_M, 'pextrw', 2, true],
];
/** cmpps/cmppd predicates as capstone names them. */
const PRED = ['eq', 'lt', 'le', 'unord', 'neq', 'nlt', 'nle', 'ord'];

describe('packed SSE', () => {
  test('xmm, xmm and xmm, memory', () => {
    const cases: Case[] = [];
    for (const [op, mn, size] of XX) {
      for (const [r, m] of PAIRS) cases.push({ emit: (b) => vec.vop(b, op, r, m), text: `${mn} ${X(r)}, ${X(m)}`, len: headLen(op, [r, m]) + 1 });
      MEMS.forEach((mem, k) => {
        const r = (k * 5) % 16;
        cases.push({
          emit: (b) => vec.vopM(b, op, r, mem.base, mem.index, mem.scale, mem.disp),
          text: `${mn} ${X(r)}, ${PTR[size]} ${memText(mem)}`,
          len: headLen(op, [r, mem.base, ...(mem.index >= 0 ? [mem.index] : [])]) + memLen(mem),
        });
      });
    }
    for (const [op, mn] of XX_ONLY) for (const [r, m] of PAIRS) cases.push({ emit: (b) => vec.vop(b, op, r, m), text: `${mn} ${X(r)}, ${X(m)}`, len: headLen(op, [r, m]) + 1 });
    run(cases);
  });

  test('xmm, xmm, imm8 (and cmpps/cmppd predicates)', () => {
    const cases: Case[] = [];
    for (const [op, mn, size] of XXI) {
      PAIRS.forEach(([r, m], k) => {
        const imm = (k * 37) & 0xff;
        cases.push({ emit: (b) => vec.vopI(b, op, r, m, imm), text: `${mn} ${X(r)}, ${X(m)}, ${hexAbs(imm)}`, len: headLen(op, [r, m]) + 2 });
      });
      const mem = MEMS[5];
      cases.push({
        emit: (b) => vec.vopMI(b, op, 2, mem.base, mem.index, mem.scale, mem.disp, 3),
        text: `${mn} xmm2, ${PTR[size]} ${memText(mem)}, 3`, len: headLen(op, [2, mem.base, mem.index]) + memLen(mem) + 1,
      });
    }
    for (const [op, suffix] of [[V.CMPPS, 'ps'], [V.CMPPD, 'pd']] as [V, string][]) {
      PAIRS.forEach(([r, m], k) => {
        const p = k % 8;
        cases.push({ emit: (b) => vec.vopI(b, op, r, m, p), text: `cmp${PRED[p]}${suffix} ${X(r)}, ${X(m)}`, len: headLen(op, [r, m]) + 2 });
      });
    }
    run(cases);
  });

  test('between xmm and general-purpose registers or memory', () => {
    const cases: Case[] = [];
    for (const [op, mn, imm] of GX) {
      for (const [g, x] of PAIRS) {
        cases.push({ emit: (b) => (imm ? vec.vopI(b, op, g, x, 5) : vec.vop(b, op, g, x)), text: `${mn} ${R32[g]}, ${X(x)}${imm ? ', 5' : ''}`, len: headLen(op, [g, x]) + 1 + (imm ? 1 : 0) });
      }
    }
    for (const [op, mn, imm, size] of XG) {
      const w = (op & 0x40000) !== 0;
      for (const [x, g] of PAIRS) {
        cases.push({ emit: (b) => (imm ? vec.vopI(b, op, x, g, 1) : vec.vop(b, op, x, g)), text: `${mn} ${X(x)}, ${(w ? R64 : R32)[g]}${imm ? ', 1' : ''}`, len: headLen(op, [x, g]) + 1 + (imm ? 1 : 0) });
      }
      for (const mem of MEMS) {
        cases.push({
          emit: (b) => (imm ? vec.vopMI(b, op, 9, mem.base, mem.index, mem.scale, mem.disp, 1) : vec.vopM(b, op, 9, mem.base, mem.index, mem.scale, mem.disp)),
          text: `${mn} xmm9, ${PTR[size]} ${memText(mem)}${imm ? ', 1' : ''}`,
          len: headLen(op, [9, mem.base, ...(mem.index >= 0 ? [mem.index] : [])]) + memLen(mem) + (imm ? 1 : 0),
        });
      }
    }
    for (const [op, mn, imm, size] of GXR) {
      const w = (op & 0x40000) !== 0;
      for (const [x, g] of PAIRS) {
        cases.push({ emit: (b) => (imm ? vec.vopI(b, op, x, g, 1) : vec.vop(b, op, x, g)), text: `${mn} ${(w ? R64 : R32)[g]}, ${X(x)}${imm ? ', 1' : ''}`, len: headLen(op, [x, g]) + 1 + (imm ? 1 : 0) });
      }
      for (const mem of MEMS) {
        cases.push({
          emit: (b) => (imm ? vec.vopMI(b, op, 3, mem.base, mem.index, mem.scale, mem.disp, 1) : vec.vopM(b, op, 3, mem.base, mem.index, mem.scale, mem.disp)),
          text: `${mn} ${PTR[size]} ${memText(mem)}, xmm3${imm ? ', 1' : ''}`,
          len: headLen(op, [3, mem.base, ...(mem.index >= 0 ? [mem.index] : [])]) + memLen(mem) + (imm ? 1 : 0),
        });
      }
    }
    for (const [op, mn, size, imm] of STORES) {
      MEMS.forEach((mem, k) => {
        const r = (k * 3) % 16;
        cases.push({
          emit: (b) => (imm ? vec.vopMI(b, op, r, mem.base, mem.index, mem.scale, mem.disp, 2) : vec.vopM(b, op, r, mem.base, mem.index, mem.scale, mem.disp)),
          text: `${mn} ${PTR[size]} ${memText(mem)}, ${X(r)}${imm ? ', 2' : ''}`,
          len: headLen(op, [r, mem.base, ...(mem.index >= 0 ? [mem.index] : [])]) + memLen(mem) + (imm ? 1 : 0),
        });
      });
    }
    run(cases);
  });

  test('immediate shifts', () => {
    const cases: Case[] = [];
    const ops: [V, string][] = [[V.PSHIFTW_I, 'w'], [V.PSHIFTD_I, 'd'], [V.PSHIFTQ_I, 'q']];
    const exts: [ShiftExt, string][] = [[ShiftExt.SLL, 'psll'], [ShiftExt.SRL, 'psrl'], [ShiftExt.SRA, 'psra']];
    for (const [op, sz] of ops) {
      for (const [ext, mn] of exts) {
        if (sz === 'q' && ext === ShiftExt.SRA) continue; // no psraq before AVX-512
        for (let r = 0; r < 16; r++) {
          const n = (r * 5) % 64;
          cases.push({ emit: (b) => vec.vshiftImm(b, op, ext, r, n), text: `${mn}${sz} ${X(r)}, ${hexAbs(n)}`, len: headLen(op, [r]) + 2 });
        }
      }
    }
    for (let r = 0; r < 16; r++) {
      cases.push({ emit: (b) => vec.vshiftImm(b, V.PSHIFTQ_I, ShiftExt.SRLDQ, r, 8), text: `psrldq ${X(r)}, 8`, len: headLen(V.PSHIFTQ_I, [r]) + 2 });
      cases.push({ emit: (b) => vec.vshiftImm(b, V.PSHIFTQ_I, ShiftExt.SLLDQ, r, 4), text: `pslldq ${X(r)}, 4`, len: headLen(V.PSHIFTQ_I, [r]) + 2 });
    }
    run(cases);
  });

  test('RIP-relative pool references: the displacement counts from the end of the instruction', () => {
    const cases: Case[] = [];
    for (const [op, mn, size] of [[V.MOVAPS, 'movaps', 16], [V.PAND, 'pand', 16], [V.PSHUFB, 'pshufb', 16], [V.MINPD, 'minpd', 16]] as [V, string, number][]) {
      for (let r = 0; r < 16; r++) {
        cases.push({
          emit: (b) => {
            const at = vec.vopRip(b, op, r);
            b.patch32(at, 0x100 - (at + 4));
          },
          text: `${mn} ${X(r)}, ${PTR[size]} [rip + ${hexAbs(0x100 - headLen(op, [r]) - 5)}]`,
          len: headLen(op, [r]) + 5,
        });
      }
    }
    cases.push({
      emit: (b) => {
        const at = vec.vopRip(b, V.CMPPS, 4, 2);
        b.patch32(at, 0x40 - (at + 5));
      },
      text: 'cmpleps xmm4, xmmword ptr [rip + 0x38]', len: 8,
    });
    run(cases);
  });

  test('feature levels', () => {
    expect(vec.vecFeature(V.PADDB)).toBe(VecLevel.SSE2);
    expect(vec.vecFeature(V.MOVMSKPS)).toBe(VecLevel.SSE2);
    expect(vec.vecFeature(V.MOVDDUP)).toBe(VecLevel.SSE3);
    expect(vec.vecFeature(V.PSHUFB)).toBe(VecLevel.SSSE3);
    expect(vec.vecFeature(V.PALIGNR)).toBe(VecLevel.SSSE3);
    expect(vec.vecFeature(V.PABSD)).toBe(VecLevel.SSSE3);
    for (const op of [V.PTEST, V.PMOVSXBW, V.PMULLD, V.PINSRB, V.PEXTRQ, V.ROUNDPS, V.PBLENDW, V.INSERTPS, V.PACKUSDW, V.PMINUD]) {
      expect(vec.vecFeature(op)).toBe(VecLevel.SSE41);
    }
  });

  test('every exported encoder has cases', () => {
    const covered = ['vop', 'vopI', 'vopM', 'vopMI', 'vopRip', 'vop3', 'vop3Rip', 'vshiftImm', 'vecFeature'];
    const exported = Object.keys(vec).filter((k) => typeof (vec as Record<string, unknown>)[k] === 'function').sort();
    expect(exported.filter((k) => !covered.includes(k))).toEqual([]);
    // the tables name distinct instructions (a V added to the enum needs a row here)
    const rows = [...XX, ...XXI, ...GX, ...XG, ...GXR, ...STORES, ...XX_ONLY].map((e) => e[0] as number);
    expect(new Set(rows).size).toBe(rows.length);
  });
});

describe('AVX: VEX three-operand forms (--cpu-features avx)', () => {
  // the binary operations simd.ts emits in VEX form (its simpleOp), with their SSE mnemonics
  const OPS: V[] = [
    V.PADDB, V.PADDW, V.PADDD, V.PADDQ, V.PSUBB, V.PSUBW, V.PSUBD, V.PSUBQ, V.PADDSB, V.PADDSW, V.PADDUSB, V.PADDUSW,
    V.PSUBSB, V.PSUBSW, V.PSUBUSB, V.PSUBUSW, V.PMULLW, V.PMULLD, V.PMINSB, V.PMINSW, V.PMINSD, V.PMINUB, V.PMINUW, V.PMINUD,
    V.PMAXSB, V.PMAXSW, V.PMAXSD, V.PMAXUB, V.PMAXUW, V.PMAXUD, V.PAVGB, V.PAVGW, V.PMADDWD, V.PACKSSWB, V.PACKSSDW,
    V.PACKUSWB, V.PACKUSDW, V.PAND, V.PANDN, V.POR, V.PXOR, V.PCMPEQB, V.PCMPEQW, V.PCMPEQD, V.PCMPEQQ,
    V.ADDPS, V.SUBPS, V.MULPS, V.DIVPS, V.ADDPD, V.SUBPD, V.MULPD, V.DIVPD,
  ];
  const mnemonic = new Map(XX.map(([op, mn]) => [op as number, mn]));
  /** C5 (two bytes) when the map is 0F, W is 0 and rm needs no VEX.B; else C4 (three). */
  const vexLen = (op: V, rm: number): number => ((op >> 8) & 3) === 1 && (op & 0x40000) === 0 && rm < 8 ? 2 : 3;

  test('xmm, xmm, xmm: every register in each of the three fields', () => {
    const cases: Case[] = [];
    for (const op of OPS) {
      const mn = mnemonic.get(op);
      if (!mn) throw new Error(`no mnemonic for ${op.toString(16)}`);
      PAIRS.forEach(([r, m], k) => {
        const s1 = (k * 11 + 5) % 16;
        cases.push({ emit: (b) => vec.vop3(b, op, r, s1, m), text: `v${mn} ${X(r)}, ${X(s1)}, ${X(m)}`, len: vexLen(op, m) + 2 });
      });
    }
    for (const [op, suffix] of [[V.CMPPS, 'ps'], [V.CMPPD, 'pd']] as [V, string][]) {
      PAIRS.forEach(([r, m], k) => {
        cases.push({ emit: (b) => vec.vop3(b, op, r, 15 - r, m, 0), text: `vcmpeq${suffix} ${X(r)}, ${X(15 - r)}, ${X(m)}`, len: vexLen(op, m) + 3 });
        if (k === 0) expect(PRED[0]).toBe('eq');
      });
    }
    run(cases);
  });

  test('RIP-relative second source: the displacement counts from the end of the instruction', () => {
    const cases: Case[] = [];
    for (const op of [V.PADDD, V.PAND, V.PMULLD, V.PACKUSDW, V.DIVPD]) {
      for (let r = 0; r < 16; r++) {
        const s1 = (r * 3 + 7) % 16;
        const len = vexLen(op, 0) + 6;
        cases.push({
          emit: (b) => {
            const at = vec.vop3Rip(b, op, r, s1);
            b.patch32(at, 0x100 - (at + 4));
          },
          text: `v${mnemonic.get(op)} ${X(r)}, ${X(s1)}, xmmword ptr [rip + ${hexAbs(0x100 - len)}]`, len,
        });
      }
    }
    cases.push({
      emit: (b) => {
        const at = vec.vop3Rip(b, V.CMPPS, 9, 3, 0);
        b.patch32(at, 0x40 - (at + 5));
      },
      text: 'vcmpeqps xmm9, xmm3, xmmword ptr [rip + 0x37]', len: 9,
    });
    run(cases);
  });
});

/**
 * Floating point, system instructions and the disassembler itself against capstone; see
 * encode.test.ts. UDF, which capstone 5 cannot decode, is checked with GNU objdump when
 * aarch64-linux-gnu-objdump is installed.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CodeBuffer } from '@wagc/frontend';
import * as a from '../src/encode';
import { decodeSync, disassemble } from '../src/disasm';
import {
  REGS, WIDTHS, COND, zr, X, F, imm, randInt, type Case, run, useCapstone, triples, pairs,
} from './capstone';

useCapstone();

// ---------------------------------------------------------------------------------------------
// floating point

describe('float', () => {
  const SZ = [4, 8];

  test('farith / funary / fcvt / fcmp / fcmpZero / fcsel', () => {
    const FA: [a.FArith, string][] = [
      [a.FArith.FMUL, 'fmul'], [a.FArith.FDIV, 'fdiv'], [a.FArith.FADD, 'fadd'], [a.FArith.FSUB, 'fsub'], [a.FArith.FMAX, 'fmax'],
      [a.FArith.FMIN, 'fmin'], [a.FArith.FMAXNM, 'fmaxnm'], [a.FArith.FMINNM, 'fminnm'], [a.FArith.FNMUL, 'fnmul'],
    ];
    const FU: [a.FUnary, string][] = [
      [a.FUnary.FMOV, 'fmov'], [a.FUnary.FABS, 'fabs'], [a.FUnary.FNEG, 'fneg'], [a.FUnary.FSQRT, 'fsqrt'],
      [a.FUnary.FRINTN, 'frintn'], [a.FUnary.FRINTP, 'frintp'], [a.FUnary.FRINTM, 'frintm'], [a.FUnary.FRINTZ, 'frintz'],
      [a.FUnary.FRINTA, 'frinta'], [a.FUnary.FRINTX, 'frintx'], [a.FUnary.FRINTI, 'frinti'],
    ];
    const cases: Case[] = [];
    for (const sz of SZ) {
      triples().forEach(([d, n, m], k) => {
        for (const [op, mn] of FA) cases.push({ emit: (b) => a.farith(b, op, sz, d, n, m), text: `${mn} ${F(sz, d)}, ${F(sz, n)}, ${F(sz, m)}` });
        const c = k % 16;
        cases.push({ emit: (b) => a.fcsel(b, sz, d, n, m, c), text: `fcsel ${F(sz, d)}, ${F(sz, n)}, ${F(sz, m)}, ${COND[c]}` });
      });
      for (const [d, n] of pairs()) {
        for (const [op, mn] of FU) cases.push({ emit: (b) => a.funary(b, op, sz, d, n), text: `${mn} ${F(sz, d)}, ${F(sz, n)}` });
        cases.push({ emit: (b) => a.fcvt(b, sz, d, n), text: `fcvt ${F(12 - sz, d)}, ${F(sz, n)}` });
        cases.push({ emit: (b) => a.fcmp(b, sz, d, n), text: `fcmp ${F(sz, d)}, ${F(sz, n)}` });
      }
      for (const r of REGS) cases.push({ emit: (b) => a.fcmpZero(b, sz, r), text: `fcmp ${F(sz, r)}, #0.0` });
    }
    run('float', cases);
  });

  test('fconvInt / fmovToFp / fmovFromFp', () => {
    const FC: [a.FConv, string, boolean][] = [[a.FConv.SCVTF, 'scvtf', true], [a.FConv.UCVTF, 'ucvtf', true], [a.FConv.FCVTZS, 'fcvtzs', false], [a.FConv.FCVTZU, 'fcvtzu', false]];
    const cases: Case[] = [];
    for (const [d, n] of pairs()) {
      for (const w of WIDTHS) {
        for (const sz of SZ) {
          for (const [op, mn, toFloat] of FC) {
            cases.push({ emit: (b) => a.fconvInt(b, op, sz, w, d, n), text: toFloat ? `${mn} ${F(sz, d)}, ${zr(w, n)}` : `${mn} ${zr(w, d)}, ${F(sz, n)}` });
          }
        }
        cases.push({ emit: (b) => a.fmovToFp(b, w, d, n), text: `fmov ${F(w, d)}, ${zr(w, n)}` });
        cases.push({ emit: (b) => a.fmovFromFp(b, w, d, n), text: `fmov ${zr(w, d)}, ${F(w, n)}` });
      }
    }
    run('fconv', cases);
  });

});

// ---------------------------------------------------------------------------------------------
// system

const OBJDUMP = ['/usr/bin/aarch64-linux-gnu-objdump'].find((p) => existsSync(p));

/** GNU objdump's text for raw code, one entry per word: "mnemonic operands" (comments dropped). */
function objdump(code: Uint8Array): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'arm64-objdump-'));
  try {
    const file = join(dir, 'code.bin');
    writeFileSync(file, code);
    const out = execFileSync(OBJDUMP!, ['-D', '-b', 'binary', '-m', 'aarch64', file], { encoding: 'utf8' });
    return out.split('\n').filter((l) => /^\s+[0-9a-f]+:\t/.test(l)).map((l) => l.split('\t').slice(2).join(' ').replace(/\s*\/\/.*$/, '').replace(/\s+/g, ' ').trim());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

(OBJDUMP ? test : test.skip)('udf, which capstone does not know, by GNU objdump', () => {
  const values = [0, 1, 7, 0x1234, 0xffff, randInt(0x10000)];
  const b = new CodeBuffer(64);
  for (const v of values) a.udf(b, v);
  expect(objdump(b.finish())).toEqual(values.map((v) => `udf #${v}`));
});

describe('system', () => {
  test('mrs / msr / brk / svc / nop / dmb / dsb / isb / dc / ic', () => {
    const SYS: [a.SysReg, string, boolean][] = [
      [a.SysReg.NZCV, 'nzcv', true], [a.SysReg.FPCR, 'fpcr', true], [a.SysReg.FPSR, 'fpsr', true],
      [a.SysReg.CTR_EL0, 'ctr_el0', false], [a.SysReg.TPIDR_EL0, 'tpidr_el0', true], [a.SysReg.CNTVCT_EL0, 'cntvct_el0', false],
    ];
    const BARRIERS: [a.Barrier, string][] = [
      [a.Barrier.OSHLD, 'oshld'], [a.Barrier.OSHST, 'oshst'], [a.Barrier.OSH, 'osh'], [a.Barrier.NSHLD, 'nshld'],
      [a.Barrier.NSHST, 'nshst'], [a.Barrier.NSH, 'nsh'], [a.Barrier.ISHLD, 'ishld'], [a.Barrier.ISHST, 'ishst'],
      [a.Barrier.ISH, 'ish'], [a.Barrier.LD, 'ld'], [a.Barrier.ST, 'st'], [a.Barrier.SY, 'sy'],
    ];
    const cases: Case[] = [];
    for (const r of REGS) {
      for (const [reg, name, writable] of SYS) {
        cases.push({ emit: (b) => a.mrs(b, r, reg), text: `mrs ${X(r)}, ${name}` });
        if (writable) cases.push({ emit: (b) => a.msr(b, reg, r), text: `msr ${name}, ${X(r)}` });
      }
      cases.push({ emit: (b) => a.dcCvau(b, r), text: `dc cvau, ${X(r)}` });
      cases.push({ emit: (b) => a.dcCivac(b, r), text: `dc civac, ${X(r)}` });
      cases.push({ emit: (b) => a.icIvau(b, r), text: `ic ivau, ${X(r)}` });
    }
    for (const v of [0, 1, 9, 10, 0x1234, 0xffff, randInt(0x10000)]) {
      cases.push({ emit: (b) => a.brk(b, v), text: `brk ${imm(v)}` });
      cases.push({ emit: (b) => a.svc(b, v), text: `svc ${imm(v)}` });
      // capstone 5 does not know UDF: the word must be the bare immediate, shown as .word
      cases.push({ emit: (b) => a.udf(b, v), text: `.word 0x${v.toString(16).padStart(8, '0')}` });
    }
    for (const [opt, name] of BARRIERS) {
      cases.push({ emit: (b) => a.dmb(b, opt), text: `dmb ${name}` });
      cases.push({ emit: (b) => a.dsb(b, opt), text: `dsb ${name}` });
    }
    cases.push({ emit: (b) => a.dmb(b), text: 'dmb ish' }, { emit: (b) => a.dsb(b), text: 'dsb ish' });
    cases.push({ emit: (b) => a.brk(b), text: 'brk #0' }, { emit: (b) => a.svc(b), text: 'svc #0' }, { emit: (b) => a.udf(b), text: '.word 0x00000000' });
    cases.push({ emit: (b) => a.nop(b), text: 'nop' }, { emit: (b) => a.isb(b), text: 'isb' });
    run('system', cases);
    expect(() => a.brk(new CodeBuffer(4), 0x10000)).toThrow(/out of range/);
    expect(() => a.udf(new CodeBuffer(4), -1)).toThrow(/out of range/);
  });
});

// ---------------------------------------------------------------------------------------------
// the disassembler itself

describe('disasm', () => {
  test('chunks over 64 KiB, bad words become .word, a trailing partial word .byte', async () => {
    const b = new CodeBuffer();
    let n = 0;
    while (b.pos < 100 * 1024) {
      a.addSubImm(b, a.AddSub.ADD, 8, n % 31, (n + 1) % 31, n % 4096);
      n++;
    }
    a.udf(b, 7);
    a.ret(b);
    b.emit8(0xaa);
    const code = b.finish();
    const insns = decodeSync(code, 0x400000);
    expect(insns.length).toBe(n + 3);
    insns.forEach((insn, k) => expect(insn.address).toBe(0x400000 + 4 * k));
    expect(insns[n - 1]).toMatchObject({ mnemonic: 'add', opStr: `x${(n - 1) % 31}, x${n % 31}, ${imm((n - 1) % 4096)}` });
    expect(insns[n]).toMatchObject({ mnemonic: '.word', opStr: '0x00000007', size: 4 });
    expect(insns[n + 1]).toMatchObject({ mnemonic: 'ret', size: 4 });
    expect(insns[n + 2]).toMatchObject({ mnemonic: '.byte', opStr: '0xaa', size: 1 });
    const lines = await disassemble(code.subarray(code.length - 9), { address: 0x1000 });
    expect(lines).toEqual(['001000  00000007  .word 0x00000007', '001004  d65f03c0  ret', '001008  aa        .byte 0xaa']);
    expect(await disassemble(code.subarray(0, 4), { bytes: false })).toEqual(['000000  add x0, x1, #0']);
  });
});

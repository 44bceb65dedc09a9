/**
 * Golden disassembly, per ISA from the same sources: each tests/golden/NAME.wat is compiled for
 * x86-64 and for arm64, and every function it defines is disassembled into ARCH/NAME.expected.
 * Addresses are relative to the function; branch and call targets outside it are shown as the
 * function or stub they reach, x86-64's br_table jump tables as data. `UPDATE_GOLDEN=1 npx jest
 * tests/golden` rewrites the .expected files (review them in the diff).
 * A line `;; cpu-features: a,b` in the .wat compiles it with those x86-64 CPU features (wagc
 * --cpu-features), and for x86-64 only; the listing then starts with the features the image records.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { CodeBuffer, CPU_FEATURE, TRAP_MESSAGES, type CpuFeatureName, type StubEmitter } from '@wagc/frontend';
import { linkProgram } from '@wagc/linker';
import { x64Stubs } from '../../packages/x86-64/src/backend';
import * as x64Disasm from '../../packages/x86-64/src/disasm';
import { a64Stubs } from '../../packages/arm64/src/backend';
import * as a64Disasm from '../../packages/arm64/src/disasm';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');

type Arch = 'x86-64' | 'arm64';
interface Insn { address: number; size: number; bytes: Uint8Array; mnemonic: string; opStr: string }
/** `target`: a branch's operands, with the target address last (group 2) after the rest (group 1). */
interface IsaInfo { stubs: StubEmitter; decode(code: Uint8Array, address: number): Insn[]; init(): Promise<void>; branch: RegExp; target: RegExp; constantRef(insn: Insn): number | null }

const ISAS: Record<Arch, IsaInfo> = {
  'x86-64': { stubs: x64Stubs, decode: x64Disasm.decodeSync, init: x64Disasm.initDisassembler, branch: /^(call|jmp|j[a-z]+|loop[a-z]*)$/, target: /^()(0x[0-9a-f]+|\d+)$/, constantRef: x64Disasm.constantRef },
  arm64: { stubs: a64Stubs, decode: a64Disasm.decodeSync, init: a64Disasm.initDisassembler, branch: /^(b|bl|b\.[a-z]+|cbn?z|tbn?z|adr)$/, target: /^(.*?)#(0x[0-9a-f]+|\d+)$/, constantRef: a64Disasm.constantRef },
};

const DIR = __dirname;
const UPDATE = !!process.env.UPDATE_GOLDEN;

async function wat(name: string, text: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat(name, text, { multi_value: true, sat_float_to_int: true, sign_extension: true, simd: true });
  try {
    return mod.toBinary({ write_debug_names: true }).buffer;
  } finally {
    mod.destroy();
  }
}

const hex = (v: number): string => (v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`);
const bytesText = (b: Uint8Array): string => Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');
const line = (off: number, bytes: Uint8Array, text: string): string => `  ${off.toString(16).padStart(4, '0')}  ${bytesText(bytes).padEnd(30)} ${text}`.trimEnd();

/**
 * Where the function's 16-byte constant pool starts (after the code: x86-64 reads it rip-relative,
 * arm64 by ldr (literal)), or `end` without one.
 */
function poolStart(isa: IsaInfo, text: Uint8Array, start: number, end: number): number {
  let pool = end;
  for (const insn of isa.decode(text.subarray(start, end), start)) {
    const rip = ripTarget(insn);
    // 16-byte reads (the scalar constants before the pool are 8 bytes: shown as `.quad`s)
    const target = rip !== null && insn.mnemonic !== 'lea' ? (/xmmword/.test(insn.opStr) ? rip : null) : literalTarget(insn);
    if (target !== null && target > insn.address && target < end && (target - start) % 16 === 0) pool = Math.min(pool, target);
  }
  return pool;
}

function literalTarget(insn: Insn): number | null {
  const m = insn.mnemonic === 'ldr' ? /^q\d+, #(0x[0-9a-f]+|\d+)$/.exec(insn.opStr) : null;
  return m ? Number(m[1]) : null;
}

/**
 * Disassembles [start, fullEnd) of `text`; `symbol` names addresses outside the function. The
 * function's constants (read rip-relative, or by an arm64 `ldr` literal) end its code: the scalar
 * ones are shown as `.quad`s, the 16-byte pool as `.constant` lines.
 */
function disassembleFunction(isa: IsaInfo, text: Uint8Array, start: number, fullEnd: number, symbol: (addr: number) => string): string[] {
  const out: string[] = [];
  // the constant pool is data: shown as 16-byte lines after the code
  const end = poolStart(isa, text, start, fullEnd);
  out.push(...disassembleCode(isa, text, start, end, fullEnd, symbol));
  for (let at = end; at < fullEnd; at += 16) out.push(line(at - start, text.subarray(at, Math.min(at + 16, fullEnd)), '.constant'));
  return out;
}

function disassembleCode(isa: IsaInfo, text: Uint8Array, start: number, end: number, fullEnd: number, symbol: (addr: number) => string): string[] {
  const out: string[] = [];
  const where = (addr: number): string => (addr >= start && addr < fullEnd ? `${hex(addr - start)}` : symbol(addr));
  const code = text.subarray(0, end);
  let codeEnd = end;
  let pos = start;
  while (pos < codeEnd) {
    // x86-64: a rip-relative lea into this function's code points at br_table's jump table: the
    // code runs up to it
    let table = -1;
    for (const insn of isa.decode(code.subarray(pos, codeEnd), pos)) {
      if (insn.address >= codeEnd) break;
      const c = isa.constantRef(insn);
      if (c !== null && c > insn.address && c < codeEnd) codeEnd = c;
      const rip = ripTarget(insn);
      if (insn.mnemonic === 'lea' && rip !== null && rip > insn.address && rip < codeEnd) {
        table = rip;
        break;
      }
    }
    const stop = table < 0 ? codeEnd : table;
    for (const insn of isa.decode(code.subarray(pos, stop), pos)) out.push(line(insn.address - start, insn.bytes, describeInsn(isa, insn, where)));
    pos = stop;
    if (table < 0) break;
    // rel32 entries, each relative to its own end; forward targets bound the table
    let limit = codeEnd;
    while (pos + 4 <= limit) {
      const rel = new DataView(text.buffer, text.byteOffset + pos, 4).getInt32(0, true);
      const target = pos + 4 + rel;
      if (target < start || target >= end) break;
      if (target >= table) limit = Math.min(limit, target);
      out.push(line(pos - start, text.subarray(pos, pos + 4), `.long ${hex(rel)}  ; -> ${where(target)}`));
      pos += 4;
    }
  }
  for (let at = codeEnd; at < end; at += 8) {
    const bytes = text.subarray(at, Math.min(at + 8, end));
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    out.push(line(at - start, bytes, bytes.length === 8 ? `.quad 0x${v.getBigUint64(0, true).toString(16)}` : '.byte'));
  }
  return out;
}

/** A trap map's pairs (code offset in the function, wasm offset): LEB128 deltas, unsigned then signed. */
function trapMap(bytes: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let p = 0, code = 0, wasm = 0;
  const leb = (signed: boolean): number | null => {
    let v = 0, shift = 0;
    while (p < bytes.length) {
      const b = bytes[p++];
      v |= (b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) return signed && b & 0x40 && shift < 32 ? v | (-1 << shift) : v;
    }
    return null;
  };
  for (;;) {
    const d = leb(false), w = leb(true);
    if (d === null || w === null) break;
    code += d;
    wasm += w;
    out.push([code, wasm]);
  }
  return out;
}

function ripTarget(insn: Insn): number | null {
  const m = /\[rip(?: ([+-]) (0x[0-9a-f]+|\d+))?\]/.exec(insn.opStr);
  if (!m) return null;
  const d = m[2] ? Number(m[2]) : 0;
  return insn.address + insn.size + (m[1] === '-' ? -d : d);
}

/** A branch's target (x86-64: the operand; arm64: the last operand, `#0x…`) named where it goes. */
function describeInsn(isa: IsaInfo, insn: Insn, where: (addr: number) => string): string {
  let ops = insn.opStr;
  if (isa.branch.test(insn.mnemonic)) {
    const m = isa.target.exec(ops);
    if (m) ops = `${m[1]}${where(Number(m[2]))}`;
  } else {
    const rip = ripTarget(insn);
    if (rip !== null) ops += `  ; ${where(rip)}`;
    else {
      // an arm64 ldr (literal): the constant's place
      const c = isa.constantRef(insn) ?? literalTarget(insn);
      if (c !== null) ops = ops.replace(/#(0x[0-9a-f]+|\d+)$/, where(c));
    }
  }
  return ops ? `${insn.mnemonic} ${ops}` : insn.mnemonic;
}

async function golden(arch: Arch, file: string): Promise<string> {
  const isa = ISAS[arch];
  const source = readFileSync(join(DIR, file), 'utf8');
  const wanted = /^;; cpu-features: (.*)$/m.exec(source);
  let cpuFeatures = 0;
  for (const name of wanted ? wanted[1].split(',').map((s) => s.trim()) : []) cpuFeatures |= CPU_FEATURE[name as CpuFeatureName];
  const image = linkProgram({ modules: [{ name: 'main', bytes: await wat(file, source) }], arch, unresolved: 'trap', cpuFeatures });
  const text = image.text;
  // the stubs come first in the text, exactly as a fresh buffer gets them
  const stubs = isa.stubs.emitStubs(new CodeBuffer());
  const names = new Map<number, string>();
  names.set(stubs.entry, '<entry stub>');
  names.set(stubs.check, '<check stub>');
  names.set(stubs.grow, '<grow stub>');
  names.set(stubs.table, '<table stub>');
  stubs.traps.forEach((at, id) => { if (id > 0) names.set(at, `<trap: ${TRAP_MESSAGES[id]}>`); });
  for (const f of image.functions) if (f.codeEnd > f.codeStart && !names.has(f.codeStart)) names.set(f.codeStart, `<${f.name}>`);
  // the function table starts the read-only data, at the 64 KiB boundary after the code
  names.set(Math.ceil(text.length / 65536) * 65536, '<function table>');
  const symbol = (addr: number): string => names.get(addr) ?? `<text+${hex(addr)}>`;

  const out = [`;; ${file}: ${arch} code of each defined function (regenerate: UPDATE_GOLDEN=1 npx jest tests/golden)`];
  if (wanted) {
    const used = Object.entries(CPU_FEATURE).filter(([, bit]) => (image.cpuFeatures ?? 0) & bit).map(([n]) => n);
    out.push(`;; image cpu_features: ${used.join(', ') || 'none'}`);
  }
  for (const f of image.functions) {
    if (f.codeEnd <= f.codeStart || f.name.startsWith('gate.') || f.name.startsWith('<')) continue;
    out.push('', `${f.name}:  ;; ${f.codeEnd - f.codeStart} bytes, frame ${f.frameSize}, ${f.paramCount} param(s)`);
    // the trap map ends the function (docs/ARCHITECTURE.md, "Trap maps"): its pairs, decoded
    let q = f.codeEnd, mapLen = 0;
    for (let shift = 0; ; shift += 7) {
      const b = text[--q];
      mapLen |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    const mapStart = q - mapLen;
    out.push(...disassembleFunction(isa, text, f.codeStart, mapStart, symbol));
    const pairs = trapMap(text.subarray(mapStart, q)).map(([c, w]) => `${hex(c)}→${hex(f.wasmOffset + w)}`);
    out.push(`  ${hex(mapStart - f.codeStart)}: ;; trap map, ${mapLen} + ${f.codeEnd - q} bytes: ${pairs.join(' ')}`);
  }
  return out.join('\n') + '\n';
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.wat')).sort();
/** x86-64 CPU feature variants have no arm64 listing. */
const isaFiles = (arch: Arch): string[] => files.filter((f) => arch === 'x86-64' || !/^;; cpu-features:/m.test(readFileSync(join(DIR, f), 'utf8')));

beforeAll(async () => {
  await ISAS['x86-64'].init();
  await ISAS.arm64.init();
});

test('there are golden files', () => {
  expect(files.length).toBeGreaterThanOrEqual(4);
});

for (const arch of ['x86-64', 'arm64'] as Arch[]) describe(arch, () => {
  test.each(isaFiles(arch))('%s', async (file) => {
    const actual = await golden(arch, file);
    const expectedPath = join(DIR, arch, file.replace(/\.wat$/, '.expected'));
    if (UPDATE) {
      writeFileSync(expectedPath, actual);
      return;
    }
    if (!existsSync(expectedPath)) throw new Error(`${expectedPath} is missing: run UPDATE_GOLDEN=1 npx jest tests/golden`);
    expect(actual).toBe(readFileSync(expectedPath, 'utf8'));
  });
});

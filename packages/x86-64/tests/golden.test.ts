/**
 * Golden disassembly: each tests/golden/NAME.wat is compiled by the x86-64 backend and every
 * function it defines is disassembled into NAME.expected. Addresses are relative to the function;
 * branch and call targets outside it are shown as the function or stub they reach, jump tables as
 * data. `UPDATE_GOLDEN=1 npx jest packages/x86-64/tests/golden` rewrites the .expected files.
 * A line `;; cpu-features: a,b` in the .wat compiles it with those CPU features (wagc
 * --cpu-features); the listing then starts with the features the image records.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { CodeBuffer, CPU_FEATURE, TRAP_MESSAGES, type CpuFeatureName } from '@wagc/frontend';
import { linkProgram } from '@wagc/linker';
import { x64Stubs } from '../src/backend';
import { decodeSync, initDisassembler, type DisasmInsn } from '../src/disasm';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');

const DIR = join(__dirname, 'golden');
const UPDATE = !!process.env.UPDATE_GOLDEN;

async function wat(name: string, text: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat(name, text, { multi_value: true, sat_float_to_int: true, sign_extension: true });
  try {
    return mod.toBinary({ write_debug_names: true }).buffer;
  } finally {
    mod.destroy();
  }
}

const hex = (v: number): string => (v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`);
const bytesText = (b: Uint8Array): string => Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');
const line = (off: number, bytes: Uint8Array, text: string): string => `  ${off.toString(16).padStart(4, '0')}  ${bytesText(bytes).padEnd(30)} ${text}`.trimEnd();

const BRANCH = /^(call|jmp|j[a-z]+|loop[a-z]*)$/;

/** Disassembles [start, end) of `text`; `symbol` names addresses outside the function. */
function disassembleFunction(text: Uint8Array, start: number, end: number, symbol: (addr: number) => string): string[] {
  const out: string[] = [];
  const where = (addr: number): string => (addr >= start && addr < end ? `${hex(addr - start)}` : symbol(addr));
  const code = text.subarray(0, end);
  let pos = start;
  while (pos < end) {
    // a rip-relative lea into this function's code points at br_table's jump table: the code
    // runs up to it
    let table = -1;
    for (const insn of decodeSync(code.subarray(pos, end), pos)) {
      const rip = ripTarget(insn);
      if (insn.mnemonic === 'lea' && rip !== null && rip > insn.address && rip < end) {
        table = rip;
        break;
      }
    }
    const stop = table < 0 ? end : table;
    for (const insn of decodeSync(code.subarray(pos, stop), pos)) out.push(line(insn.address - start, insn.bytes, describe(insn, where)));
    pos = stop;
    if (table < 0) break;
    // rel32 entries, each relative to its own end; forward targets bound the table
    let limit = end;
    while (pos + 4 <= limit) {
      const rel = new DataView(text.buffer, text.byteOffset + pos, 4).getInt32(0, true);
      const target = pos + 4 + rel;
      if (target < start || target >= end) break;
      if (target >= table) limit = Math.min(limit, target);
      out.push(line(pos - start, text.subarray(pos, pos + 4), `.long ${hex(rel)}  ; -> ${where(target)}`));
      pos += 4;
    }
  }
  return out;
}

function ripTarget(insn: DisasmInsn): number | null {
  const m = /\[rip(?: ([+-]) (0x[0-9a-f]+|\d+))?\]/.exec(insn.opStr);
  if (!m) return null;
  const d = m[2] ? Number(m[2]) : 0;
  return insn.address + insn.size + (m[1] === '-' ? -d : d);
}

function describe(insn: DisasmInsn, where: (addr: number) => string): string {
  let ops = insn.opStr;
  if (BRANCH.test(insn.mnemonic) && /^(0x[0-9a-f]+|\d+)$/.test(ops)) ops = where(Number(ops));
  else {
    const rip = ripTarget(insn);
    if (rip !== null) ops += `  ; ${where(rip)}`;
  }
  return ops ? `${insn.mnemonic} ${ops}` : insn.mnemonic;
}

async function golden(file: string): Promise<string> {
  const source = readFileSync(join(DIR, file), 'utf8');
  const wanted = /^;; cpu-features: (.*)$/m.exec(source);
  let cpuFeatures = 0;
  for (const name of wanted ? wanted[1].split(',').map((s) => s.trim()) : []) cpuFeatures |= CPU_FEATURE[name as CpuFeatureName];
  const image = linkProgram({ modules: [{ name: 'main', bytes: await wat(file, source) }], arch: 'x86-64', unresolved: 'trap', cpuFeatures });
  const text = image.text;
  // the stubs come first in the text, exactly as a fresh buffer gets them
  const stubs = x64Stubs.emitStubs(new CodeBuffer());
  const names = new Map<number, string>();
  names.set(stubs.entry, '<entry stub>');
  names.set(stubs.check, '<check stub>');
  names.set(stubs.grow, '<grow stub>');
  stubs.traps.forEach((at, id) => { if (id > 0) names.set(at, `<trap: ${TRAP_MESSAGES[id]}>`); });
  for (const f of image.functions) if (f.codeEnd > f.codeStart && !names.has(f.codeStart)) names.set(f.codeStart, `<${f.name}>`);
  // the function table starts the read-only data, at the 64 KiB boundary after the code
  names.set(Math.ceil(text.length / 65536) * 65536, '<function table>');
  const symbol = (addr: number): string => names.get(addr) ?? `<text+${hex(addr)}>`;

  const out = [`;; ${file}: x86-64 code of each defined function (regenerate: UPDATE_GOLDEN=1 npx jest packages/x86-64/tests/golden)`];
  if (wanted) {
    const used = Object.entries(CPU_FEATURE).filter(([, bit]) => (image.cpuFeatures ?? 0) & bit).map(([n]) => n);
    out.push(`;; image cpu_features: ${used.join(', ') || 'none'}`);
  }
  for (const f of image.functions) {
    if (f.codeEnd <= f.codeStart || f.name.startsWith('gate.') || f.name.startsWith('<')) continue;
    out.push('', `${f.name}:  ;; ${f.codeEnd - f.codeStart} bytes, frame ${f.frameSize}, ${f.paramCount} param(s)`);
    out.push(...disassembleFunction(text, f.codeStart, f.codeEnd, symbol));
  }
  return out.join('\n') + '\n';
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.wat')).sort();

beforeAll(() => initDisassembler());

test('there are golden files', () => {
  expect(files.length).toBeGreaterThanOrEqual(4);
});

test.each(files)('%s', async (file) => {
  const actual = await golden(file);
  const expectedPath = join(DIR, file.replace(/\.wat$/, '.expected'));
  if (UPDATE) {
    writeFileSync(expectedPath, actual);
    return;
  }
  if (!existsSync(expectedPath)) throw new Error(`${expectedPath} is missing: run UPDATE_GOLDEN=1 npx jest packages/x86-64/tests/golden`);
  expect(actual).toBe(readFileSync(expectedPath, 'utf8'));
});

import { readFileSync } from 'fs';
import { dirname } from 'path';
import * as vm from 'vm';
import type { Capstone } from 'capstone-wasm';

/**
 * ARM64 disassembly through capstone-wasm (tests, golden files, debugging; the compiler itself
 * never needs it). capstone copies its input onto the wasm stack, so code is fed in chunks well
 * under 64 KiB. Instructions are 4-byte words, so chunks end on instruction boundaries and a word
 * capstone cannot decode becomes a `.word` pseudo-instruction without upsetting the rest.
 * capstone-wasm (a dev dependency) is loaded on first use, so importing this costs nothing.
 */

export interface DisasmInsn {
  address: number;
  size: number;
  bytes: Uint8Array;
  mnemonic: string;
  opStr: string;
}

export interface DisasmOptions {
  /** Address of code[0] (default 0). */
  address?: number;
  /** Include the instruction bytes column (default true). */
  bytes?: boolean;
}

const CHUNK = 0x8000;

type CapstoneModule = typeof import('capstone-wasm');

/**
 * capstone-wasm's emscripten glue runs `await import('module')` under Node, which jest's module
 * sandbox rejects (without --experimental-vm-modules). So its CommonJS file is compiled here with
 * dynamic import going to Node's own loader; elsewhere a plain require would do the same.
 */
function requireCapstoneForJest(): CapstoneModule {
  const file = require.resolve('capstone-wasm');
  const loader = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  if (!loader) throw new Error('disasm: capstone-wasm under jest needs Node >= 20.12');
  const fn = vm.compileFunction(readFileSync(file, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], {
    filename: file,
    importModuleDynamically: loader,
  });
  const mod = { exports: {} as CapstoneModule };
  fn.call(mod.exports, mod.exports, require, mod, file, dirname(file));
  return mod.exports;
}

let ready: Promise<void> | null = null;
let cs: Capstone | null = null;

/** Loads capstone's wasm module; every other function here needs it done. Idempotent. */
export function initDisassembler(): Promise<void> {
  if (!ready) {
    ready = (async () => {
      let m = require('capstone-wasm') as CapstoneModule;
      try {
        await m.loadCapstone();
      } catch (e) {
        // node's ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING, or jest's own TypeError
        const err = e as { code?: string; message?: string };
        if (err.code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING' && !/dynamic import/i.test(err.message ?? '')) throw e;
        m = requireCapstoneForJest();
        await m.loadCapstone();
      }
      const { Capstone, Const } = m;
      cs = new Capstone(Const.CS_ARCH_ARM64, Const.CS_MODE_ARM);
    })();
  }
  return ready;
}

function handle(): Capstone {
  if (!cs) throw new Error('disasm: call (and await) initDisassembler() first');
  return cs;
}

/** capstone.disasm throws when the first instruction is invalid; that is "nothing decoded". */
function disasmChunk(c: Capstone, data: Uint8Array, address: number): DisasmInsn[] {
  try {
    return c.disasm(data, { address }).map((i) => ({
      address: Number(i.address), size: i.size, bytes: Uint8Array.from(i.bytes), mnemonic: i.mnemonic, opStr: i.opStr,
    }));
  } catch {
    return [];
  }
}

function wordAt(code: Uint8Array, pos: number): number {
  return (code[pos] | (code[pos + 1] << 8) | (code[pos + 2] << 16) | (code[pos + 3] << 24)) >>> 0;
}

/**
 * Decodes all of `code` (a trailing partial word included, as `.byte`s). A word that is no valid
 * instruction comes back as a pseudo-instruction `.word 0xNNNNNNNN`, and decoding resumes after it.
 */
export function decodeSync(code: Uint8Array, address = 0): DisasmInsn[] {
  const c = handle();
  const out: DisasmInsn[] = [];
  const whole = code.length & ~3;
  let pos = 0;
  while (pos < whole) {
    const end = Math.min(whole, pos + CHUNK);
    const insns = disasmChunk(c, code.subarray(pos, end), address + pos);
    for (const insn of insns) out.push(insn);
    pos += insns.length * 4;
    if (pos < end) {
      out.push({ address: address + pos, size: 4, bytes: code.slice(pos, pos + 4), mnemonic: '.word', opStr: `0x${wordAt(code, pos).toString(16).padStart(8, '0')}` });
      pos += 4;
    }
  }
  for (; pos < code.length; pos++) {
    out.push({ address: address + pos, size: 1, bytes: code.slice(pos, pos + 1), mnemonic: '.byte', opStr: `0x${code[pos].toString(16).padStart(2, '0')}` });
  }
  return out;
}

/** One line per instruction: address, the word (as objdump shows it), mnemonic and operands. */
export function formatInsn(insn: DisasmInsn, showBytes = true): string {
  const addr = insn.address.toString(16).padStart(6, '0');
  const text = insn.opStr ? `${insn.mnemonic} ${insn.opStr}` : insn.mnemonic;
  if (!showBytes) return `${addr}  ${text}`;
  const word = insn.size === 4 ? wordAt(insn.bytes, 0).toString(16).padStart(8, '0') : insn.bytes[0].toString(16).padStart(2, '0');
  return `${addr}  ${word.padEnd(8)}  ${text}`;
}

export function disassembleSync(code: Uint8Array, opts: DisasmOptions = {}): string[] {
  return decodeSync(code, opts.address ?? 0).map((i) => formatInsn(i, opts.bytes ?? true));
}

/** Disassembles ARM64 machine code to lines of text (initialising capstone if needed). */
export async function disassemble(code: Uint8Array, opts: DisasmOptions = {}): Promise<string[]> {
  await initDisassembler();
  return disassembleSync(code, opts);
}

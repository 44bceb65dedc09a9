import { readFileSync } from 'fs';
import { dirname } from 'path';
import * as vm from 'vm';
import type { Capstone } from 'capstone-wasm';

/**
 * x86-64 disassembly through capstone-wasm (tests, golden files, debugging; the compiler itself
 * never needs it). capstone copies its input onto the wasm stack, so code is fed in chunks well
 * under 64 KiB, each restarting where the previous one's last trusted instruction ended.
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
/** The longest x86 instruction: one starting this far before a chunk's end can't be cut off. */
const MAX_INSN = 15;

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
      cs = new Capstone(Const.CS_ARCH_X86, Const.CS_MODE_64);
      cs.setOption(Const.CS_OPT_SYNTAX, Const.CS_OPT_SYNTAX_INTEL);
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

/**
 * Decodes all of `code`. A byte that starts no valid instruction comes back as a one-byte
 * pseudo-instruction `.byte 0xNN`, and decoding resumes after it.
 */
export function decodeSync(code: Uint8Array, address = 0): DisasmInsn[] {
  const c = handle();
  const out: DisasmInsn[] = [];
  let pos = 0;
  while (pos < code.length) {
    const end = Math.min(code.length, pos + CHUNK);
    const last = end === code.length;
    const insns = disasmChunk(c, code.subarray(pos, end), address + pos);
    let next = pos;
    for (const insn of insns) {
      const at = insn.address - address;
      // near a chunk's end an instruction may be truncated: leave it to the next chunk
      if (!last && at + MAX_INSN > end) break;
      out.push(insn);
      next = at + insn.size;
    }
    if (next === pos) {
      out.push({ address: address + pos, size: 1, bytes: code.slice(pos, pos + 1), mnemonic: '.byte', opStr: `0x${code[pos].toString(16).padStart(2, '0')}` });
      next = pos + 1;
    }
    pos = next;
  }
  return out;
}

/** One line per instruction: address, bytes, mnemonic and operands. */
export function formatInsn(insn: DisasmInsn, showBytes = true): string {
  const addr = insn.address.toString(16).padStart(6, '0');
  const text = insn.opStr ? `${insn.mnemonic} ${insn.opStr}` : insn.mnemonic;
  if (!showBytes) return `${addr}  ${text}`;
  const bytes = Array.from(insn.bytes, (v) => v.toString(16).padStart(2, '0')).join(' ');
  return `${addr}  ${bytes.padEnd(30)} ${text}`;
}

export function disassembleSync(code: Uint8Array, opts: DisasmOptions = {}): string[] {
  return decodeSync(code, opts.address ?? 0).map((i) => formatInsn(i, opts.bytes ?? true));
}

/** Disassembles x86-64 machine code to lines of text (initialising capstone if needed). */
export async function disassemble(code: Uint8Array, opts: DisasmOptions = {}): Promise<string[]> {
  await initDisassembler();
  return disassembleSync(code, opts);
}

import { readFileSync } from 'fs';
import { dirname } from 'path';
import * as vm from 'vm';
import type { Capstone } from 'capstone-wasm';

/**
 * capstone-wasm, shared by the disassemblers of both ISAs (packages/x86-64/src/disasm.ts,
 * packages/arm64/src/disasm.ts: tests, golden files, gate-inspect --disasm; the compiler itself
 * never needs it). capstone-wasm (a dev dependency) is loaded on first use, so importing this
 * costs nothing. capstone copies its input onto the wasm stack: each ISA feeds it code in chunks
 * well under 64 KiB.
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

export type CapstoneModule = typeof import('capstone-wasm');

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

let loaded: Promise<CapstoneModule> | null = null;

function loadModule(): Promise<CapstoneModule> {
  if (!loaded) {
    loaded = (async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
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
      return m;
    })();
  }
  return loaded;
}

/** One ISA's capstone engine, opened by `open` once the module is loaded. */
export class CapstoneEngine {
  private ready: Promise<void> | null = null;
  private cs: Capstone | null = null;

  constructor(private readonly open: (m: CapstoneModule) => Capstone) {}

  /** Loads capstone's wasm module; `decode` needs it done. Idempotent. */
  init(): Promise<void> {
    if (!this.ready) this.ready = loadModule().then((m) => { this.cs = this.open(m); });
    return this.ready;
  }

  /** The instructions capstone decodes from the start of `data` ([] when the first is invalid). */
  decode(data: Uint8Array, address: number): DisasmInsn[] {
    if (!this.cs) throw new Error('disasm: call (and await) initDisassembler() first');
    try {
      return this.cs.disasm(data, { address }).map((i) => ({
        address: Number(i.address), size: i.size, bytes: Uint8Array.from(i.bytes), mnemonic: i.mnemonic, opStr: i.opStr,
      }));
    } catch {
      return [];
    }
  }
}

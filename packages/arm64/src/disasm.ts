import { CapstoneEngine, type DisasmInsn, type DisasmOptions } from '@wagc/frontend';

export type { DisasmInsn, DisasmOptions };

/**
 * ARM64 disassembly through capstone-wasm (tests, golden files, debugging; the compiler itself
 * never needs it; the engine is frontend/src/tools/capstone.ts). Code is fed to capstone in
 * chunks well under 64 KiB. Instructions are 4-byte words, so chunks end on instruction boundaries and a word
 * capstone cannot decode becomes a `.word` pseudo-instruction without upsetting the rest.
 */

const CHUNK = 0x8000;

const engine = new CapstoneEngine((m) => new m.Capstone(m.Const.CS_ARCH_ARM64, m.Const.CS_MODE_ARM));

/** Loads capstone's wasm module; every other function here needs it done. Idempotent. */
export function initDisassembler(): Promise<void> {
  return engine.init();
}

function wordAt(code: Uint8Array, pos: number): number {
  return (code[pos] | (code[pos + 1] << 8) | (code[pos + 2] << 16) | (code[pos + 3] << 24)) >>> 0;
}

/**
 * Decodes all of `code` (a trailing partial word included, as `.byte`s). A word that is no valid
 * instruction comes back as a pseudo-instruction `.word 0xNNNNNNNN`, and decoding resumes after it.
 */
export function decodeSync(code: Uint8Array, address = 0): DisasmInsn[] {
  const out: DisasmInsn[] = [];
  const whole = code.length & ~3;
  let pos = 0;
  while (pos < whole) {
    const end = Math.min(whole, pos + CHUNK);
    const insns = engine.decode(code.subarray(pos, end), address + pos);
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

/**
 * The address of literal-pool data `insn` reads (an `ldr` literal), or null: the function's
 * constants follow its code (constants.ts), and a listing shows them as data.
 */
export function constantRef(insn: DisasmInsn): number | null {
  if (insn.mnemonic !== 'ldr') return null;
  const m = /^\w+, #(0x[0-9a-f]+|\d+)$/.exec(insn.opStr);
  return m ? Number(m[1]) : null;
}

import { CapstoneEngine, type DisasmInsn, type DisasmOptions } from '@wagc/frontend';

export type { DisasmInsn, DisasmOptions };

/**
 * x86-64 disassembly through capstone-wasm (tests, golden files, debugging; the compiler itself
 * never needs it; the engine is frontend/src/tools/capstone.ts). Code is fed to capstone in
 * chunks well under 64 KiB, each restarting where the previous one's last trusted instruction
 * ended.
 */

const CHUNK = 0x8000;
/** The longest x86 instruction: one starting this far before a chunk's end can't be cut off. */
const MAX_INSN = 15;

const engine = new CapstoneEngine((m) => {
  const cs = new m.Capstone(m.Const.CS_ARCH_X86, m.Const.CS_MODE_64);
  cs.setOption(m.Const.CS_OPT_SYNTAX, m.Const.CS_OPT_SYNTAX_INTEL);
  return cs;
});

/** Loads capstone's wasm module; every other function here needs it done. Idempotent. */
export function initDisassembler(): Promise<void> {
  return engine.init();
}

/**
 * Decodes all of `code`. A byte that starts no valid instruction comes back as a one-byte
 * pseudo-instruction `.byte 0xNN`, and decoding resumes after it.
 */
export function decodeSync(code: Uint8Array, address = 0): DisasmInsn[] {
  const out: DisasmInsn[] = [];
  let pos = 0;
  while (pos < code.length) {
    const end = Math.min(code.length, pos + CHUNK);
    const last = end === code.length;
    const insns = engine.decode(code.subarray(pos, end), address + pos);
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

/**
 * The address of constant-pool data `insn` reads (a rip-relative memory operand; not `lea`, which
 * addresses br_table's jump table), or null: the function's constants follow its code
 * (constants.ts), and a listing shows them as data.
 */
export function constantRef(insn: DisasmInsn): number | null {
  if (insn.mnemonic === 'lea') return null;
  const m = /\[rip(?: ([+-]) (0x[0-9a-f]+|\d+))?\]/.exec(insn.opStr);
  if (!m) return null;
  const d = m[2] ? Number(m[2]) : 0;
  return insn.address + insn.size + (m[1] === '-' ? -d : d);
}

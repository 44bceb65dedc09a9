/**
 * A minimal static AArch64 Linux executable around raw code, for running encoder output under
 * qemu-aarch64: one RWX PT_LOAD segment at LOAD holding the headers, `data` at LOAD + DATA_OFF,
 * the code at LOAD + CODE_OFF (the entry point), and zeroed memory up to `memSize`.
 */
export const LOAD = 0x400000;
export const DATA_OFF = 0x1000;
export const CODE_OFF = 0x2000;

export function elf(code: Uint8Array, data: Uint8Array, memSize: number): Uint8Array {
  if (data.length > CODE_OFF - DATA_OFF) throw new Error('elf: data too large');
  const fileSize = CODE_OFF + code.length;
  const out = new Uint8Array(fileSize);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]); // ELF, 64-bit, little endian, version 1, SysV
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 183, true); // EM_AARCH64
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, BigInt(LOAD + CODE_OFF), true); // entry
  dv.setBigUint64(32, 64n, true); // program headers right after this header
  dv.setUint16(52, 64, true); // header size
  dv.setUint16(54, 56, true); // program header size
  dv.setUint16(56, 1, true); // one program header
  dv.setUint16(58, 64, true); // section header size (none present)
  const ph = 64;
  dv.setUint32(ph, 1, true); // PT_LOAD
  dv.setUint32(ph + 4, 7, true); // RWX
  dv.setBigUint64(ph + 8, 0n, true); // offset
  dv.setBigUint64(ph + 16, BigInt(LOAD), true);
  dv.setBigUint64(ph + 24, BigInt(LOAD), true);
  dv.setBigUint64(ph + 32, BigInt(fileSize), true);
  dv.setBigUint64(ph + 40, BigInt(Math.max(memSize, fileSize)), true);
  dv.setBigUint64(ph + 48, 0x10000n, true);
  out.set(data, DATA_OFF);
  out.set(code, CODE_OFF);
  return out;
}

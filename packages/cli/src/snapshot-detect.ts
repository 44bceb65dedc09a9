/**
 * Whether wagc's input is a snapshot, without loading the snapshot reader (@wagc/snapshot-format):
 * a plain module's compile does not pay for it.
 */

/**
 * True when `bytes` is a snapshot: a module with a gate.snapshot custom section. Walks the
 * section headers only (the data section before it may be gigabytes).
 */
export function isSnapshot(bytes: Uint8Array): boolean {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) return false;
  const name = 'gate.snapshot';
  let at = 8;
  const leb = (): number => {
    let v = 0, shift = 0, b: number;
    do {
      if (at >= bytes.length || shift > 28) return -1;
      b = bytes[at++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return v;
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    if (size < 0 || at + size > bytes.length) return false;
    const end = at + size;
    if (id === 0) {
      const n = leb();
      if (n === name.length && at + n <= end && String.fromCharCode(...bytes.subarray(at, at + n)) === name) return true;
    }
    at = end;
  }
  return false;
}

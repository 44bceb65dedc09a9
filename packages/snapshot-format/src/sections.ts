import { Cursor, putUleb32, uleb32Size } from './binary';
import { SnapshotError } from './errors';
import type { SectionInfo } from './types';

export const SECTION_NAMES = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'data count'];
/** Position of each section id in the required order (data count sits between element and code). */
export const ORDER = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10];

export const ID = { custom: 0, memory: 5, global: 6, table: 4, export: 7, start: 8, element: 9, code: 10, data: 11, dataCount: 12 } as const;

/** A section of a module as found in its bytes. */
export interface RawSection {
  id: number;
  /** Custom sections: the name. */
  name?: string;
  /** File offset of the id byte. */
  offset: number;
  /** Payload (for custom sections: after the name). */
  start: number;
  end: number;
}

/**
 * The module's sections, checked only for framing (magic, version, sizes within the file, custom
 * section names); the frontend's decoder checks the contents.
 */
export function scanSections(bytes: Uint8Array): RawSection[] {
  if (bytes.length < 8) throw new SnapshotError(`truncated: ${bytes.length} bytes, not even a WebAssembly header`);
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new SnapshotError('not a WebAssembly module (bad magic)');
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) throw new SnapshotError('unsupported wasm binary version (at offset 4)');
  const out: RawSection[] = [];
  const rd = new Cursor(bytes, 8, bytes.length, 'module');
  while (!rd.eof()) {
    const offset = rd.pos;
    const id = rd.u8();
    if (id > 12) rd.fail(`unknown section id ${id}`, offset);
    const sizeAt = rd.pos;
    const size = rd.u32();
    const start = rd.pos;
    if (start + size > bytes.length) {
      throw new SnapshotError(`truncated: ${SECTION_NAMES[id]} section at offset ${offset} needs ${size} bytes, the file has ${bytes.length - start} left (size at offset ${sizeAt})`);
    }
    const s: RawSection = { id, offset, start, end: start + size };
    if (id === 0) {
      const c = new Cursor(bytes, start, start + size, `custom section at offset ${offset}`);
      s.name = c.name();
      s.start = c.pos;
    }
    out.push(s);
    rd.pos = start + size;
  }
  return out;
}

export function sectionInfo(s: RawSection): SectionInfo {
  const info: SectionInfo = { id: s.id, kind: SECTION_NAMES[s.id], offset: s.offset, size: s.end - s.start };
  if (s.name !== undefined) info.name = s.name;
  return info;
}

/** A section to write: a payload given as bytes, or as a size and a function writing it. */
export interface OutSection {
  id: number;
  name?: string;
  payload?: Uint8Array;
  size?: number;
  write?: (out: Uint8Array, pos: number) => void;
}

/** Bytes of `s` once written (id, size, name, payload). */
function encodedName(s: OutSection): Uint8Array | null {
  return s.name === undefined ? null : new TextEncoder().encode(s.name);
}

/** Writes a module: header then every section with minimal LEB128 sizes. One allocation. */
export function emitModule(sections: OutSection[], maxSize: number): Uint8Array {
  const names = sections.map(encodedName);
  const payloadSizes = sections.map((s, k) => {
    const body = s.payload ? s.payload.length : s.size!;
    const nm = names[k];
    return nm ? uleb32Size(nm.length) + nm.length + body : body;
  });
  let total = 8;
  for (const p of payloadSizes) {
    if (p > 0xffffffff) throw new SnapshotError(`snapshot too large: a section of ${p} bytes`);
    total += 1 + uleb32Size(p) + p;
  }
  if (total > maxSize) {
    throw new SnapshotError(`snapshot too large: ${total} bytes, more than the ${maxSize} bytes (1 GiB) a WebAssembly module may have`);
  }
  const out = new Uint8Array(total);
  out.set([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  let pos = 8;
  sections.forEach((s, k) => {
    out[pos++] = s.id;
    pos = putUleb32(out, pos, payloadSizes[k]);
    const nm = names[k];
    if (nm) {
      pos = putUleb32(out, pos, nm.length);
      out.set(nm, pos);
      pos += nm.length;
    }
    if (s.payload) {
      out.set(s.payload, pos);
      pos += s.payload.length;
    } else {
      s.write!(out, pos);
      pos += s.size!;
    }
  });
  if (pos !== total) throw new Error(`snapshot writer: wrote ${pos} bytes of ${total}`);
  return out;
}

/** Inserts a non-custom section at its place in section order (after the last one ordered before it). */
export function insertInOrder(list: OutSection[], s: OutSection): void {
  let at = 0;
  for (let k = 0; k < list.length; k++) {
    if (list[k].id !== 0 && ORDER[list[k].id] < ORDER[s.id]) at = k + 1;
  }
  list.splice(at, 0, s);
}

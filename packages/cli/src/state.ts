/**
 * The loader's state file (docs/image-format.md, "State dump"): what `gate-run --snapshot` turns
 * into a snapshot with @wagc/snapshot-format.
 */
export type RunState = 'halted' | 'suspended' | 'trapped' | 'exited';

export interface StateFrame {
  /** Linked function index (the image's). */
  func: number;
  site: number;
  types: Uint8Array;
  slots: BigUint64Array;
}

export interface StateDump {
  state: RunState;
  trapId: number;
  exitStatus: number;
  /** Every global slot of the image, in slot order. */
  globals: BigUint64Array;
  memoryPages: number;
  /** Non-zero 64 KiB pages by page index. */
  pages: Map<number, Uint8Array>;
  /** Innermost first. */
  frames: StateFrame[];
  /** Every table of the image (section 12): its current entries (reference words). */
  tables: BigUint64Array[];
  /** Which element segments of the image are dropped. */
  droppedSegments: boolean[];
}

export class StateError extends Error {}

const STATES: RunState[] = ['halted', 'suspended', 'trapped', 'exited'];

export function readState(bytes: Uint8Array): StateDump {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number): void => {
    if (at + n > bytes.length) throw new StateError('truncated state file');
  };
  const u32 = (): number => { need(4); const v = dv.getUint32(at, true); at += 4; return v; };
  need(8);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== 'WAGCSTAT') throw new StateError('not a state file');
  at = 8;
  if (u32() !== 2) throw new StateError('unsupported state file version');
  const s = u32();
  if (s >= STATES.length) throw new StateError(`unknown state ${s}`);
  const trapId = u32(), exitStatus = u32();
  const ng = u32();
  need(8 * ng);
  const globals = new BigUint64Array(ng);
  for (let k = 0; k < ng; k++) globals[k] = dv.getBigUint64(at + 8 * k, true);
  at += 8 * ng;
  const memoryPages = u32();
  const np = u32();
  const pages = new Map<number, Uint8Array>();
  for (let k = 0; k < np; k++) {
    const page = u32();
    u32();
    need(65536);
    if (page >= memoryPages) throw new StateError('page outside memory');
    pages.set(page, bytes.subarray(at, at + 65536));
    at += 65536;
  }
  const nf = u32();
  const frames: StateFrame[] = [];
  for (let k = 0; k < nf; k++) {
    const func = u32(), site = u32(), n = u32();
    u32();
    need(n + ((8 - (n % 8)) % 8) + 8 * n);
    const types = bytes.slice(at, at + n);
    at += n + ((8 - (n % 8)) % 8);
    const slots = new BigUint64Array(n);
    for (let j = 0; j < n; j++) slots[j] = dv.getBigUint64(at + 8 * j, true);
    at += 8 * n;
    frames.push({ func, site, types, slots });
  }
  const nt = u32();
  const tables: BigUint64Array[] = [];
  for (let k = 0; k < nt; k++) {
    const size = u32();
    u32();
    need(8 * size);
    const words = new BigUint64Array(size);
    for (let j = 0; j < size; j++) words[j] = dv.getBigUint64(at + 8 * j, true);
    at += 8 * size;
    tables.push(words);
  }
  const ns = u32();
  need(ns);
  const droppedSegments = Array.from(bytes.subarray(at, at + ns), (b) => b !== 0);
  at += ns;
  return { state: STATES[s], trapId, exitStatus, globals, memoryPages, pages, frames, tables, droppedSegments };
}

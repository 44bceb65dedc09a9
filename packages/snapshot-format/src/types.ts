/** The snapshot format's data model (docs/snapshot-format.md). */

export type SnapshotState = 'halted' | 'suspended' | 'trapped' | 'exited';
export type SnapshotArch = 'x86-64' | 'arm64';

/**
 * The newest format version, which this package reads with version 1: version 2 adds v128 slots
 * and global values (16 bytes of bits). The writer writes 2 only for a snapshot holding a v128,
 * else 1, so that snapshots without one stay readable by version-1 readers.
 */
export const SNAPSHOT_VERSION = 2;
/** The oldest version this package reads. */
export const SNAPSHOT_VERSION_MIN = 1;
/** The first version with v128 values. */
export const SNAPSHOT_VERSION_V128 = 2;

/** State ids in `gate.snapshot`. */
export const STATE_IDS: Record<SnapshotState, number> = { halted: 0, suspended: 1, trapped: 2, exited: 3 };
export const STATES: readonly SnapshotState[] = ['halted', 'suspended', 'trapped', 'exited'];
/** Arch tags, the image's (`ARCH_TAG` in @wagc/linker). */
export const ARCH_IDS: Record<SnapshotArch, number> = { 'x86-64': 1, arm64: 2 };

/**
 * `gate.snapshot` flag bit 0: the snapshot was written with the instance's tables, so its table
 * section holds their current sizes and its element section is the module's own segments (none
 * of them active) followed by the active segments that hold the tables' entries. A writer given
 * such a snapshot as its module replaces those active segments instead of keeping them
 * (docs/snapshot-format.md, "Tables").
 */
export const FLAG_TABLES = 1;

/** Site index of a trapped snapshot's innermost frame stopped at a trap (not a site). */
export const NO_SITE = 0xffffffff;

/** Highest trap id a trapped snapshot may carry (1–10 and 13; 11 suspended and 12 exit are states). */
export const MAX_TRAP_ID = 13;

/** Whether a trapped snapshot may carry trap id `id`: a trap, not the states suspended (11) and exit (12). */
export function isTrapId(id: number): boolean {
  return Number.isInteger(id) && id >= 1 && id <= MAX_TRAP_ID && id !== 11 && id !== 12;
}

/** Names of the custom sections. */
export const SECTION = {
  snapshot: 'gate.snapshot',
  stack: 'gate.stack',
  buffer: 'gate.buffer',
  export: 'gate.export',
} as const;

/** Zero words (4 bytes each) that end a memory segment; doubled while there are too many segments. */
export const SPLIT_ZERO_WORDS = 16;

export interface Slot {
  /** Value type byte: 0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64, 0x7b v128, 0x70 funcref, 0x6f externref. */
  type: number;
  /**
   * The bit pattern: 64 bits, i32/f32 in the low 32 (the writer masks, the reader returns them
   * masked); a v128's 128 bits, byte 0 (lane 0's lowest) least significant.
   */
  bits: bigint;
}

/** A portable frame (ARCHITECTURE §2). */
export interface Frame {
  /**
   * Whose function: the snapshot's own module (absent or 'program'), or 'runtime', the WASI
   * runtime library wagc links with every program (a program blocked in a read is suspended
   * inside it).
   */
  module?: 'program' | 'runtime';
  /** Module function index (imports counted), of a defined function. */
  func: number;
  /** Per-function site index (0 = entry check); NO_SITE only for a trapped snapshot's innermost frame. */
  site: number;
  /** Canonical order: parameters, declared locals, operand stack bottom to top. */
  slots: Slot[];
}

/** Pending I/O held by the loader (`gate.buffer`). */
export interface PendingIO {
  fd: number;
  /** 'in': read from fd, not yet delivered to the program; 'out': written by the program, not yet to fd. */
  direction: 'in' | 'out';
  bytes: Uint8Array;
}

/**
 * Linear memory for the writer: either the whole memory as one array of `pages · 65536` bytes,
 * or a sparse map of page index → 65536 bytes (missing pages are zero; the image's
 * `memory.pages` has this shape). Neither is copied except into the output.
 */
export type MemoryInput =
  | { pages: number; data: Uint8Array }
  | { pages: number; pageMap: Map<number, Uint8Array> };

export interface SnapshotInput {
  /** The instance's module: the original .wasm, or a snapshot (its exports are restored first). */
  module: Uint8Array;
  state: SnapshotState;
  /** Trap id when trapped (1–10). */
  trapId?: number;
  /** proc_exit status when exited (a u32; negative numbers are taken modulo 2^32). */
  exitStatus?: number;
  /** The arch the instance ran on. */
  arch: SnapshotArch;
  /** Null iff the module has no memory. */
  memory: MemoryInput | null;
  /** Current value of each of the module's defined globals, in order (bit patterns). */
  globals: bigint[];
  /** Current values of imported globals, in import order; required when one of them is mutable. */
  importedGlobals?: bigint[];
  /** Innermost first; empty for halted, at least one for suspended. */
  frames: Frame[];
  /**
   * The runtime library module (wasi_snapshot_preview1) the image was linked with: its SHA-256
   * goes into gate.stack when a frame is in the runtime, so a compiler linking another build of
   * the library refuses to resume (checkResume, R2). Without it the digest is left empty.
   */
  runtime?: Uint8Array;
  /** Pending I/O; absent: none. */
  buffer?: PendingIO[];
  /**
   * The current entries of each table the module defines (portable reference words, see
   * docs/snapshot-format.md "References"), whose count is the table's current size. Absent: the
   * tables are as the module's segments make them.
   */
  tables?: BigUint64Array[];
  /** Which of the module's element segments are dropped; required with `tables`. */
  droppedSegments?: boolean[];
  /**
   * Indices of the module's data segments that `data.drop` dropped (instance state: with a data
   * count section they are written as empty passive segments). Absent: none.
   */
  droppedData?: number[];
}

/** A data segment of the snapshot holding memory contents. */
export interface MemorySegment {
  /** Byte address in linear memory. */
  address: number;
  /** The segment's bytes: a view into the snapshot (not a copy). */
  bytes: Uint8Array;
}

/** A section of the snapshot file, for summaries. */
export interface SectionInfo {
  id: number;
  /** Spec name (`type`, `code`, …) or, for custom sections, `custom`. */
  kind: string;
  /** Custom section name. */
  name?: string;
  /** File offset of the section id byte. */
  offset: number;
  /** Payload size in bytes. */
  size: number;
}

export interface Snapshot {
  version: number;
  state: SnapshotState;
  /** 0 unless trapped. */
  trapId: number;
  /** 0 unless exited. */
  exitStatus: number;
  arch: SnapshotArch;
  flags: number;
  memory: { pages: number; maxPages: number | null; segments: MemorySegment[] } | null;
  /** Defined globals, in order: type, mutability and current bits (0n for non-numeric types). */
  globals: { type: number; mutable: boolean; bits: bigint }[];
  /** Imported globals' values, in import order, or null when not recorded. */
  importedGlobals: Slot[] | null;
  /** Innermost first. */
  frames: Frame[];
  /** SHA-256 of the runtime library the runtime frames belong to (gate.stack), or null when not recorded. */
  runtimeDigest: Uint8Array | null;
  buffer: PendingIO[];
  /** The `gate.export` payload (the original export section's contents), or null. */
  exportSection: Uint8Array | null;
  /** The snapshot file itself: a valid module (without exports when it has a stack). */
  module: Uint8Array;
  /** Its sections, in file order. */
  sections: SectionInfo[];
  /** Function names from the name section (module function index → name). */
  functionNames: Map<number, string>;
  /** Number of imported functions (module function indices below it are imports). */
  importedFuncs: number;
}

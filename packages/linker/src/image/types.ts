/**
 * What the link step hands to the image writer. Everything an instance needs at run time is here;
 * the original .wasm is not needed again (ARCHITECTURE §5).
 */
import { SiteTable, SiteWord } from '@wagc/frontend';

export type Arch = 'x86-64' | 'arm64';

export interface ImageFunction {
  /** Linked function index (index into `functions`, across every linked module). */
  name: string; // from the name section, else `<module>.func[<index>]`
  codeStart: number; // text offset
  codeEnd: number;
  /** fp − rsp inside the body, bytes (docs/ARCHITECTURE.md "Frames"). */
  frameSize: number;
  paramCount: number;
  /** Byte offset of the function body in its wasm module, for stack traces. */
  wasmOffset: number;
}

/** One site as an object (`siteList`); images and the linker keep them as a SiteTable's rows. */
export interface ImageSite {
  codeOffset: number; // text offset of the return/resume address
  func: number; // linked function index
  site: number; // per-function site index (ARCHITECTURE §2)
  fpOffset: number; // fp − rsp after the site's call returns
  slotTypes: Uint8Array; // ValType per slot, canonical order
  wasmOffset: number; // byte offset of the opcode in the wasm module
  /** An entry or loop check rather than a call; known from the compiler, not from an image. */
  check?: boolean;
}

export interface ImageExport {
  name: string;
  kind: 'func' | 'global';
  /** func: linked function index; global: global slot index. */
  index: number;
  params: Uint8Array; // func only
  results: Uint8Array; // func: result types; global: [type]
}

export interface ImageInput {
  arch: Arch;
  text: Uint8Array;
  /**
   * Read-only data (section 13): mapped readable, not executable, at text offset
   * align(text.length, 64 KiB): the function table, then passive data segments. Absent in
   * images before it existed (then nothing follows the text).
   */
  rodata?: Uint8Array;
  /** Text offsets of the stubs of docs/ARCHITECTURE.md. */
  stubs: { entry: number };
  functions: ImageFunction[];
  /** Sorted by code offset (SiteWord fields; the check word is −1 in an image read back). */
  sites: SiteTable;
  exports: ImageExport[];
  /** Linked function indices run at instantiation, in order (start functions). */
  starts: number[];
  memory: { initialPages: number; maxPages: number | null; /** non-zero 64 KiB pages */ pages: Map<number, Uint8Array> } | null;
  /** Initial value of every global slot, 8 bytes each (i32/f32 in the low 4). */
  globals: Uint8Array;
  globalTypes: Uint8Array;
  table: { initialSize: number; maxSize: number | null; /** 2 u32 per entry: type id + 1 (0 = null), linked function index */ entries: Uint32Array } | null;
  /**
   * Every table of the link and every element segment (section 12; docs/image-format.md).
   * References are 8-byte words (docs/ARCHITECTURE.md, "References").
   */
  tables?: ImageTables;
  /** Trap id raised at instantiation before any start function (0: none), e.g. a data segment out of bounds. */
  instantiationTrap: number;
  /** CPU_FEATURE bits (@wagc/frontend) the text needs beyond the arch's baseline; absent: 0. */
  cpuFeatures?: number;
  /**
   * Several instances with their own memories and tables, instantiated one by one on the
   * loader's request (docs/image-format.md, section 9). Absent for ordinary programs, whose one
   * memory and table are the fields above.
   */
  store?: ImageStore;
  /** The linked modules as the user gave them (section 10): what turns a state dump into a snapshot. */
  modules?: ImageModule[];
  /** A stack to resume, or a halted instance (section 11): images built from snapshots. */
  resume?: ImageResume;
  /**
   * What the loader needs to write a snapshot itself (section 14, `snapshotTemplate` of
   * @wagc/snapshot-format), with the program module of `modules`.
   */
  snapshotTemplate?: Uint8Array;
}

export interface ImageTables {
  tables: {
    /** vmctx offset of its descriptor (u64 entries, u32 size, u32 maximum) */
    descOff: number;
    initialSize: number;
    maxSize: number | null;
    elemType: number;
    /** initial entries (`initialSize` words); null: all null (a store image's, set at instantiation) */
    entries: BigUint64Array | null;
  }[];
  segments: { words: BigUint64Array; dropped: boolean }[];
}

export interface ImageModule {
  name: string;
  bytes: Uint8Array;
  /** Linked index of its first defined function; defined functions are consecutive. */
  funcBase: number;
  importedFuncs: number;
  definedFuncs: number;
  /** Global slot of its first defined global; defined globals are consecutive. */
  globalBase: number;
  importedGlobals: number;
  definedGlobals: number;
  /**
   * Global slot of data segment 0's state, and the number of segments with one (0 without a data
   * count section): low u32 of a state is the segment's current length, 0 once dropped.
   */
  dataBase: number;
  dataSegments: number;
}

export interface ImageResume {
  state: 'halted' | 'suspended';
  /** Text offsets of the stubs the loader resumes through. */
  resumeStub: number;
  entryReturn: number;
  /** Outermost first. */
  frames: { codeOffset: number; fpOffset: number; paramCount: number; slots: BigUint64Array }[];
}

export interface ImageStore {
  /** Bytes of vmctx the descriptors and table entries need. */
  vmctxSize: number;
  memories: { descOff: number; initialPages: number; maxPages: number | null }[];
  tables: { descOff: number; entriesOff: number; initialSize: number; maxSize: number | null }[];
  instances: ImageInstance[];
}

export interface ImageInstance {
  name: string;
  /** Linked index of the start function, or null. */
  start: number | null;
  exports: ImageExport[];
  /** Active element segments, applied in order at instantiation; 2 u32 per entry as in Table. */
  elems: { tableDesc: number; offset: number; entries: Uint32Array }[];
  /** Active data segments, applied after the element segments. */
  datas: { memoryDesc: number; offset: number; bytes: Uint8Array }[];
  /** Imported memories and tables must have at least `min` pages/entries when instantiated. */
  checks: { descOff: number; kind: 'memory' | 'table'; min: number }[];
}

/** The sites of a table as objects (tools and tests; the compile path keeps the rows). */
export function siteList(t: SiteTable): ImageSite[] {
  const list: ImageSite[] = [];
  for (let k = 0; k < t.count; k++) {
    const check = t.get(k, SiteWord.Check);
    list.push({
      codeOffset: t.get(k, SiteWord.CodeOffset), func: t.get(k, SiteWord.Func), site: t.get(k, SiteWord.Site),
      fpOffset: t.get(k, SiteWord.FpOffset), slotTypes: t.slotTypes(k).slice(), wasmOffset: t.get(k, SiteWord.WasmOffset),
      ...(check >= 0 ? { check: check === 1 } : {}),
    });
  }
  return list;
}

/** A table of the sites of a list (tools and tests that build an image by hand). */
export function siteTable(list: readonly ImageSite[]): SiteTable {
  const t = new SiteTable();
  for (const s of list) {
    const at = t.addTypes(s.slotTypes.length);
    t.types.set(s.slotTypes, at);
    t.add(s.codeOffset, s.func, s.site, s.fpOffset, s.wasmOffset, s.slotTypes.length, at, s.check === undefined ? -1 : s.check ? 1 : 0);
  }
  return t;
}

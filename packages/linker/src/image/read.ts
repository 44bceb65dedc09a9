import { SiteTable } from '@wagc/frontend';
import type { Arch, ImageInput, ImageFunction, ImageExport, ImageStore, ImageInstance, ImageModule, ImageResume, ImageTables } from './types';
import { ALIGN, EXPORT_ENTRY, FUNC_ENTRY, HEADER_SIZE, MAGIC, META_FIXED, NONE, SECTION_ENTRY_SIZE, SITE_ENTRY, STORE_CHECK, STORE_DATA, STORE_ELEM, STORE_FIXED, STORE_INSTANCE, STORE_MEMORY, STORE_TABLE, TABLES_FIXED, TABLES_SEGMENT, TABLES_TABLE, Section, VERSION } from './format';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Names are UTF-8: an invalid sequence is a bad image, not a TypeError from the decoder. */
function decodeName(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new ImageError('name is not valid UTF-8');
  }
}

export class ImageError extends Error {
  constructor(message: string) {
    super(`bad image: ${message}`);
    this.name = 'ImageError';
  }
}

/** Reads just the arch tag (what gate-run needs to pick a loader). */
export function imageArch(bytes: Uint8Array): Arch {
  checkHeader(bytes);
  const tag = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
  if (tag === 1) return 'x86-64';
  if (tag === 2) return 'arm64';
  throw new ImageError(`unknown arch tag ${tag}`);
}

function checkHeader(bytes: Uint8Array): void {
  if (bytes.length < HEADER_SIZE) throw new ImageError('truncated header');
  for (let k = 0; k < 8; k++) if (bytes[k] !== MAGIC.charCodeAt(k)) throw new ImageError('not a wagc image (bad magic)');
  const v = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (v !== VERSION) throw new ImageError(`unsupported format version ${v} (expected ${VERSION})`);
}

/** Parses an image back into its parts (tests, tools); every offset is bounds-checked. */
export function readImage(bytes: Uint8Array): ImageInput {
  const arch = imageArch(bytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = dv.getUint32(20, true);
  if (HEADER_SIZE + SECTION_ENTRY_SIZE * count > bytes.length) throw new ImageError('truncated section table');
  const sections = new Map<number, Uint8Array>();
  for (let k = 0; k < count; k++) {
    const e = HEADER_SIZE + SECTION_ENTRY_SIZE * k;
    const kind = dv.getUint32(e, true);
    const at = Number(dv.getBigUint64(e + 8, true));
    const size = Number(dv.getBigUint64(e + 16, true));
    if (at + size > bytes.length) throw new ImageError(`section ${kind} extends past the end of the file`);
    sections.set(kind, bytes.subarray(at, at + size));
  }
  const need = (k: Section, min: number): DataView => {
    const s = sections.get(k);
    if (!s) throw new ImageError(`missing section ${k}`);
    if (s.byteLength < min) throw new ImageError(`section ${k} too small (${s.byteLength} bytes)`);
    return new DataView(s.buffer, s.byteOffset, s.byteLength);
  };
  const strings = sections.get(Section.Strings) ?? new Uint8Array(0);
  const sub = (at: number, n: number): Uint8Array => {
    if (at + n > strings.length) throw new ImageError('string out of range');
    return strings.slice(at, at + n);
  };
  const text = sections.get(Section.Text);
  if (!text) throw new ImageError('missing text');

  const fm = need(Section.FuncMap, 4);
  const functions: ImageFunction[] = [];
  const nf = fm.getUint32(0, true);
  if (4 + nf * FUNC_ENTRY > fm.byteLength) throw new ImageError('truncated function map');
  for (let k = 0; k < nf; k++) {
    const o = 4 + k * FUNC_ENTRY;
    const u = (i: number): number => fm.getUint32(o + 4 * i, true);
    functions.push({ codeStart: u(0), codeEnd: u(1), frameSize: u(2), paramCount: u(3), wasmOffset: u(4), name: decodeName(sub(u(5), u(6))) });
  }
  const sm = need(Section.SiteMap, 4);
  const sites = new SiteTable();
  const ns = sm.getUint32(0, true);
  if (4 + ns * SITE_ENTRY > sm.byteLength) throw new ImageError('truncated site map');
  for (let k = 0; k < ns; k++) {
    const o = 4 + k * SITE_ENTRY;
    const u = (i: number): number => sm.getUint32(o + 4 * i, true);
    const types = sub(u(6), u(5));
    const at = sites.addTypes(types.length);
    sites.types.set(types, at);
    // whether a site is a check is not in the image
    sites.add(u(0), u(1), u(2), u(3), u(4), types.length, at, -1);
  }
  const md = need(Section.Meta, 0);
  if (md.byteLength < META_FIXED) throw new ImageError('truncated metadata');
  const m = (i: number): number => md.getUint32(4 * i, true);
  const nGlobals = m(8), nStarts = m(9), nExports = m(10);
  if (META_FIXED + 4 * nStarts + EXPORT_ENTRY * nExports + nGlobals > md.byteLength) throw new ImageError('truncated metadata');
  const starts: number[] = [];
  for (let k = 0; k < nStarts; k++) starts.push(md.getUint32(META_FIXED + 4 * k, true));
  const exportAt = (v: DataView, o: number): ImageExport => {
    const u = (i: number): number => v.getUint32(o + 4 * i, true);
    const np = u(4), nr = u(5);
    return { kind: u(0) === 0 ? 'func' : 'global', index: u(1), name: decodeName(sub(u(2), u(3))), params: sub(u(6), np), results: sub(u(6) + np, nr) };
  };
  const exports: ImageExport[] = [];
  let o = META_FIXED + 4 * nStarts;
  for (let k = 0; k < nExports; k++, o += EXPORT_ENTRY) exports.push(exportAt(md, o));
  const globalTypes = new Uint8Array(md.buffer.slice(md.byteOffset + o, md.byteOffset + o + nGlobals));
  const globals = (sections.get(Section.Globals) ?? new Uint8Array(0)).slice();
  const tb = sections.get(Section.Table) ?? new Uint8Array(0);
  if (tb.byteLength % 4) throw new ImageError('table section size not a multiple of 4');
  const tdv = new DataView(tb.buffer, tb.byteOffset, tb.byteLength);
  const entries = new Uint32Array(tb.byteLength / 4);
  for (let k = 0; k < entries.length; k++) entries[k] = tdv.getUint32(4 * k, true);
  const mi = need(Section.Memory, 8);
  const pages = new Map<number, Uint8Array>();
  const np = mi.getUint32(0, true);
  if (8 + 16 * np > mi.byteLength) throw new ImageError('truncated memory index');
  for (let k = 0; k < np; k++) {
    const page = mi.getUint32(8 + 16 * k, true);
    const at = Number(mi.getBigUint64(8 + 16 * k + 8, true));
    if (at + ALIGN > bytes.length) throw new ImageError('memory page past the end of the file');
    pages.set(page, bytes.slice(at, at + ALIGN));
  }
  let store: ImageStore | undefined;
  if (sections.has(Section.Store)) {
    const sv = need(Section.Store, STORE_FIXED);
    const h = (i: number): number => sv.getUint32(4 * i, true);
    const [vmctxSize, nm, nt, ni, nx, ne, nd, nc] = [0, 1, 2, 3, 4, 5, 6, 7].map(h);
    const at = [STORE_FIXED];
    for (const [n, size] of [[nm, STORE_MEMORY], [nt, STORE_TABLE], [ni, STORE_INSTANCE], [nx, EXPORT_ENTRY], [ne, STORE_ELEM], [nd, STORE_DATA], [nc, STORE_CHECK]]) at.push(at[at.length - 1] + n * size);
    if (at[at.length - 1] > sv.byteLength) throw new ImageError('truncated store');
    const w = (base: number, i: number): number => sv.getUint32(base + 4 * i, true);
    const maybe = (v: number): number | null => (v === NONE ? null : v);
    const memories = Array.from({ length: nm }, (_, k) => {
      const b = at[0] + k * STORE_MEMORY;
      return { descOff: w(b, 0), initialPages: w(b, 1), maxPages: maybe(w(b, 2)) };
    });
    const tables = Array.from({ length: nt }, (_, k) => {
      const b = at[1] + k * STORE_TABLE;
      return { descOff: w(b, 0), entriesOff: w(b, 1), initialSize: w(b, 2), maxSize: maybe(w(b, 3)) };
    });
    const range = <T>(first: number, count: number, total: number, get: (k: number) => T): T[] => {
      if (first + count > total) throw new ImageError('store instance range');
      return Array.from({ length: count }, (_, k) => get(first + k));
    };
    const instances: ImageInstance[] = Array.from({ length: ni }, (_, k) => {
      const b = at[2] + k * STORE_INSTANCE;
      const u = (i: number): number => w(b, i);
      return {
        name: decodeName(sub(u(0), u(1))),
        start: maybe(u(2)),
        exports: range(u(3), u(4), nx, (x) => exportAt(sv, at[3] + x * EXPORT_ENTRY)),
        elems: range(u(5), u(6), ne, (e) => {
          const eb = at[4] + e * STORE_ELEM;
          const raw = sub(w(eb, 3), 8 * w(eb, 2));
          const entries = new Uint32Array(2 * w(eb, 2));
          const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
          for (let j = 0; j < entries.length; j++) entries[j] = rv.getUint32(4 * j, true);
          return { tableDesc: w(eb, 0), offset: w(eb, 1), entries };
        }),
        datas: range(u(7), u(8), nd, (d) => {
          const db = at[5] + d * STORE_DATA;
          return { memoryDesc: w(db, 0), offset: w(db, 1), bytes: sub(w(db, 3), w(db, 2)) };
        }),
        checks: range(u(9), u(10), nc, (c) => {
          const cb = at[6] + c * STORE_CHECK;
          return { descOff: w(cb, 0), kind: w(cb, 1) === 0 ? 'memory' as const : 'table' as const, min: w(cb, 2) };
        }),
      };
    });
    store = { vmctxSize, memories, tables, instances };
  }
  let tables: ImageTables | undefined;
  if (sections.has(Section.Tables)) {
    const tv = need(Section.Tables, TABLES_FIXED);
    const nt = tv.getUint32(0, true), ns = tv.getUint32(4, true);
    if (TABLES_FIXED + nt * TABLES_TABLE + ns * TABLES_SEGMENT > tv.byteLength) throw new ImageError('truncated tables section');
    const u = (at: number): number => tv.getUint32(at, true);
    const words = (off: number, n: number): BigUint64Array => {
      const raw = sub(off, 8 * n);
      const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      return BigUint64Array.from({ length: n }, (_, k) => rv.getBigUint64(8 * k, true));
    };
    tables = {
      tables: Array.from({ length: nt }, (_, k) => {
        const b = TABLES_FIXED + k * TABLES_TABLE;
        return {
          descOff: u(b), initialSize: u(b + 4), maxSize: u(b + 8) === NONE ? null : u(b + 8),
          entries: u(b + 12) === NONE ? null : words(u(b + 12), u(b + 4)), elemType: u(b + 16),
        };
      }),
      segments: Array.from({ length: ns }, (_, k) => {
        const b = TABLES_FIXED + nt * TABLES_TABLE + k * TABLES_SEGMENT;
        return { words: words(u(b + 4), u(b)), dropped: u(b + 8) !== 0 };
      }),
    };
  }
  let modules: ImageModule[] | undefined;
  if (sections.has(Section.Modules)) {
    const mv = need(Section.Modules, 4);
    const n = mv.getUint32(0, true);
    if (4 + 48 * n > mv.byteLength) throw new ImageError('truncated module list');
    modules = [];
    for (let k = 0; k < n; k++) {
      const u = (i: number): number => mv.getUint32(4 + 48 * k + 4 * i, true);
      modules.push({
        name: decodeName(sub(u(0), u(1))), bytes: sub(u(2), u(3)), funcBase: u(4), importedFuncs: u(5), definedFuncs: u(6),
        globalBase: u(7), importedGlobals: u(8), definedGlobals: u(9), dataBase: u(10), dataSegments: u(11),
      });
    }
  }
  let resume: ImageResume | undefined;
  if (sections.has(Section.Resume)) {
    const rv = need(Section.Resume, 16);
    const u = (at: number): number => rv.getUint32(at, true);
    const frames: ImageResume['frames'] = [];
    let at = 16;
    for (let k = 0; k < u(12); k++) {
      if (at + 16 > rv.byteLength) throw new ImageError('truncated resume section');
      const n = u(at + 12);
      if (at + 16 + 8 * n > rv.byteLength) throw new ImageError('truncated resume section');
      const slots = new BigUint64Array(n);
      for (let j = 0; j < n; j++) slots[j] = rv.getBigUint64(at + 16 + 8 * j, true);
      frames.push({ codeOffset: u(at), fpOffset: u(at + 4), paramCount: u(at + 8), slots });
      at += 16 + 8 * n;
    }
    resume = { state: u(0) === 0 ? 'halted' : 'suspended', resumeStub: u(4), entryReturn: u(8), frames };
  }
  return {
    modules,
    resume,
    ...(sections.has(Section.Template) ? { snapshotTemplate: sections.get(Section.Template)!.slice() } : {}),
    store,
    arch,
    text: text.slice(),
    ...(sections.has(Section.Rodata) ? { rodata: sections.get(Section.Rodata)!.slice() } : {}),
    stubs: { entry: m(0) },
    functions,
    sites,
    exports,
    starts,
    memory: m(2) ? { initialPages: m(3), maxPages: m(4) === NONE ? null : m(4), pages } : null,
    globals,
    globalTypes,
    tables,
    table: m(5) ? { initialSize: m(6), maxSize: m(7) === NONE ? null : m(7), entries } : null,
    instantiationTrap: m(1),
    cpuFeatures: m(11),
  };
}

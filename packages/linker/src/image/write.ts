import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'fs';
import { randomBytes } from 'crypto';
import { LIMITS, overLimit } from '@wagc/frontend';
import { basename, dirname, join } from 'path';
import type { ImageExport, ImageInput } from './types';
import { ALIGN, ARCH_TAG, EXPORT_ENTRY, FUNC_ENTRY, HEADER_SIZE, MAGIC, META_FIXED, NONE, SECTION_ENTRY_SIZE, SITE_ENTRY, Section, VERSION } from './format';

/** Little-endian byte writer that grows as needed. */
class Bytes {
  buf = new Uint8Array(1024);
  dv = new DataView(this.buf.buffer);
  pos = 0;
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  u8(v: number): void { this.room(1); this.buf[this.pos++] = v; }
  u32(v: number): void { this.room(4); this.dv.setUint32(this.pos, v >>> 0, true); this.pos += 4; }
  u64(v: bigint): void { this.room(8); this.dv.setBigUint64(this.pos, v, true); this.pos += 8; }
  bytes(b: Uint8Array): void { this.room(b.length); this.buf.set(b, this.pos); this.pos += b.length; }
  align(n: number): void { while (this.pos % n) this.u8(0); }
  done(): Uint8Array { return this.buf.slice(0, this.pos); }
}

const utf8 = new TextEncoder();

export interface WriteOptions {
  /** The most bytes the image may take, holes included (LIMITS.imageSize, or less). */
  maxSize?: number;
}

/** Serialises an image (docs/image-format.md). */
export function writeImage(img: ImageInput, opts: WriteOptions = {}): Uint8Array {
  const strings = new Bytes();
  const str = (s: string | Uint8Array): [number, number] => {
    const b = typeof s === 'string' ? utf8.encode(s) : s;
    const at = strings.pos;
    strings.bytes(b);
    return [at, b.length];
  };

  const funcs = new Bytes();
  funcs.u32(img.functions.length);
  for (const f of img.functions) {
    const [no, nl] = str(f.name);
    funcs.u32(f.codeStart); funcs.u32(f.codeEnd); funcs.u32(f.frameSize); funcs.u32(f.paramCount);
    funcs.u32(f.wasmOffset); funcs.u32(no); funcs.u32(nl);
  }

  const sites = new Bytes();
  sites.u32(img.sites.length);
  for (const s of img.sites) {
    const [to] = str(s.slotTypes);
    sites.u32(s.codeOffset); sites.u32(s.func); sites.u32(s.site); sites.u32(s.fpOffset);
    sites.u32(s.wasmOffset); sites.u32(s.slotTypes.length); sites.u32(to);
  }

  const meta = new Bytes();
  const mem = img.memory;
  const tab = img.table;
  meta.u32(img.stubs.entry);
  meta.u32(img.instantiationTrap);
  meta.u32(mem ? 1 : 0);
  meta.u32(mem ? mem.initialPages : 0);
  meta.u32(mem && mem.maxPages !== null ? mem.maxPages : NONE);
  meta.u32(tab ? 1 : 0);
  meta.u32(tab ? tab.initialSize : 0);
  meta.u32(tab && tab.maxSize !== null ? tab.maxSize : NONE);
  meta.u32(img.globalTypes.length);
  meta.u32(img.starts.length);
  meta.u32(img.exports.length);
  meta.u32(img.cpuFeatures ?? 0);
  if (meta.pos !== META_FIXED) throw new Error('image: meta header size');
  for (const s of img.starts) meta.u32(s);
  function exportEntry(to: Bytes, e: ImageExport): void {
    const [no, nl] = str(e.name);
    const [po] = str(e.params);
    str(e.results); // the results follow the params in the string table
    to.u32(e.kind === 'func' ? 0 : 1); to.u32(e.index); to.u32(no); to.u32(nl);
    to.u32(e.params.length); to.u32(e.results.length); to.u32(po);
  }
  for (const e of img.exports) exportEntry(meta, e);
  meta.bytes(img.globalTypes);

  const store = new Bytes();
  if (img.store) {
    const st = img.store;
    const nx = st.instances.reduce((n, i) => n + i.exports.length, 0);
    const ne = st.instances.reduce((n, i) => n + i.elems.length, 0);
    const nd = st.instances.reduce((n, i) => n + i.datas.length, 0);
    const nc = st.instances.reduce((n, i) => n + i.checks.length, 0);
    for (const v of [st.vmctxSize, st.memories.length, st.tables.length, st.instances.length, nx, ne, nd, nc]) store.u32(v);
    for (const m of st.memories) { store.u32(m.descOff); store.u32(m.initialPages); store.u32(m.maxPages ?? NONE); }
    for (const t of st.tables) { store.u32(t.descOff); store.u32(t.entriesOff); store.u32(t.initialSize); store.u32(t.maxSize ?? NONE); }
    let x = 0, e = 0, d = 0, c = 0;
    for (const i of st.instances) {
      const [no, nl] = str(i.name);
      for (const v of [no, nl, i.start ?? NONE, x, i.exports.length, e, i.elems.length, d, i.datas.length, c, i.checks.length]) store.u32(v);
      x += i.exports.length; e += i.elems.length; d += i.datas.length; c += i.checks.length;
    }
    for (const i of st.instances) for (const ex of i.exports) exportEntry(store, ex);
    for (const i of st.instances) {
      for (const s of i.elems) {
        const words = new Uint8Array(s.entries.buffer, s.entries.byteOffset, s.entries.byteLength);
        const [eo] = str(words);
        store.u32(s.tableDesc); store.u32(s.offset); store.u32(s.entries.length / 2); store.u32(eo);
      }
    }
    for (const i of st.instances) {
      for (const s of i.datas) {
        const [bo] = str(s.bytes);
        store.u32(s.memoryDesc); store.u32(s.offset); store.u32(s.bytes.length); store.u32(bo);
      }
    }
    for (const i of st.instances) for (const k of i.checks) { store.u32(k.descOff); store.u32(k.kind === 'memory' ? 0 : 1); store.u32(k.min); }
  }

  const tables = new Bytes();
  if (img.tables) {
    const words = (w: BigUint64Array): number => str(new Uint8Array(w.buffer, w.byteOffset, w.byteLength))[0];
    tables.u32(img.tables.tables.length);
    tables.u32(img.tables.segments.length);
    for (const t of img.tables.tables) {
      // all-null initial entries (most tables, and every large one in practice) take no bytes
      const init = t.entries && t.entries.some((w) => w !== 0n) ? words(t.entries) : NONE;
      for (const v of [t.descOff, t.initialSize, t.maxSize ?? NONE, init, t.elemType, 0]) tables.u32(v);
    }
    for (const sg of img.tables.segments) {
      tables.u32(sg.words.length); tables.u32(words(sg.words)); tables.u32(sg.dropped ? 1 : 0);
    }
  }

  const table = new Bytes();
  if (tab) for (let k = 0; k < tab.entries.length; k++) table.u32(tab.entries[k]);

  // sections with their contents; memory pages are appended, each 64 KiB-aligned
  // sections 10 and 11 add strings: written before the string table is taken
  const extra: [Section, Uint8Array][] = [];
  if (img.modules) {
    const mods = new Bytes();
    mods.u32(img.modules.length);
    for (const m of img.modules) {
      const [no, nl] = str(m.name);
      const [bo, bl] = str(m.bytes);
      for (const v of [no, nl, bo, bl, m.funcBase, m.importedFuncs, m.definedFuncs, m.globalBase, m.importedGlobals, m.definedGlobals, m.dataBase, m.dataSegments]) mods.u32(v);
    }
    extra.push([Section.Modules, mods.done()]);
  }
  if (img.resume) {
    const r = new Bytes();
    r.u32(img.resume.state === 'halted' ? 0 : 1);
    r.u32(img.resume.resumeStub);
    r.u32(img.resume.entryReturn);
    r.u32(img.resume.frames.length);
    for (const f of img.resume.frames) {
      r.u32(f.codeOffset); r.u32(f.fpOffset); r.u32(f.paramCount); r.u32(f.slots.length);
      for (const v of f.slots) r.u64(v);
    }
    extra.push([Section.Resume, r.done()]);
  }
  if (img.snapshotTemplate) extra.push([Section.Template, img.snapshotTemplate]);
  const contents: [Section, Uint8Array][] = [
    [Section.Text, img.text],
    ...(img.rodata ? [[Section.Rodata, img.rodata] as [Section, Uint8Array]] : []),
    [Section.FuncMap, funcs.done()],
    [Section.SiteMap, sites.done()],
    [Section.Meta, meta.done()],
    [Section.Strings, strings.done()],
    [Section.Globals, img.globals],
  ];
  // section 7, table 0's entries, is no longer read by the loader (section 12 has every table):
  // written only when given entries (hand-made images), so a large table costs no bytes
  if (table.pos) contents.push([Section.Table, table.done()]);
  if (img.store) contents.push([Section.Store, store.done()]);
  if (img.tables) contents.push([Section.Tables, tables.done()]);
  contents.push(...extra);
  const pageList = mem ? [...mem.pages.entries()].filter(([, p]) => p.some((b) => b !== 0)).sort((a, b) => a[0] - b[0]) : [];
  const memIndex = new Bytes();
  const count = contents.length + 1;
  let offset = align(HEADER_SIZE + SECTION_ENTRY_SIZE * count, ALIGN);
  const placed: [Section, number, Uint8Array][] = [];
  for (const [kind, data] of contents) {
    placed.push([kind, offset, data]);
    offset = align(offset + data.length, ALIGN);
  }
  // memory index: page count, then (page index, file offset) pairs; pages follow the index
  memIndex.u32(pageList.length);
  memIndex.u32(0);
  const indexAt = offset;
  const indexSize = 8 + 16 * pageList.length;
  let pageAt = align(indexAt + indexSize, ALIGN);
  for (const [page] of pageList) {
    memIndex.u32(page); memIndex.u32(0); memIndex.u64(BigInt(pageAt));
    pageAt += ALIGN;
  }
  placed.push([Section.Memory, indexAt, memIndex.done()]);
  const total = pageList.length ? pageAt : align(indexAt + indexSize, 8);
  const max = Math.min(opts.maxSize ?? LIMITS.imageSize, LIMITS.imageSize);
  if (total > max) throw overLimit('image too large (bytes)', total, max, -1);

  // a fresh array is zero, and the memory pages' zero blocks are never written: they stay
  // untouched here and holes in the file (writeImageFile)
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(utf8.encode(MAGIC), 0);
  dv.setUint32(8, VERSION, true);
  dv.setUint32(12, ARCH_TAG[img.arch], true);
  dv.setUint32(16, ALIGN, true);
  dv.setUint32(20, placed.length, true);
  placed.forEach(([kind, at, data], k) => {
    const e = HEADER_SIZE + SECTION_ENTRY_SIZE * k;
    dv.setUint32(e, kind, true);
    dv.setUint32(e + 4, 0, true);
    dv.setBigUint64(e + 8, BigInt(at), true);
    dv.setBigUint64(e + 16, BigInt(data.length), true);
    out.set(data, at);
  });
  let p = align(indexAt + indexSize, ALIGN);
  for (const [, data] of pageList) {
    for (let b = 0; b < ALIGN; b += HOLE_BLOCK) {
      const block = data.subarray(b, b + HOLE_BLOCK);
      if (!isZero(block)) out.set(block, p + b);
    }
    p += ALIGN;
  }
  return out;
}

function align(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

/** Blocks of zeros this long are left as holes (the smallest page size the loaders run on). */
const HOLE_BLOCK = 4096;

function isZero(b: Uint8Array): boolean {
  // 8 bytes at a time where aligned
  if (b.byteOffset % 8 === 0 && b.length % 8 === 0) {
    const w = new BigUint64Array(b.buffer, b.byteOffset, b.length / 8);
    for (let k = 0; k < w.length; k++) if (w[k] !== 0n) return false;
    return true;
  }
  for (let k = 0; k < b.length; k++) if (b[k] !== 0) return false;
  return true;
}

/** NAME_MAX of Linux file systems: a temporary name must not pass it even when `path`'s does not. */
const NAME_MAX = 255;

/**
 * Writes a file atomically: a temporary file in the same directory, then a rename. 4 KiB blocks of
 * zeros are not written (the file is sized first), so they are holes: an image's scattered
 * memory pages take the blocks of their data, not 64 KiB each.
 */
export function writeImageFile(path: string, bytes: Uint8Array): void {
  // `.NAME.RANDOM.tmp`, NAME cut (by characters) so that the whole stays within NAME_MAX bytes
  const suffix = `.${randomBytes(6).toString('hex')}.tmp`;
  let name = basename(path);
  while (name && Buffer.byteLength(`.${name}${suffix}`) > NAME_MAX) name = name.slice(0, -1);
  const tmp = join(dirname(path), `.${name}${suffix}`);
  let fd = -1;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    ftruncateSync(fd, bytes.length);
    let off = 0;
    while (off < bytes.length) {
      const end = Math.min(bytes.length, off + HOLE_BLOCK);
      if (isZero(bytes.subarray(off, end))) {
        off = end;
        continue;
      }
      let at = off;
      while (at < end) at += writeSync(fd, bytes, at, end - at, at);
      off = end;
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    try { unlinkSync(tmp); } catch { /* not created */ }
    throw e;
  }
}

export { EXPORT_ENTRY, FUNC_ENTRY, SITE_ENTRY };

import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'fs';
import { randomBytes } from 'crypto';
import { basename, dirname, join } from 'path';
import { LIMITS, overLimit, SITE_WORDS, SiteWord } from '@wagc/frontend';
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

/**
 * The Strings section as it is built: small strings copied into a buffer, large blobs (a module's
 * bytes, the sites' slot types) kept as views, so that nothing large is copied before the file.
 */
class Strings {
  parts: Uint8Array[] = [];
  size = 0;
  private small = new Bytes();

  add(b: Uint8Array): number {
    const at = this.size;
    if (b.length >= 4096) {
      this.flush();
      this.parts.push(b);
    } else this.small.bytes(b);
    this.size += b.length;
    return at;
  }

  private flush(): void {
    if (this.small.pos) this.parts.push(this.small.done());
    this.small = new Bytes();
  }

  done(): Uint8Array[] {
    this.flush();
    return this.parts;
  }
}

/**
 * An image as the byte ranges that make it up: `parts` at their file offsets, zeros everywhere
 * else, `size` bytes in all. The text, the modules' bytes and the memory pages are views of what
 * the linker produced, not copies.
 */
export interface ImageParts {
  size: number;
  parts: { at: number; bytes: Uint8Array }[];
}

export interface WriteOptions {
  /** The most bytes the image may take, holes included (LIMITS.imageSize, or less). */
  maxSize?: number;
}

/** Serialises an image (docs/image-format.md). */
export function writeImage(img: ImageInput, opts: WriteOptions = {}): Uint8Array {
  const { size, parts } = imageParts(img, opts);
  const out = new Uint8Array(size);
  for (const p of parts) out.set(p.bytes, p.at);
  return out;
}

/** The image (docs/image-format.md) as its parts, for writeImageFile. */
export function imageParts(img: ImageInput, opts: WriteOptions = {}): ImageParts {
  const strings = new Strings();
  const str = (s: string | Uint8Array): [number, number] => {
    const b = typeof s === 'string' ? utf8.encode(s) : s;
    return [strings.add(b), b.length];
  };

  const funcs = new Bytes();
  funcs.u32(img.functions.length);
  for (const f of img.functions) {
    const [no, nl] = str(f.name);
    funcs.u32(f.codeStart); funcs.u32(f.codeEnd); funcs.u32(f.frameSize); funcs.u32(f.paramCount);
    funcs.u32(f.wasmOffset); funcs.u32(no); funcs.u32(nl);
  }

  // the site map: the table's rows less their check word, the slot types one blob in Strings
  const st = img.sites;
  const typesAt = str(st.types.subarray(0, st.typesUsed))[0];
  const siteMap = siteMapOf(st.words, st.count, typesAt);

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
  // a section's contents: one array, or several one after the other (Strings)
  const contents: [Section, Uint8Array | Uint8Array[]][] = [
    [Section.Text, img.text],
    ...(img.rodata ? [[Section.Rodata, img.rodata] as [Section, Uint8Array]] : []),
    [Section.FuncMap, funcs.done()],
    [Section.SiteMap, siteMap],
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
  const pageList = mem ? [...mem.pages.entries()].filter(([, p]) => !allZero(p)).sort((a, b) => a[0] - b[0]) : [];
  const memIndex = new Bytes();
  const count = contents.length + 1;
  let offset = align(HEADER_SIZE + SECTION_ENTRY_SIZE * count, ALIGN);
  const placed: [Section, number, Uint8Array[]][] = [];
  for (const [kind, data] of contents) {
    const list = Array.isArray(data) ? data : [data];
    placed.push([kind, offset, list]);
    offset = align(offset + list.reduce((n, d) => n + d.length, 0), ALIGN);
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
  placed.push([Section.Memory, indexAt, [memIndex.done()]]);
  const total = pageList.length ? pageAt : align(indexAt + indexSize, 8);
  const max = Math.min(opts.maxSize ?? LIMITS.imageSize, LIMITS.imageSize);
  if (total > max) throw overLimit('image too large (bytes)', total, max, -1);

  const header = new Uint8Array(HEADER_SIZE + SECTION_ENTRY_SIZE * placed.length);
  const dv = new DataView(header.buffer);
  header.set(utf8.encode(MAGIC), 0);
  dv.setUint32(8, VERSION, true);
  dv.setUint32(12, ARCH_TAG[img.arch], true);
  dv.setUint32(16, ALIGN, true);
  dv.setUint32(20, placed.length, true);
  const parts: ImageParts['parts'] = [{ at: 0, bytes: header }];
  placed.forEach(([kind, at, list], k) => {
    const e = HEADER_SIZE + SECTION_ENTRY_SIZE * k;
    let size = 0;
    for (const d of list) {
      if (d.length) parts.push({ at: at + size, bytes: d });
      size += d.length;
    }
    dv.setUint32(e, kind, true);
    dv.setUint32(e + 4, 0, true);
    dv.setBigUint64(e + 8, BigInt(at), true);
    dv.setBigUint64(e + 16, BigInt(size), true);
  });
  let p = align(indexAt + indexSize, ALIGN);
  for (const [, data] of pageList) {
    // zero 4 KiB blocks of a page are not parts: holes in the file (writeImageFile)
    for (let b = 0; b < ALIGN; b += HOLE_BLOCK) {
      const block = data.subarray(b, b + HOLE_BLOCK);
      if (!isZero(block)) parts.push({ at: p + b, bytes: block });
    }
    p += ALIGN;
  }
  return { size: total, parts };
}

const ROW = SITE_WORDS, TYPES_OFF = SiteWord.TypesOff, LITTLE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** The SiteMap section: `count` rows of `words` (SiteTable), their types `typesAt` into Strings. */
function siteMapOf(words: Int32Array, count: number, typesAt: number): Uint8Array {
  const map = new Uint8Array(4 + SITE_ENTRY * count);
  const dv = new DataView(map.buffer);
  dv.setUint32(0, count, true);
  if (LITTLE) {
    const u = new Int32Array(map.buffer, 4);
    for (let k = 0, w = 0, o = 0; k < count; k++, w += ROW, o += 7) {
      for (let f = 0; f < 6; f++) u[o + f] = words[w + f];
      u[o + 6] = typesAt + words[w + TYPES_OFF];
    }
  } else {
    for (let k = 0, w = 0, o = 4; k < count; k++, w += ROW, o += SITE_ENTRY) {
      for (let f = 0; f < 6; f++) dv.setUint32(o + 4 * f, words[w + f], true);
      dv.setUint32(o + 24, typesAt + words[w + TYPES_OFF], true);
    }
  }
  return map;
}

/** A memory page of zeros only (not stored). */
function allZero(page: Uint8Array): boolean {
  const words = page.byteOffset % 4 === 0 && page.length % 4 === 0 ? new Uint32Array(page.buffer, page.byteOffset, page.length / 4) : page;
  for (let k = 0; k < words.length; k++) if (words[k] !== 0) return false;
  return true;
}

function align(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

/** Blocks of zeros this long are left as holes (the smallest page size the loaders run on). */
const HOLE_BLOCK = 4096;

function isZero(b: Uint8Array): boolean {
  // 4 bytes at a time where aligned
  const words = b.byteOffset % 4 === 0 && b.length % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, b.length / 4) : b;
  for (let k = 0; k < words.length; k++) if (words[k] !== 0) return false;
  return true;
}

/** NAME_MAX of Linux file systems: a temporary name must not pass it even when `path`'s does not. */
const NAME_MAX = 255;

/**
 * Writes a file atomically: a temporary file in the same directory, then a rename. `image` is the
 * file's bytes, or an image's parts (imageParts), written where they go without first assembling
 * the whole image in memory. The file is sized first and 4 KiB blocks of zeros are not written,
 * so they are holes: an image's scattered memory pages take the blocks of their data, not 64 KiB
 * each.
 */
export function writeImageFile(path: string, image: Uint8Array | ImageParts): void {
  // `.NAME.RANDOM.tmp`, NAME cut (by characters) so that the whole stays within NAME_MAX bytes
  const suffix = `.${randomBytes(6).toString('hex')}.tmp`;
  let name = basename(path);
  while (name && Buffer.byteLength(`.${name}${suffix}`) > NAME_MAX) name = name.slice(0, -1);
  const tmp = join(dirname(path), `.${name}${suffix}`);
  const { size, parts } = image instanceof Uint8Array ? { size: image.length, parts: [{ at: 0, bytes: image }] } : image;
  let fd = -1;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    ftruncateSync(fd, size);
    for (const { at, bytes } of parts) {
      // runs of blocks with data, one write each
      for (let off = 0; off < bytes.length;) {
        let end = Math.min(bytes.length, off + HOLE_BLOCK);
        if (isZero(bytes.subarray(off, end))) {
          off = end;
          continue;
        }
        while (end < bytes.length && !isZero(bytes.subarray(end, Math.min(bytes.length, end + HOLE_BLOCK)))) end = Math.min(bytes.length, end + HOLE_BLOCK);
        for (let w = off; w < end;) w += writeSync(fd, bytes, w, end - w, at + w);
        off = end;
      }
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

import {
  CompileError, CompileOutput, DESC, FunctionCompiler, HOSTCALLS, Trap, VMCTX, decodeModule, importIndex, validateModule,
  type Backend, type StubEmitter, type FunctionEnv, type Module, type FuncType, type GlobalType,
  type ConstExpr, type Limits,
} from '@wagc/frontend';
import { X64Backend, x64Stubs } from '@wagc/x86-64';
import { A64Backend, a64Stubs } from '@wagc/arm64';
import type { Arch, ImageInput, ImageFunction, ImageExport, ImageInstance, ImageModule, ImageResume } from './image/types';
import { writeImage } from './image';
import { placeChunks, takeChunk, type Chunk, type ChunkSource, type ParallelReport } from './parallel';

/** An import that does not resolve, or resolves to something of the wrong type. */
export class LinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkError';
  }
}

export interface ProgramModule {
  /** The name other modules import it by. */
  name: string;
  bytes: Uint8Array;
  /**
   * Which earlier module (index in `modules`) each import module name means; without it, the
   * nearest earlier module of that name.
   */
  links?: Map<string, number>;
}

export interface ProgramOptions {
  /** Linked in order; the last is the main module (its exports and memory are the image's). */
  modules: ProgramModule[];
  arch: Arch;
  /**
   * 'strict' (default): an unresolved import is a LinkError. 'trap' (`wagc --trap-unknown-imports`):
   * each unresolved function is a stub named `module.name` that traps "unknown import" when called
   * (trap id 13; the loader prints `trap: unknown import module.name called`), and unresolved
   * memories, tables and globals take the importer's type with zero contents (for modules whose
   * host is absent).
   */
  unresolved?: 'strict' | 'trap';
  /**
   * Every module is an instance with its own memory and table, instantiated one by one when the
   * loader is asked to (the spec harness's `register` linking; docs/ARCHITECTURE.md, "Several
   * instances"). Off: the ordinary program of one memory and one table.
   */
  store?: boolean;
  /**
   * CPU_FEATURE bits (@wagc/frontend) the code may use beyond the arch's baseline; default none.
   * The image records the ones its code really uses (docs/image-format.md, Meta).
   */
  cpuFeatures?: number;
  /** The most bytes the image may take, holes included (LIMITS.imageSize, or less: wagc --max-image-size). */
  maxImageSize?: number;
  /**
   * Builds the image of a snapshot (ARCHITECTURE §6): a halted instance, or a suspended stack to
   * resume, innermost frame first, each naming a module (index in `modules`), a function of it
   * and a site; the slots must be what this arch's site map says the site holds.
   */
  resume?: {
    state: 'halted' | 'suspended';
    frames: ResumeFrame[];
    /**
     * Called with this link's site map (module: index in `modules`) before any frame is built:
     * the snapshot's resume rules (@wagc/snapshot-format's checkResume) need the slot types the
     * compiler records; it throws to refuse the snapshot.
     */
    check?: (sites: ResumeSite[]) => void;
  };
}

/** A site of the link in module terms, for ProgramOptions.resume.check. */
export interface ResumeSite {
  module: number;
  func: number;
  site: number;
  slotTypes: Uint8Array;
  check: boolean;
}

export interface ResumeFrame {
  module: number;
  func: number;
  site: number;
  types: Uint8Array;
  /** Slot bits; a non-null funcref is `module << 32 | function index + 1` (module: index in `modules`). */
  slots: BigUint64Array;
}

export function hostArch(): Arch {
  return process.arch === 'arm64' ? 'arm64' : 'x86-64';
}

function backendFor(arch: Arch, cpuFeatures: number): { backend: Backend; stubs: StubEmitter } {
  if (arch === 'x86-64') return { backend: new X64Backend(cpuFeatures), stubs: x64Stubs };
  if (cpuFeatures !== 0) throw new LinkError('no optional CPU features are defined for arm64');
  return { backend: new A64Backend(), stubs: a64Stubs };
}

type Extern =
  | { kind: 'func'; linked: number; type: FuncType }
  | { kind: 'global'; slot: number; type: GlobalType }
  | { kind: 'memory'; limits: Limits; mem: number }
  | { kind: 'table'; limits: Limits; elemType: number; tab: number };

interface LinkedModule {
  name: string;
  m: Module;
  funcLinked: number[]; // module function index -> linked index
  globalSlots: number[];
  exports: Map<string, Extern>;
  /** store mode: linked memory and table 0 (-1: none), and the import size checks */
  mem: number;
  tab: number;
  /** linked index of each of the module's tables (imported ones: the provider's) */
  tabs: number[];
  /** linked index of each of the module's element segments */
  elems: number[];
  checks: { mem: number; tab: number; min: number }[];
  /** global slot of data segment 0's state (docs/ARCHITECTURE.md, "Data segments"); -1: none */
  dataBase: number;
}

function typeKey(t: FuncType): string {
  return `${Array.from(t.params).join(',')}:${Array.from(t.results).join(',')}`;
}

const VALTYPE_NAMES: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

/** A function type in text format: `func (param i32 i64) (result i32)`. */
function typeText(t: FuncType): string {
  const names = (v: Uint8Array): string => Array.from(v, (c) => VALTYPE_NAMES[c] ?? `0x${c.toString(16)}`).join(' ');
  const parts = [t.params.length ? `(param ${names(t.params)})` : '', t.results.length ? `(result ${names(t.results)})` : ''].filter(Boolean);
  return ['func', ...parts].join(' ');
}

function sameType(a: FuncType, b: FuncType): boolean {
  return typeKey(a) === typeKey(b);
}

/** Import limits: the provider's range must lie within what the importer accepts. */
function limitsMatch(provided: Limits, wanted: Limits): boolean {
  if (provided.min < wanted.min) return false;
  if (wanted.max === null) return true;
  return provided.max !== null && provided.max <= wanted.max;
}

const I64 = 0x7e, F32 = 0x7d, V128 = 0x7b;

/** The frame slots a function's parameters take: one each, two for a v128 (frontend frame.ts). */
function paramSlots(t: FuncType): number {
  let n = 0;
  for (let k = 0; k < t.params.length; k++) n += t.params[k] === V128 ? 2 : 1;
  return n;
}

/** Compiles and links several modules into one image (docs/ARCHITECTURE.md). */
export function compileProgram(opts: ProgramOptions): Uint8Array {
  return writeImage(linkProgram(opts), { maxSize: opts.maxImageSize });
}

export function linkProgram(opts: ProgramOptions): ImageInput {
  return link(opts, null, null)!;
}

/**
 * linkProgram; in a worker thread (`chunks` given) only its first half and the compiling of the
 * function ranges `chunks` hands out (null then: each went to chunks.done); with `compiled`, the
 * chunks the workers compiled are put in place instead of compiling (parallel.ts), or, when they
 * cannot be (a worker failed, a limit is passed), compiled here after all.
 */
export function link(opts: ProgramOptions, chunks: ChunkSource | null, compiled: Chunk[] | null, report?: ParallelReport): ImageInput | null {
  const { backend, stubs } = backendFor(opts.arch, opts.cpuFeatures ?? 0);
  const out = new CompileOutput();
  out.buf.limit = Math.min(out.buf.limit, backend.maxCodeSize ?? Infinity);
  out.stubs = stubs.emitStubs(out.buf);
  const typeIds = new Map<string, number>();
  const typeId = (t: FuncType): number => {
    const k = typeKey(t);
    let id = typeIds.get(k);
    if (id === undefined) typeIds.set(k, (id = typeIds.size));
    return id;
  };

  const functions: ImageFunction[] = [];
  const globalInit: bigint[] = [];
  const globalTypes: number[] = [];
  const hostcallLinked = new Map<number, number>();
  // a global takes one 8-byte slot, a v128 two (bytes 0–7 first; docs/ARCHITECTURE.md, "vmctx")
  const pushGlobal = (v: bigint, type: number): void => {
    globalInit.push(BigInt.asUintN(64, v));
    globalTypes.push(type);
    if (type === V128) {
      globalInit.push(BigInt.asUintN(64, v >> 64n));
      globalTypes.push(type);
    }
  };
  const linked: LinkedModule[] = [];
  const mainIndex = opts.modules.length - 1;
  const store = opts.store === true;
  // store mode: every memory defined by some module, with the limits it declared; every mode:
  // every table (docs/image-format.md, section 12)
  const linkedMems: Limits[] = [];
  const linkedTabs: { limits: Limits; elemType: number }[] = [];
  // every element segment, evaluated: 8-byte reference words (docs/ARCHITECTURE.md, "References")
  const linkedElems: { words: BigUint64Array; dropped: boolean }[] = [];
  const funcRef = (lm: LinkedModule, f: number): bigint =>
    BigInt(typeId(funcTypeOf(lm.m, f)) + 1) | (BigInt(lm.funcLinked[f]) << 32n);
  const evalConst = (e: ConstExpr, lm: LinkedModule, globals: bigint[]): bigint =>
    e.kind === 'reffunc' ? funcRef(lm, e.index) : evalPlain(e, lm, globals);
  // an import's maximum must be within the importer's; its current size is checked when the
  // importer is instantiated (it may have grown since the exporter declared it)
  const maxMatch = (provided: Limits, wanted: Limits): boolean =>
    wanted.max === null || (provided.max !== null && provided.max <= wanted.max);

  // the image's single memory and table 0 come from the main module (defined or imported)
  const decoded = opts.modules.map((pm) => {
    const m = decodeModule(pm.bytes);
    validateModule(m);
    return m;
  });
  // call_indirect's type ids, numbered up front in module and type order rather than at first
  // use, so that functions compiled apart (parallel.ts) agree on them
  for (const m of decoded) for (const t of m.types) typeId(t);

  let memory: Limits | null = null;
  let table: { limits: Limits; elemType: number } | null = null;

  // each linked function's canonical type id: the function table holds it beside the code
  // offset, so call_indirect checks a callee's type against this trusted copy, not the table word
  const funcTypeIds: number[] = [];
  // a stub per import, named after it: calling it traps "unknown import", and the loader names
  // the import from the stub's function entry; its type in the function table is the importer's
  const unresolvedFunc = (module: string, name: string, type: FuncType): number => {
    const at = stubs.emitImportTrapStub(out.buf, out.stubs.traps[Trap.UnknownImport]);
    const li = functions.length;
    functions.push({ name: `${module}.${name}`, codeStart: at, codeEnd: out.buf.pos, frameSize: 0, paramCount: type.params.length, wasmOffset: 0 });
    funcTypeIds.push(typeId(type));
    return li;
  };

  const resolve = (k: number, module: string, name: string): Extern | undefined => {
    const to = opts.modules[k].links?.get(module);
    if (to !== undefined) return to < k ? linked[to].exports.get(name) : undefined;
    for (let j = k - 1; j >= 0; j--) if (linked[j].name === module) return linked[j].exports.get(name);
    return undefined;
  };

  // names the import, what it was imported as, and why nothing provides it
  const unknownImport = (k: number, module: string, name: string, as: string): string => {
    const to = opts.modules[k].links?.get(module);
    const provider = to !== undefined ? (to < k ? linked[to] : undefined) : linked.slice(0, k).reverse().find((l) => l.name === module);
    const why = provider
      ? `module "${module}" has no export "${name}"`
      : `no module "${module}" is linked${k > 0 ? ` (linked: ${linked.slice(0, k).map((l) => `"${l.name}"`).join(', ')})` : ''}`;
    return `unknown import ${module}.${name} (${as}): ${why}`;
  };

  for (let k = 0; k < decoded.length; k++) {
    const m = decoded[k];
    const pm = opts.modules[k];
    const lm: LinkedModule = { name: pm.name, m, funcLinked: [], globalSlots: [], exports: new Map(), mem: -1, tab: -1, tabs: [], elems: [], checks: [], dataBase: -1 };
    for (const imp of m.imports) {
      const what = `${imp.module}.${imp.name}`;
      const d = imp.desc;
      if (d.kind === 'func') {
        const want = m.types[d.typeIndex];
        if (imp.module === 'gate') {
          const hc = HOSTCALLS.find((h) => h.name === imp.name);
          if (!hc) throw new LinkError(`unknown import ${what}: no such host call`);
          if (!sameType(want, { params: Uint8Array.from(hc.params), results: Uint8Array.from(hc.results) })) {
            throw new LinkError(`incompatible import type for ${what}`);
          }
          let li = hostcallLinked.get(hc.id);
          if (li === undefined) {
            const at = stubs.emitHostcallStub(out.buf, hc.id, hc.params.length);
            li = functions.length;
            functions.push({ name: `gate.${hc.name}`, codeStart: at, codeEnd: out.buf.pos, frameSize: 0, paramCount: hc.params.length, wasmOffset: 0 });
            funcTypeIds.push(typeId(want));
            hostcallLinked.set(hc.id, li);
          }
          lm.funcLinked.push(li);
          continue;
        }
        const ext = resolve(k, imp.module, imp.name);
        if (!ext && opts.unresolved === 'trap') {
          lm.funcLinked.push(unresolvedFunc(imp.module, imp.name, want));
          continue;
        }
        if (!ext) throw new LinkError(unknownImport(k, imp.module, imp.name, typeText(want)));
        if (ext.kind !== 'func' || !sameType(ext.type, want)) {
          throw new LinkError(`incompatible import type for ${what}: imported as ${typeText(want)}, ${ext.kind === 'func' ? `provided as ${typeText(ext.type)}` : `provided as a ${ext.kind}`}`);
        }
        lm.funcLinked.push(ext.linked);
      } else if (d.kind === 'global') {
        const ext = resolve(k, imp.module, imp.name);
        if (!ext && opts.unresolved === 'trap') {
          lm.globalSlots.push(globalInit.length);
          pushGlobal(0n, d.type.type);
          continue;
        }
        if (!ext) throw new LinkError(`unknown import ${what}`);
        if (ext.kind !== 'global' || ext.type.type !== d.type.type || ext.type.mutable !== d.type.mutable) {
          throw new LinkError(`incompatible import type for ${what}`);
        }
        lm.globalSlots.push(ext.slot);
      } else if (d.kind === 'memory') {
        // "env.memory" is the image's memory, whoever declares it (the runtime library uses it)
        if (!store && imp.module === 'env' && imp.name === 'memory' && k !== mainIndex) continue;
        const ext = resolve(k, imp.module, imp.name);
        if (store) {
          if (!ext) throw new LinkError(`unknown import ${what}`);
          if (ext.kind !== 'memory' || !maxMatch(linkedMems[ext.mem], d.limits)) throw new LinkError(`incompatible import type for ${what}`);
          lm.mem = ext.mem;
          lm.checks.push({ mem: ext.mem, tab: -1, min: d.limits.min });
          continue;
        }
        if (!ext && opts.unresolved === 'trap') {
          if (k === mainIndex) memory = d.limits;
          continue;
        }
        if (!ext) throw new LinkError(`unknown import ${what}`);
        if (ext.kind !== 'memory' || !limitsMatch(ext.limits, d.limits)) throw new LinkError(`incompatible import type for ${what}`);
        if (k === mainIndex) memory = ext.limits;
      } else {
        const ext = resolve(k, imp.module, imp.name);
        if (store) {
          if (!ext) throw new LinkError(`unknown import ${what}`);
          if (ext.kind !== 'table' || ext.elemType !== d.type.elemType || !maxMatch(linkedTabs[ext.tab].limits, d.type.limits)) {
            throw new LinkError(`incompatible import type for ${what}`);
          }
          if (lm.tab < 0) lm.tab = ext.tab;
          lm.tabs.push(ext.tab);
          lm.checks.push({ mem: -1, tab: ext.tab, min: d.type.limits.min });
          continue;
        }
        if (!ext && opts.unresolved === 'trap') {
          // a table of the importer's type, as if the host provided it
          if (k === mainIndex && table === null) table = { limits: d.type.limits, elemType: d.type.elemType };
          lm.tabs.push(linkedTabs.length);
          linkedTabs.push({ limits: d.type.limits, elemType: d.type.elemType });
          continue;
        }
        if (!ext) throw new LinkError(`unknown import ${what}`);
        if (ext.kind !== 'table' || ext.elemType !== d.type.elemType || !limitsMatch(ext.limits, d.type.limits)) {
          throw new LinkError(`incompatible import type for ${what}`);
        }
        if (k === mainIndex && lm.tabs.length === 0 && table === null) table = { limits: ext.limits, elemType: ext.elemType };
        lm.tabs.push(ext.tab);
      }
    }
    // defined functions get linked indices now so exports and calls can refer to them
    for (let f = 0; f < m.functions.length; f++) {
      lm.funcLinked.push(functions.length);
      functions.push({ name: '', codeStart: 0, codeEnd: 0, frameSize: 0, paramCount: paramSlots(m.types[m.functions[f]]), wasmOffset: m.bodies[f].start });
      funcTypeIds.push(typeId(m.types[m.functions[f]]));
    }
    for (const g of m.globals) {
      lm.globalSlots.push(globalInit.length);
      pushGlobal(evalConst(g.init, lm, globalInit), g.type.type);
    }
    // memory.init and data.drop name segments only with a data count section: then each segment
    // gets a slot for its state after the globals (filled in once its bytes have a text offset)
    if (m.dataCount !== null && m.data.length) {
      lm.dataBase = globalInit.length;
      for (let x = 0; x < m.data.length; x++) {
        globalInit.push(0n);
        globalTypes.push(I64);
      }
    }
    if (store) {
      if (m.memories.length) {
        lm.mem = linkedMems.length;
        linkedMems.push(m.memories[0]);
      }
    }
    for (const t of m.tables) {
      lm.tabs.push(linkedTabs.length);
      linkedTabs.push({ limits: t.limits, elemType: t.elemType });
    }
    if (lm.tab < 0 && lm.tabs.length) lm.tab = lm.tabs[0];
    for (const seg of m.elements) {
      lm.elems.push(linkedElems.length);
      // active segments are dropped once instantiation applied them, declarative ones at once
      linkedElems.push({ words: BigUint64Array.from(seg.init, (e) => evalConst(e, lm, globalInit)), dropped: seg.mode !== 'passive' });
    }
    if (!store && k === mainIndex) {
      if (m.memories.length) memory = m.memories[0];
      if (m.tables.length && m.importedTables === 0) table = { limits: m.tables[0].limits, elemType: m.tables[0].elemType };
    }
    for (const e of m.exports) {
      let ext: Extern;
      if (e.kind === 'func') ext = { kind: 'func', linked: lm.funcLinked[e.index], type: funcTypeOf(m, e.index) };
      else if (e.kind === 'global') ext = { kind: 'global', slot: lm.globalSlots[e.index], type: globalTypeOf(m, e.index) };
      else if (e.kind === 'memory') ext = { kind: 'memory', limits: e.index < m.importedMemories ? importedLimits(m, 'memory', e.index) : m.memories[e.index - m.importedMemories], mem: lm.mem };
      else {
        const t = e.index < m.importedTables ? importedTable(m, e.index) : m.tables[e.index - m.importedTables];
        ext = { kind: 'table', limits: t.limits, elemType: t.elemType, tab: lm.tabs[e.index] };
      }
      lm.exports.set(e.name, ext);
    }
    // names: the name section, else the export name
    const names = m.names.functions;
    const exportName = new Map<number, string>(); // the first export of each function
    for (const e of m.exports) if (e.kind === 'func' && !exportName.has(e.index)) exportName.set(e.index, e.name);
    for (let f = 0; f < m.functions.length; f++) {
      const fi = m.importedFuncs + f;
      const base = names.get(fi) ?? exportName.get(fi) ?? `func[${fi}]`;
      functions[lm.funcLinked[fi]].name = k === mainIndex ? base : `${pm.name}.${base}`;
    }
    linked.push(lm);
  }

  // store mode: memory and table descriptors after the globals, then the tables' entries
  const G = globalInit.length;
  const memDesc = (mem: number): number => (mem < 0 ? -1 : VMCTX.globals + 8 * G + DESC.bytes * mem);
  const tabDesc = (tab: number): number => (tab < 0 ? -1 : VMCTX.globals + 8 * G + DESC.bytes * (linkedMems.length + tab));
  const tabEntries: number[] = [];
  const vmctxSize = VMCTX.globals + 8 * G + DESC.bytes * (linkedMems.length + linkedTabs.length);
  for (let t = 0; t < linkedTabs.length; t++) tabEntries.push(0); // the loader places the entries (section 12)
  const funcMem = new Int32Array(functions.length).fill(-1);
  if (store) for (const lm of linked) for (let f = lm.m.importedFuncs; f < lm.funcLinked.length; f++) funcMem[lm.funcLinked[f]] = memDesc(lm.mem);

  // compile every defined function: here, or in worker threads (parallel.ts) when asked; either
  // way the code lands where the one-thread compile puts it, byte for byte
  const fc = new FunctionCompiler(backend, out);
  const envs = linked.map((lm): FunctionEnv => {
    const m = lm.m;
    return {
      module: m,
      funcType: (fi) => funcTypeOf(m, fi),
      linkedFunc: (fi) => lm.funcLinked[fi],
      typeId: (ti) => typeId(m.types[ti]),
      globalSlot: (gi) => lm.globalSlots[gi],
      globalType: (gi) => globalTypeOf(m, gi),
      memoryCount: m.importedMemories + m.memories.length,
      tableCount: m.importedTables + m.tables.length,
      stubs: out.stubs,
      memoryDesc: store ? memDesc(lm.mem) : VMCTX.memoryBase,
      tableDesc: (t) => tabDesc(lm.tabs[t]),
      linkedTable: (t) => lm.tabs[t],
      linkedElem: (j) => lm.elems[j],
      funcTypeId: (fi) => typeId(funcTypeOf(m, fi)),
      switchMemory: store,
      funcMemoryDesc: (li) => funcMem[li],
      dataSlot: (x) => lm.dataBase + x,
    };
  });
  // defined functions in compile order: (module, function index) of ordinal k
  const order: [number, number][] = [];
  for (let k = 0; k < linked.length; k++) for (let f = 0; f < linked[k].m.functions.length; f++) order.push([k, linked[k].m.importedFuncs + f]);
  const compileRange = (from: number, to: number): void => {
    for (let o = from; o < to; o++) {
      const [k, fi] = order[o];
      const li = linked[k].funcLinked[fi];
      out.buf.align(16, 0xcc);
      const start = out.buf.pos;
      fc.compile(envs[k], fi, li);
      const rec = functions[li];
      rec.codeStart = start;
      rec.codeEnd = out.buf.pos;
      rec.frameSize = fc.frameSize;
    }
  };
  let usedCpuFeatures = 0;
  if (chunks) {
    // a worker thread: compile each range asked for, hand over its code and records, start over
    out.buf.align(16, 0xcc);
    const base = out.buf.pos;
    for (let range = chunks.next(); range; range = chunks.next()) {
      compileRange(range[0], range[1]);
      chunks.done(takeChunk(out, functions, range, base, (o) => linked[order[o][0]].funcLinked[order[o][1]], backend.usedCpuFeatures ?? 0));
    }
    return null;
  }
  if (compiled && placeChunks(compiled, order.length, out, stubs, functions, (o) => linked[order[o][0]].funcLinked[order[o][1]], report)) {
    for (const c of compiled) usedCpuFeatures |= c.usedCpuFeatures;
  } else compileRange(0, order.length);
  usedCpuFeatures |= backend.usedCpuFeatures ?? 0;

  // read-only data, mapped right after the text at the next 64 KiB boundary, readable and not
  // executable (docs/image-format.md, section 13): the function table, then the bytes of passive
  // data segments. Offsets into it are text offsets, so the code reaches it as before.
  const rodataBase = align64k(out.buf.pos);
  const rodata = new RodataBuffer();
  // the function table: a count, then by linked index (code offset, type id + 1), for call_indirect
  rodata.u32(functions.length);
  rodata.u32(0);
  functions.forEach((f, k) => {
    rodata.u32(f.codeStart);
    rodata.u32(funcTypeIds[k] + 1);
  });
  // passive data segments' bytes, for memory.init: their state is (text offset << 32) | length;
  // an active segment's is 0 (applied at instantiation, it behaves as dropped after)
  for (const lm of linked) {
    if (lm.dataBase < 0) continue;
    lm.m.data.forEach((seg, x) => {
      if (seg.mode !== 'passive' || seg.end === seg.start) return;
      rodata.align(8);
      const at = rodataBase + rodata.pos;
      rodata.bytes(lm.m.bytes.subarray(seg.start, seg.end));
      globalInit[lm.dataBase + x] = (BigInt(at) << 32n) | BigInt(seg.end - seg.start);
    });
  }
  if (rodataBase + rodata.pos > out.buf.limit) throw new CompileError(`compiled code too large: ${rodataBase + rodata.pos} bytes of code and read-only data, more than the compiler limit of ${out.buf.limit}`, -1);
  for (const at of out.tableFixups) stubs.patchCall(out.buf, at, rodataBase);
  for (let k = 0; k < out.callFixups.length; k += 2) {
    stubs.patchCall(out.buf, out.callFixups[k], functions[out.callFixups[k + 1]].codeStart);
  }

  // instantiation: element segments, then data segments (the spec's order); the first that does
  // not fit traps
  const main = linked[mainIndex];
  let instantiationTrap = 0;
  // ordinary images: every table's initial entries, with the main module's active segments
  // applied in order (the first out of bounds traps at instantiation)
  // (allocated when a segment writes to the table: a large table of nulls costs nothing)
  const tableInit: (BigUint64Array | null)[] = store ? [] : linkedTabs.map(() => null);
  if (!store) {
    main.m.elements.forEach((seg, j) => {
      if (seg.mode !== 'active' || instantiationTrap) return;
      const offset = Number(evalConst(seg.offset!, main, globalInit)) >>> 0;
      const words = linkedElems[main.elems[j]].words;
      const t = main.tabs[seg.table];
      if (offset + words.length > linkedTabs[t].limits.min) {
        instantiationTrap = Trap.OutOfBoundsTable;
        return;
      }
      const entries = tableInit[t] ?? (tableInit[t] = new BigUint64Array(linkedTabs[t].limits.min));
      entries.set(words, offset);
    });
  }
  const pages = new Map<number, Uint8Array>();
  if (instantiationTrap === 0 && !store) {
    for (const seg of main.m.data) {
      if (seg.mode !== 'active') continue;
      const offset = Number(evalConst(seg.offset!, main, globalInit)) >>> 0;
      const len = seg.end - seg.start;
      if (!memory || offset + len > memory.min * 65536) {
        instantiationTrap = Trap.OutOfBoundsMemory;
        break;
      }
      for (let p = 0; p < len; ) {
        const addr = offset + p;
        const page = Math.floor(addr / 65536);
        let buf = pages.get(page);
        if (!buf) pages.set(page, (buf = new Uint8Array(65536)));
        const within = addr % 65536;
        const n = Math.min(65536 - within, len - p);
        buf.set(main.m.bytes.subarray(seg.start + p, seg.start + p + n), within);
        p += n;
      }
    }
  }

  const exports: ImageExport[] = [];
  for (const e of store ? [] : main.m.exports) {
    const ext = main.exports.get(e.name)!;
    if (ext.kind === 'func') exports.push({ name: e.name, kind: 'func', index: ext.linked, params: ext.type.params, results: ext.type.results });
    else if (ext.kind === 'global') exports.push({ name: e.name, kind: 'global', index: ext.slot, params: new Uint8Array(0), results: Uint8Array.of(ext.type.type) });
  }
  const starts: number[] = [];
  if (!store) for (const lm of linked) if (lm.m.start !== null) starts.push(lm.funcLinked[lm.m.start]);

  // the modules as given, so that gate-run can write a snapshot of this image's state
  const modules: ImageModule[] | undefined = store ? undefined : linked.map((lm) => ({
    name: lm.name,
    bytes: lm.m.bytes,
    funcBase: lm.m.functions.length ? lm.funcLinked[lm.m.importedFuncs] : 0,
    importedFuncs: lm.m.importedFuncs,
    definedFuncs: lm.m.functions.length,
    globalBase: lm.m.globals.length ? lm.globalSlots[lm.m.importedGlobals] : 0,
    importedGlobals: lm.m.importedGlobals,
    definedGlobals: lm.m.globals.length,
    dataBase: Math.max(lm.dataBase, 0),
    dataSegments: lm.dataBase < 0 ? 0 : lm.m.data.length,
  }));
  const resume = opts.resume ? resumeFrames(opts.resume, linked, out, funcRef) : undefined;

  let instances: ImageInstance[] | null = null;
  if (store) {
    instances = linked.map((lm) => {
      const inst: ImageInstance = { name: lm.name, start: lm.m.start === null ? null : lm.funcLinked[lm.m.start], exports: [], elems: [], datas: [], checks: [] };
      for (const e of lm.m.exports) {
        const ext = lm.exports.get(e.name)!;
        if (ext.kind === 'func') inst.exports.push({ name: e.name, kind: 'func', index: ext.linked, params: ext.type.params, results: ext.type.results });
        else if (ext.kind === 'global') inst.exports.push({ name: e.name, kind: 'global', index: ext.slot, params: new Uint8Array(0), results: Uint8Array.of(ext.type.type) });
      }
      lm.m.elements.forEach((seg, j) => {
        if (seg.mode !== 'active') return;
        const entries = wordsToPairs(linkedElems[lm.elems[j]].words);
        inst.elems.push({ tableDesc: tabDesc(lm.tabs[seg.table] ?? -1), offset: Number(evalConst(seg.offset!, lm, globalInit)) >>> 0, entries });
      });
      for (const seg of lm.m.data) {
        if (seg.mode !== 'active') continue;
        inst.datas.push({ memoryDesc: memDesc(lm.mem), offset: Number(evalConst(seg.offset!, lm, globalInit)) >>> 0, bytes: lm.m.bytes.subarray(seg.start, seg.end) });
      }
      for (const c of lm.checks) inst.checks.push(c.mem >= 0 ? { descOff: memDesc(c.mem), kind: 'memory', min: c.min } : { descOff: tabDesc(c.tab), kind: 'table', min: c.min });
      return inst;
    });
  }

  const globals = new Uint8Array(8 * globalInit.length);
  const dv = new DataView(globals.buffer);
  globalInit.forEach((v, k) => dv.setBigUint64(8 * k, BigInt.asUintN(64, v), true));

  out.sites.sort((a, b) => a.codeOffset - b.codeOffset);
  return {
    arch: opts.arch,
    text: out.buf.finish(),
    rodata: rodata.done(),
    stubs: { entry: out.stubs.entry },
    functions,
    sites: out.sites,
    exports,
    starts,
    memory: memory ? { initialPages: memory.min, maxPages: memory.max, pages } : null,
    globals,
    globalTypes: Uint8Array.from(globalTypes),
    // section 7's entries are no longer written (section 12 has every table): Meta's limits only
    table: table && !store && main.tabs.length ? { initialSize: table.limits.min, maxSize: table.limits.max, entries: new Uint32Array(0) } : null,
    tables: linkedTabs.length || linkedElems.length ? {
      tables: linkedTabs.map((t, k) => ({
        descOff: tabDesc(k), initialSize: t.limits.min, maxSize: t.limits.max, elemType: t.elemType,
        entries: store ? null : tableInit[k],
      })),
      segments: linkedElems,
    } : undefined,
    instantiationTrap,
    modules,
    resume,
    store: instances ? {
      vmctxSize,
      memories: linkedMems.map((l, k) => ({ descOff: memDesc(k), initialPages: l.min, maxPages: l.max })),
      tables: linkedTabs.map((t, k) => ({ descOff: tabDesc(k), entriesOff: tabEntries[k], initialSize: t.limits.min, maxSize: t.limits.max })),
      instances,
    } : undefined,
    cpuFeatures: usedCpuFeatures,
  };
}

/** Native frames (outermost first) for a snapshot's portable ones, checked against the site map. */
function resumeFrames(r: NonNullable<ProgramOptions['resume']>, linked: LinkedModule[], out: CompileOutput,
  funcRef: (lm: LinkedModule, f: number) => bigint): ImageResume {
  const byKey = new Map<string, (typeof out.sites)[number]>();
  for (const s of out.sites) byKey.set(`${s.func}:${s.site}`, s);
  if (r.check) {
    // linked function index -> (module, module function index)
    const owner: { module: number; func: number }[] = [];
    linked.forEach((lm, k) => {
      for (let f = lm.m.importedFuncs; f < lm.funcLinked.length; f++) owner[lm.funcLinked[f]] = { module: k, func: f };
    });
    const sites: ResumeSite[] = [];
    for (const s of out.sites) {
      const o = owner[s.func];
      if (o) sites.push({ module: o.module, func: o.func, site: s.site, slotTypes: s.slotTypes, check: s.check === true });
    }
    r.check(sites);
  }
  const frames: ImageResume['frames'] = [];
  r.frames.forEach((f, k) => {
    const where = `snapshot frame ${k} (function ${f.func}, site ${f.site})`;
    const lm = linked[f.module];
    if (!lm || f.func < lm.m.importedFuncs || f.func >= lm.funcLinked.length) throw new LinkError(`${where}: no such function`);
    const li = lm.funcLinked[f.func];
    const site = byKey.get(`${li}:${f.site}`);
    if (!site) throw new LinkError(`${where}: no such site`);
    if (site.slotTypes.length !== f.slots.length || site.slotTypes.some((t, j) => t !== f.types[j])) {
      throw new LinkError(`${where}: ${f.slots.length} slots of types [${Array.from(f.types).join(',')}], the site holds [${Array.from(site.slotTypes).join(',')}]`);
    }
    // a stack is suspended at a check: every frame but the innermost waits in a call
    if (site.check !== (k === 0)) throw new LinkError(`${where}: ${k === 0 ? 'the innermost frame must be at a check' : 'an outer frame must be at a call'}`);
    // a funcref slot is `module << 32 | function index + 1` (0: null): this link's table word
    const slots = f.slots.map((bits, j) => {
      if (f.types[j] !== 0x70 || bits === 0n) return bits;
      const owner = linked[Number(bits >> 32n)];
      const fi = Number(bits & 0xffffffffn) - 1;
      if (!owner || fi >= owner.funcLinked.length) throw new LinkError(`${where}: slot ${j} refers to no function`);
      return funcRef(owner, fi);
    });
    frames.push({ codeOffset: site.codeOffset, fpOffset: site.fpOffset, paramCount: paramSlots(funcTypeOf(lm.m, f.func)), slots });
  });
  frames.reverse();
  return { state: r.state, resumeStub: out.stubs.resume, entryReturn: out.stubs.entryReturn, frames };
}

// imported ones through importIndex: walking the imports per call was quadratic
function funcTypeOf(m: Module, fi: number): FuncType {
  if (fi < m.importedFuncs) return m.types[importIndex(m).funcTypes[fi]];
  return m.types[m.functions[fi - m.importedFuncs]];
}

function globalTypeOf(m: Module, gi: number): GlobalType {
  if (gi < m.importedGlobals) return importIndex(m).globals[gi];
  return m.globals[gi - m.importedGlobals].type;
}

function importedLimits(m: Module, _kind: 'memory', index: number): Limits {
  return importIndex(m).memories[index];
}

function importedTable(m: Module, index: number): { limits: Limits; elemType: number } {
  return importIndex(m).tables[index];
}

/** The text offset where read-only data starts after `codeSize` bytes of code (ALIGN, 64 KiB). */
export function align64k(codeSize: number): number {
  return Math.ceil(codeSize / 65536) * 65536;
}

/** Little-endian bytes of the read-only data section, growing as needed. */
class RodataBuffer {
  private buf = new Uint8Array(4096);
  pos = 0;
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  u32(v: number): void {
    this.room(4);
    this.buf[this.pos++] = v & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 24) & 0xff;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  align(n: number): void {
    this.room(n);
    while (this.pos % n) this.buf[this.pos++] = 0;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Reference words as the legacy Table section's u32 pairs (low word first). */
function wordsToPairs(words: BigUint64Array): Uint32Array {
  return new Uint32Array(words.buffer, words.byteOffset, 2 * words.length).slice();
}

/** The 64-bit pattern of a constant expression (i32/f32 in the low half) other than ref.func. */
function evalPlain(e: ConstExpr, lm: LinkedModule, globals: bigint[]): bigint {
  switch (e.kind) {
    case 'i32': return BigInt(e.value >>> 0);
    case 'i64': return BigInt.asUintN(64, e.value);
    case 'f32': return BigInt(e.bits >>> 0);
    case 'f64': return BigInt.asUintN(64, e.bits);
    case 'v128': return e.bits;
    case 'global': {
      const slot = lm.globalSlots[e.index];
      // a v128 global's two slots (globalTypeOf: imported ones too)
      return globalTypeOf(lm.m, e.index).type === V128 ? globals[slot] | (globals[slot + 1] << 64n) : globals[slot];
    }
    case 'refnull': return 0n;
    case 'reffunc': throw new CompileError('internal: ref.func needs the link (evalConst)', -1);
  }
}

export { I64, F32 };

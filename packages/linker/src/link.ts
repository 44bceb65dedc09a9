import {
  CompileError, CompileOutput, DESC, LIMITS, SiteWord, FunctionCompiler, HOSTCALLS, Trap, VMCTX, decodeModule, importIndex,
  validateModule, type Backend, type StubEmitter, type FunctionEnv, type Module, type FuncType, type GlobalType,
  type ConstExpr, type Limits,
} from '@wagc/frontend';
import { X64Backend, x64Stubs } from '@wagc/x86-64';
import { A64Backend, a64Stubs } from '@wagc/arm64';
import type { Arch, ImageInput, ImageFunction, ImageExport, ImageInstance, ImageModule, ImageResume } from './image/types';
import { writeImage } from './image';
import { functionEnv, type ModuleCode, type ProgramCode } from './env';
import { snapshotBaseModule, snapshotTemplate } from '@wagc/snapshot-format';

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

export function backendFor(arch: Arch, cpuFeatures: number): { backend: Backend; stubs: StubEmitter } {
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
  /** Per function (imported first): type index; per type index: canonical type id. */
  funcTypes: Int32Array;
  typeIds: Int32Array;
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
  const l = prepareLink(opts);
  l.compileAll();
  return l.finish();
}

/**
 * A link between its halves. The first half (prepareLink: decoding, validating, imports, the stubs,
 * linked indices, globals, tables, exports) is done; what compiling the functions needs is `code`.
 * The functions are compiled into `out`, here (compileAll) or by threads whose chunks are put in
 * place (parallel.ts), each at the 16-byte-aligned end of the one before, their code starts, ends
 * and frame sizes in `funcCode`. `finish` does the second half: the function table, the passive
 * data, the fixups, instantiation, the image's input.
 */
export interface Link {
  opts: ProgramOptions;
  backend: Backend;
  stubs: StubEmitter;
  out: CompileOutput;
  code: ProgramCode;
  /** Per compile ordinal: code start, code end, frame size. */
  funcCode: Int32Array;
  /** Per compile ordinal: its body's size in bytes (how threads share the work). */
  bodySizes: Int32Array;
  /** CPU_FEATURE bits used by code compiled elsewhere (worker threads). */
  usedCpuFeatures: number;
  /** Makes what the instance starts with now rather than in `finish` (it needs no code). */
  prepareData(): void;
  compileAll(): void;
  finish(): ImageInput;
}

/** The code generator of `arch` compiling into `out`, and an environment per module of `code`. */
export function functionCompiler(arch: Arch, cpuFeatures: number, out: CompileOutput, code: ProgramCode): { fc: FunctionCompiler; envs: FunctionEnv[] } {
  const { backend } = backendFor(arch, cpuFeatures);
  out.stubs = code.stubs;
  return { fc: new FunctionCompiler(backend, out), envs: code.modules.map((mc) => functionEnv(mc, code)) };
}

/**
 * Compiles the functions of compile ordinals [from, to) into `fc`'s output, each 16-byte aligned,
 * recording their code starts, ends and frame sizes in `funcCode` (3 words per ordinal, from
 * ordinal `first`).
 */
export function compileRange(fc: FunctionCompiler, envs: FunctionEnv[], code: ProgramCode, from: number, to: number, funcCode: Int32Array, first = 0): void {
  const buf = fc.out.buf;
  const order = code.order;
  for (let o = from; o < to; o++) {
    const k = order[2 * o], fi = order[2 * o + 1];
    buf.align(16, 0xcc);
    const start = buf.pos;
    fc.compile(envs[k], fi, code.modules[k].funcLinked[fi]);
    const r = 3 * (o - first);
    funcCode[r] = start;
    funcCode[r + 1] = buf.pos;
    funcCode[r + 2] = fc.frameSize;
  }
}

/** The first half of the link (see Link). */
export function prepareLink(opts: ProgramOptions): Link {
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
    BigInt(lm.typeIds[lm.funcTypes[f]] + 1) | (BigInt(lm.funcLinked[f]) << 32n);
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
  // use, so that functions compiled apart (parallel.ts) agree on them; one key string per type
  const moduleTypeIds = decoded.map((m) => Int32Array.from(m.types, typeId));

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
    const lm: LinkedModule = { name: pm.name, m, funcTypes: funcTypesOf(m), typeIds: moduleTypeIds[k], funcLinked: [], globalSlots: [], exports: new Map(), mem: -1, tab: -1, tabs: [], elems: [], checks: [], dataBase: -1 };
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
            funcTypeIds.push(moduleTypeIds[k][d.typeIndex]);
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
      funcTypeIds.push(moduleTypeIds[k][m.functions[f]]);
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
      linkedElems.push({ words: elemWords(seg.init, lm, globalInit, funcRef), dropped: seg.mode !== 'passive' });
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

  // what compiling needs, as arrays (env.ts): every thread compiles from it, this one included
  let codeBytes = 0;
  for (const m of decoded) for (const b of m.bodies) codeBytes += b.end - b.start;
  const modulesCode = linked.map((lm) => moduleCode(lm, store ? memDesc(lm.mem) : VMCTX.memoryBase, tabDesc));
  let ordinals = 0;
  for (const lm of linked) ordinals += lm.m.functions.length;
  const order = new Int32Array(2 * ordinals);
  const bodySizes = new Int32Array(ordinals);
  for (let k = 0, o = 0; k < linked.length; k++) {
    const m = linked[k].m;
    for (let f = 0; f < m.functions.length; f++, o++) {
      order[2 * o] = k;
      order[2 * o + 1] = m.importedFuncs + f;
      bodySizes[o] = m.bodies[f].end - m.bodies[f].start;
    }
  }
  const code: ProgramCode = { modules: modulesCode, order, stubs: out.stubs, switchMemory: store, funcMemoryDesc: funcMem };
  const funcCode = new Int32Array(3 * ordinals);
  // the code is about 2–2.5 times the bytes of its bodies: room for it at once (pages of the
  // buffer never written are never touched), not much more (the buffer is external memory to V8,
  // whose full collections it triggers: CodeBuffer.reserve)
  out.buf.reserve(Math.min(Math.ceil(2.75 * codeBytes) + (1 << 20), out.buf.limit - out.buf.pos));
  // and for the sites: about one per 64 bytes of bodies (ruby.wasm: 73) rather than a table
  // doubled over and over
  out.sites.reserveRows(Math.min(codeBytes >> 6, LIMITS.sites));

  const main = linked[mainIndex];
  // the program a snapshot is written of: the last module, named main (the others are libraries)
  const isProgram = (lm: LinkedModule): boolean => lm.name === 'main' && lm === linked[linked.length - 1];
  let data: ReturnType<typeof instantiate> | null = null;
  const l: Link = {
    opts, backend, stubs, out, code, funcCode, bodySizes, usedCpuFeatures: 0,
    prepareData: () => {
      data ??= instantiate();
    },
    compileAll: () => {
      const fc = new FunctionCompiler(backend, out);
      const envs = modulesCode.map((mc) => functionEnv(mc, code));
      compileRange(fc, envs, code, 0, ordinals, funcCode);
    },
    finish: () => finish(),
  };
  return l;

  /**
   * What the image's instance starts with, which the code does not change (so it is made while
   * worker threads compile, parallel.ts): the tables' entries and the memory pages after the
   * element and data segments, the exports, start functions and modules.
   */
  function instantiate() {
    // instantiation: element segments, then data segments (the spec's order); the first that does
    // not fit traps
    let instantiationTrap = 0;
    // ordinary images: every table's initial entries, with the main module's active segments
    // applied in order (the first out of bounds traps at instantiation)
    // (allocated when a segment writes to the table: a large table of nulls costs nothing)
    const tableInit: (BigUint64Array | null)[] = store ? [] : linkedTabs.map(() => null);
    if (!store) {
      main.m.elements.forEach((seg, j) => {
        if (seg.mode !== 'active' || instantiationTrap) return;
        const offset = constOffset(seg.offset!, main, globalInit);
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
      const src = main.m.bytes, data = main.m.data;
      const memBytes = memory ? memory.min * 65536 : 0;
      // the page last written: segments mostly come in address order (Go's: 98,000 of a few bytes)
      let lastPage = -1, buf = EMPTY_PAGE;
      for (let d = 0; d < data.length; d++) {
        const seg = data[d];
        if (seg.mode !== 'active') continue;
        const offset = constOffset(seg.offset!, main, globalInit);
        const len = seg.end - seg.start;
        if (!memory || offset + len > memBytes) {
          instantiationTrap = Trap.OutOfBoundsMemory;
          break;
        }
        for (let p = 0; p < len; ) {
          const addr = offset + p;
          const page = (addr / 65536) | 0;
          if (page !== lastPage) {
            let b = pages.get(page);
            if (!b) pages.set(page, (b = new Uint8Array(65536)));
            buf = b;
            lastPage = page;
          }
          const within = addr & 0xffff;
          const n = Math.min(65536 - within, len - p);
          const from = seg.start + p;
          // small segments byte by byte, no view each
          if (n <= 64) for (let j = 0; j < n; j++) buf[within + j] = src[from + j];
          else buf.set(src.subarray(from, from + n), within);
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

    // the modules, so that gate-run can write a snapshot of this image's state: the program's
    // without its active data segments' bytes, which no snapshot needs (each memory byte is once
    // in the image, in its memory pages), with the template the loader writes a snapshot by
    // (docs/image-format.md, sections 10 and 14)
    const modules: ImageModule[] | undefined = store ? undefined : linked.map((lm) => ({
      name: lm.name,
      bytes: isProgram(lm) ? snapshotBaseModule(lm.m.bytes) : lm.m.bytes,
      funcBase: lm.m.functions.length ? lm.funcLinked[lm.m.importedFuncs] : 0,
      importedFuncs: lm.m.importedFuncs,
      definedFuncs: lm.m.functions.length,
      globalBase: lm.m.globals.length ? lm.globalSlots[lm.m.importedGlobals] : 0,
      importedGlobals: lm.m.importedGlobals,
      definedGlobals: lm.m.globals.length,
      dataBase: Math.max(lm.dataBase, 0),
      dataSegments: lm.dataBase < 0 ? 0 : lm.m.data.length,
    }));
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
          inst.elems.push({ tableDesc: tabDesc(lm.tabs[seg.table] ?? -1), offset: constOffset(seg.offset!, lm, globalInit), entries });
        });
        for (const seg of lm.m.data) {
          if (seg.mode !== 'active') continue;
          inst.datas.push({ memoryDesc: memDesc(lm.mem), offset: constOffset(seg.offset!, lm, globalInit), bytes: lm.m.bytes.subarray(seg.start, seg.end) });
        }
        for (const c of lm.checks) inst.checks.push(c.mem >= 0 ? { descOff: memDesc(c.mem), kind: 'memory', min: c.min } : { descOff: tabDesc(c.tab), kind: 'table', min: c.min });
        return inst;
      });
    }
    return { instantiationTrap, tableInit, pages, exports, starts, modules, instances };
  }

  function finish(): ImageInput {
    const usedCpuFeatures = l.usedCpuFeatures | (backend.usedCpuFeatures ?? 0);
    for (let o = 0; o < ordinals; o++) {
      const rec = functions[modulesCode[order[2 * o]].funcLinked[order[2 * o + 1]]];
      rec.codeStart = funcCode[3 * o];
      rec.codeEnd = funcCode[3 * o + 1];
      rec.frameSize = funcCode[3 * o + 2];
    }

    // read-only data, mapped right after the text at the next 64 KiB boundary, readable and not
    // executable (docs/image-format.md, section 13): the function table, then the bytes of passive
    // data segments. Offsets into it are text offsets, so the code reaches it as before.
    const rodataBase = align64k(out.buf.pos);
    const rodata = new RodataBuffer(8 + 8 * functions.length);
    // the function table: a count, then by linked index (code offset, type id + 1), for call_indirect
    rodata.u32(functions.length);
    rodata.u32(0);
    for (let k = 0; k < functions.length; k++) {
      rodata.u32(functions[k].codeStart);
      rodata.u32(funcTypeIds[k] + 1);
    }
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
    patchCalls(stubs, out, functions, rodataBase);

    const { instantiationTrap, tableInit, pages, exports, starts, modules, instances } = data ?? instantiate();
    const resume = opts.resume ? resumeFrames(opts.resume, linked, out, funcRef) : undefined;
    const program = modules?.find((mm, k) => isProgram(linked[k]));
    const snapshotTemplateBytes = program ? snapshotTemplate(program.bytes, {
      runtime: linked.find((lm) => lm.name === 'wasi_snapshot_preview1')?.m.bytes,
      tables: linkedTabs.length > 0 || linkedElems.length > 0,
    }) : undefined;

    const globals = new Uint8Array(8 * globalInit.length);
    const dv = new DataView(globals.buffer);
    for (let k = 0; k < globalInit.length; k++) if (globalInit[k] !== 0n) dv.setBigUint64(8 * k, BigInt.asUintN(64, globalInit[k]), true);

    return {
      arch: opts.arch,
      text: out.buf.bytes.subarray(0, out.buf.pos),
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
      ...(snapshotTemplateBytes ? { snapshotTemplate: snapshotTemplateBytes } : {}),
      store: instances ? {
        vmctxSize,
        memories: linkedMems.map((lim, k) => ({ descOff: memDesc(k), initialPages: lim.min, maxPages: lim.max })),
        tables: linkedTabs.map((t, k) => ({ descOff: tabDesc(k), entriesOff: tabEntries[k], initialSize: t.limits.min, maxSize: t.limits.max })),
        instances,
      } : undefined,
      cpuFeatures: usedCpuFeatures,
    };
  }
}

/** Points the direct calls at their functions and the function table's users at it. */
function patchCalls(stubs: StubEmitter, out: CompileOutput, functions: ImageFunction[], funcTable: number): void {
  const starts = Int32Array.from(functions, (f) => f.codeStart);
  const t = out.tableFixups.items;
  for (let k = 0; k < out.tableFixups.length; k++) stubs.patchCall(out.buf, t[k], funcTable);
  const c = out.callFixups.items;
  for (let k = 0; k < out.callFixups.length; k += 2) stubs.patchCall(out.buf, c[k], starts[c[k + 1]]);
}

/** Native frames (outermost first) for a snapshot's portable ones, checked against the site map. */
function resumeFrames(r: NonNullable<ProgramOptions['resume']>, linked: LinkedModule[], out: CompileOutput,
  funcRef: (lm: LinkedModule, f: number) => bigint): ImageResume {
  // rows by (function, site)
  const st = out.sites;
  const byKey = new Map<string, number>();
  for (let k = 0; k < st.count; k++) byKey.set(`${st.get(k, SiteWord.Func)}:${st.get(k, SiteWord.Site)}`, k);
  if (r.check) {
    // linked function index -> (module, module function index)
    const owner: { module: number; func: number }[] = [];
    linked.forEach((lm, k) => {
      for (let f = lm.m.importedFuncs; f < lm.funcLinked.length; f++) owner[lm.funcLinked[f]] = { module: k, func: f };
    });
    const sites: ResumeSite[] = [];
    for (let k = 0; k < st.count; k++) {
      const o = owner[st.get(k, SiteWord.Func)];
      if (o) sites.push({ module: o.module, func: o.func, site: st.get(k, SiteWord.Site), slotTypes: st.slotTypes(k), check: st.get(k, SiteWord.Check) === 1 });
    }
    r.check(sites);
  }
  const frames: ImageResume['frames'] = [];
  r.frames.forEach((f, k) => {
    const where = `snapshot frame ${k} (function ${f.func}, site ${f.site})`;
    const lm = linked[f.module];
    if (!lm || f.func < lm.m.importedFuncs || f.func >= lm.funcLinked.length) throw new LinkError(`${where}: no such function`);
    const li = lm.funcLinked[f.func];
    const row = byKey.get(`${li}:${f.site}`);
    if (row === undefined) throw new LinkError(`${where}: no such site`);
    const types = st.slotTypes(row);
    if (types.length !== f.slots.length || types.some((t, j) => t !== f.types[j])) {
      throw new LinkError(`${where}: ${f.slots.length} slots of types [${Array.from(f.types).join(',')}], the site holds [${Array.from(types).join(',')}]`);
    }
    // a stack is suspended at a check: every frame but the innermost waits in a call
    if ((st.get(row, SiteWord.Check) === 1) !== (k === 0)) throw new LinkError(`${where}: ${k === 0 ? 'the innermost frame must be at a check' : 'an outer frame must be at a call'}`);
    // a funcref slot is `module << 32 | function index + 1` (0: null): this link's table word
    const slots = f.slots.map((bits, j) => {
      if (f.types[j] !== 0x70 || bits === 0n) return bits;
      const owner = linked[Number(bits >> 32n)];
      const fi = Number(bits & 0xffffffffn) - 1;
      if (!owner || fi >= owner.funcLinked.length) throw new LinkError(`${where}: slot ${j} refers to no function`);
      return funcRef(owner, fi);
    });
    frames.push({ codeOffset: st.get(row, SiteWord.CodeOffset), fpOffset: st.get(row, SiteWord.FpOffset), paramCount: paramSlots(funcTypeOf(lm.m, f.func)), slots });
  });
  frames.reverse();
  return { state: r.state, resumeStub: out.stubs.resume, entryReturn: out.stubs.entryReturn, frames };
}

/** Per function of `m`, imported first: its type index. */
function funcTypesOf(m: Module): Int32Array {
  const t = new Int32Array(m.importedFuncs + m.functions.length);
  t.set(importIndex(m).funcTypes);
  t.set(m.functions, m.importedFuncs);
  return t;
}

/** An element segment's reference words (docs/ARCHITECTURE.md, "References"). */
function elemWords(init: ConstExpr[], lm: LinkedModule, globals: bigint[], funcRef: (lm: LinkedModule, f: number) => bigint): BigUint64Array {
  const words = new BigUint64Array(init.length);
  // ref.func, the usual element, as two u32 halves: no BigInt per element
  const halves = new Uint32Array(words.buffer);
  for (let k = 0; k < init.length; k++) {
    const e = init[k];
    if (e.kind === 'reffunc') {
      halves[2 * k] = lm.typeIds[lm.funcTypes[e.index]] + 1;
      halves[2 * k + 1] = lm.funcLinked[e.index];
    } else words[k] = e.kind === 'global' && globals[lm.globalSlots[e.index]] === undefined ? 0n : evalConstOf(e, lm, globals, funcRef);
  }
  return words;
}

function evalConstOf(e: ConstExpr, lm: LinkedModule, globals: bigint[], funcRef: (lm: LinkedModule, f: number) => bigint): bigint {
  return e.kind === 'reffunc' ? funcRef(lm, e.index) : evalPlain(e, lm, globals);
}

/** An active segment's offset (an i32 constant expression) as a number. */
function constOffset(e: ConstExpr, lm: LinkedModule, globals: bigint[]): number {
  if (e.kind === 'i32') return e.value >>> 0;
  return Number(BigInt.asUintN(32, evalPlain(e, lm, globals)));
}

/**
 * The functions ref.func may name (validation's declaredFuncs), one byte each: exported, in an
 * element segment or in a global's initializer. No set of them (Go's table names most functions).
 */
function declaredMap(m: Module): Uint8Array {
  const d = new Uint8Array(m.importedFuncs + m.functions.length);
  for (const e of m.exports) if (e.kind === 'func' && e.index < d.length) d[e.index] = 1;
  for (const seg of m.elements) {
    const init = seg.init;
    for (let k = 0; k < init.length; k++) {
      const e = init[k];
      if (e.kind === 'reffunc' && e.index < d.length) d[e.index] = 1;
    }
  }
  for (const g of m.globals) if (g.init.kind === 'reffunc' && g.init.index < d.length) d[g.init.index] = 1;
  return d;
}

/** What the code generator needs of a linked module (env.ts). */
function moduleCode(lm: LinkedModule, memoryDesc: number, tabDesc: (tab: number) => number): ModuleCode {
  const m = lm.m;
  const ix = importIndex(m);
  let sigBytes = 0;
  for (const t of m.types) sigBytes += t.params.length + t.results.length;
  const typeSigs = new Uint8Array(sigBytes);
  const typeShape = new Int32Array(3 * m.types.length);
  let at = 0;
  m.types.forEach((t, k) => {
    typeShape[3 * k] = at;
    typeShape[3 * k + 1] = t.params.length;
    typeShape[3 * k + 2] = t.results.length;
    typeSigs.set(t.params, at);
    typeSigs.set(t.results, at + t.params.length);
    at += t.params.length + t.results.length;
  });
  const bodies = new Int32Array(2 * m.bodies.length);
  m.bodies.forEach((b, k) => {
    bodies[2 * k] = b.start;
    bodies[2 * k + 1] = b.end;
  });
  const globals = [...ix.globals, ...m.globals.map((g) => g.type)];
  const tables = [...ix.tables, ...m.tables];
  return {
    bytes: m.bytes,
    typeSigs,
    typeShape,
    typeIds: lm.typeIds,
    funcTypes: lm.funcTypes,
    funcLinked: Int32Array.from(lm.funcLinked),
    importedFuncs: m.importedFuncs,
    bodies,
    globalTypes: Uint8Array.from(globals, (g) => g.type),
    globalMutable: Uint8Array.from(globals, (g) => (g.mutable ? 1 : 0)),
    globalSlots: Int32Array.from(lm.globalSlots),
    importedGlobals: m.importedGlobals,
    tableTypes: Uint8Array.from(tables, (t) => t.elemType),
    tableDescs: Int32Array.from(lm.tabs, tabDesc),
    linkedTables: Int32Array.from(lm.tabs),
    elemTypes: Uint8Array.from(m.elements, (e) => e.elemType),
    linkedElems: Int32Array.from(lm.elems),
    declared: declaredMap(m),
    memoryCount: m.importedMemories + m.memories.length,
    memoryDesc,
    dataCount: m.dataCount ?? -1,
    dataBase: lm.dataBase,
  };
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

const EMPTY_PAGE: Uint8Array = new Uint8Array(0);

/** The text offset where read-only data starts after `codeSize` bytes of code (ALIGN, 64 KiB). */
export function align64k(codeSize: number): number {
  return Math.ceil(codeSize / 65536) * 65536;
}

/** Little-endian bytes of the read-only data section, growing as needed. */
class RodataBuffer {
  private buf: Uint8Array;
  pos = 0;
  constructor(size = 4096) {
    this.buf = new Uint8Array(size);
  }
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
    return this.buf.subarray(0, this.pos);
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

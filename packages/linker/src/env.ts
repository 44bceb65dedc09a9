/**
 * What compiling a program's functions needs once the link's first half is done, as typed arrays
 * and numbers (ModuleCode, ProgramCode), and the code generator's FunctionEnv made from them. The
 * calling thread builds them once (link.ts); every thread that compiles, itself included, makes its
 * environments from them (functionEnv), so a worker thread decodes and links nothing, receives no
 * copy of a module (its bytes are a SharedArrayBuffer's), and compiles exactly what the calling
 * thread would.
 */
import type { CodeModule, FuncType, FunctionBody, FunctionEnv, GlobalType, StubOffsets } from '@wagc/frontend';

/** One linked module, for the code generator. Every per-index array counts imports first. */
export interface ModuleCode {
  bytes: Uint8Array;
  /** Every type's parameter types then result types, back to back. */
  typeSigs: Uint8Array;
  /** Per type index: start in typeSigs, parameter count, result count. */
  typeShape: Int32Array;
  /** Per type index: its canonical id (structurally equal types share one, across modules). */
  typeIds: Int32Array;
  /** Per function: type index; linked index. */
  funcTypes: Int32Array;
  funcLinked: Int32Array;
  importedFuncs: number;
  /** Per defined function: its body's start and end in `bytes`. */
  bodies: Int32Array;
  /** Per global: value type, mutability (0/1), slot. */
  globalTypes: Uint8Array;
  globalMutable: Uint8Array;
  globalSlots: Int32Array;
  importedGlobals: number;
  /** Per table: element type, vmctx offset of its descriptor (−1: none), linked index. */
  tableTypes: Uint8Array;
  tableDescs: Int32Array;
  linkedTables: Int32Array;
  /** Per element segment: element type, linked index. */
  elemTypes: Uint8Array;
  linkedElems: Int32Array;
  /** Per function of the module (imported ones first): 1 when ref.func may name it (validation). */
  declared: Uint8Array;
  memoryCount: number;
  /** vmctx offset of memory 0's descriptor. */
  memoryDesc: number;
  /** The data count section's count, −1 without one; global slot of data segment 0's state. */
  dataCount: number;
  dataBase: number;
}

/** The program: its modules, the functions in compile order and what they share. */
export interface ProgramCode {
  modules: ModuleCode[];
  /** Per compile ordinal: module, function index (pairs). */
  order: Int32Array;
  stubs: StubOffsets;
  /** Several memories: a function loads its instance's memory base (docs/ARCHITECTURE.md, "Several instances"). */
  switchMemory: boolean;
  /** Per linked function: its instance's memory descriptor offset, −1: none. */
  funcMemoryDesc: Int32Array;
}

/** The code generator's environment of module `mc`. */
export function functionEnv(mc: ModuleCode, prog: ProgramCode): FunctionEnv {
  const types: FuncType[] = [];
  for (let t = 0; 3 * t < mc.typeShape.length; t++) {
    const at = mc.typeShape[3 * t], np = mc.typeShape[3 * t + 1], nr = mc.typeShape[3 * t + 2];
    types.push({ params: mc.typeSigs.subarray(at, at + np), results: mc.typeSigs.subarray(at + np, at + np + nr) });
  }
  const bodies: FunctionBody[] = [];
  for (let k = 0; k < mc.bodies.length; k += 2) bodies.push({ start: mc.bodies[k], end: mc.bodies[k + 1] });
  const globals: GlobalType[] = [];
  for (let g = 0; g < mc.globalTypes.length; g++) globals.push({ type: mc.globalTypes[g], mutable: mc.globalMutable[g] === 1 });
  const elements: { elemType: number }[] = [];
  for (let e = 0; e < mc.elemTypes.length; e++) elements.push({ elemType: mc.elemTypes[e] });
  const module: CodeModule = {
    bytes: mc.bytes,
    types,
    functions: mc.funcTypes.subarray(mc.importedFuncs),
    elements,
    globals: { length: mc.globalTypes.length - mc.importedGlobals },
    bodies,
    dataCount: mc.dataCount < 0 ? null : mc.dataCount,
    importedFuncs: mc.importedFuncs,
    importedGlobals: mc.importedGlobals,
  };
  return {
    module,
    funcType: (fi) => types[mc.funcTypes[fi]],
    linkedFunc: (fi) => mc.funcLinked[fi],
    typeId: (ti) => mc.typeIds[ti],
    globalSlot: (gi) => mc.globalSlots[gi],
    globalType: (gi) => globals[gi],
    memoryCount: mc.memoryCount,
    tableCount: mc.tableTypes.length,
    tableElemType: (t) => mc.tableTypes[t],
    funcDeclared: (f) => mc.declared[f] === 1,
    stubs: prog.stubs,
    memoryDesc: mc.memoryDesc,
    tableDesc: (t) => mc.tableDescs[t],
    linkedTable: (t) => mc.linkedTables[t],
    linkedElem: (j) => mc.linkedElems[j],
    funcTypeId: (fi) => mc.typeIds[mc.funcTypes[fi]],
    switchMemory: prog.switchMemory,
    funcMemoryDesc: (li) => prog.funcMemoryDesc[li],
    dataSlot: (x) => mc.dataBase + x,
  };
}

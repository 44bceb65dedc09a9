/**
 * Between the loader's state file and snapshots (ARCHITECTURE §6, docs/snapshot-format.md): gate-run
 * writes one after a run, wagc turns one back into an image that resumes it.
 */
import { readImage, writeImageFile, type ImageModule, type ResumeFrame, type ResumeSite, type Arch } from '@wagc/linker';
import { checkResume, readSnapshot, restoreModule, writeSnapshot, type Frame, type SiteInfo, type Snapshot } from '@wagc/snapshot-format';
import { wasiModule } from '@wagc/abi';
import { readState } from './state';
export { isSnapshot } from './snapshot-detect';

/** The program's module in the images wagc writes (the runtime library is linked first). */
const PROGRAM = 'main';
const LIBRARY = 'wasi_snapshot_preview1';

/** Writes the snapshot of an image's run (its state file) to `out`, atomically. */
export function writeSnapshotFile(out: string, image: Uint8Array, stateFile: Uint8Array): void {
  writeImageFile(out, snapshotOf(image, stateFile));
}

/** The snapshot (bytes) of an image's run, from the loader's state file. */
export function snapshotOf(image: Uint8Array, stateFile: Uint8Array): Uint8Array {
  const img = readImage(image);
  const st = readState(stateFile);
  const mods = img.modules;
  if (!mods) throw new Error('the image does not record its modules (built by an older wagc?)');
  const prog = mods.find((m) => m.name === PROGRAM);
  if (!prog) throw new Error('the image has no program module');
  const owner = (linked: number): ImageModule | undefined =>
    mods.find((m) => linked >= m.funcBase && linked < m.funcBase + m.definedFuncs);
  // a funcref word of the image (type id + 1, linked function) as the portable word
  // (docs/snapshot-format.md, "References"): module << 32 | function index + 1
  const portable = (type: number, bits: bigint): bigint => {
    if (type !== 0x70 || bits === 0n) return bits;
    const linked = Number(bits >> 32n);
    const m = owner(linked);
    if (!m || (m !== prog && m.name !== LIBRARY)) throw new Error(`state file: funcref to linked function ${linked}, of no module a snapshot can name`);
    return (m === prog ? 0n : 1n << 32n) | BigInt(m.importedFuncs + linked - m.funcBase + 1);
  };
  const frames: Frame[] = st.frames.map((f) => {
    const m = owner(f.func);
    if (!m) throw new Error(`state file: frame of unknown function ${f.func}`);
    const slots = frameValues(f.types, f.slots, portable);
    const frame: Frame = { func: m.importedFuncs + f.func - m.funcBase, site: f.site, slots };
    if (m !== prog) {
      if (m.name !== LIBRARY) throw new Error(`state file: frame in module ${m.name}`);
      frame.module = 'runtime';
    }
    return frame;
  });
  // a v128 global takes two slots, bytes 0-7 first (docs/ARCHITECTURE.md, "vmctx")
  const globals: bigint[] = [];
  for (let slot = prog.globalBase, k = 0; k < prog.definedGlobals; k++) {
    const t = img.globalTypes[slot];
    if (t === V128) {
      globals.push(st.globals[slot] | (st.globals[slot + 1] << 64n));
      slot += 2;
    } else globals.push(portable(t, st.globals[slot++]));
  }
  // tables: only the program defines any (the runtime library has none), in link order
  const tableTypes = img.tables?.tables ?? [];
  if (st.tables.length !== tableTypes.length) throw new Error('state file: table count differs from the image');
  const tables = st.tables.map((words, k) => words.map((w) => portable(tableTypes[k].elemType, w)));
  // a data segment's state slot (docs/ARCHITECTURE.md, "Data segments"): low u32 its current
  // length, 0 once dropped (or applied: an active one, written empty anyway)
  const droppedData: number[] = [];
  for (let x = 0; x < prog.dataSegments; x++) if ((st.globals[prog.dataBase + x] & 0xffffffffn) === 0n) droppedData.push(x);
  return writeSnapshot({
    module: prog.bytes,
    state: st.state,
    trapId: st.state === 'trapped' ? st.trapId : undefined,
    exitStatus: st.state === 'exited' ? st.exitStatus : undefined,
    arch: img.arch,
    memory: st.memoryPages || st.pages.size ? { pages: st.memoryPages, pageMap: st.pages } : null,
    globals,
    frames,
    runtime: mods.find((m) => m.name === LIBRARY)?.bytes,
    droppedData,
    ...(tables.length || st.droppedSegments.length ? { tables, droppedSegments: st.droppedSegments } : {}),
  });
}

const V128 = 0x7b;

/**
 * A frame's slots of the state file (one 8-byte slot each, a v128 two: bytes 8-15, then 0-7) as
 * the snapshot's values, each through `portable`.
 */
export function frameValues(types: Uint8Array, slots: BigUint64Array, portable: (type: number, bits: bigint) => bigint): { type: number; bits: bigint }[] {
  const out: { type: number; bits: bigint }[] = [];
  for (let k = 0; k < slots.length; k++) {
    const t = types[k];
    if (t === V128 && k + 1 < slots.length) {
      out.push({ type: t, bits: slots[k + 1] | (slots[k] << 64n) });
      k++;
    } else out.push({ type: t, bits: portable(t, slots[k]) });
  }
  return out;
}

/**
 * The program (runtime library + the snapshot's module with its exports back) and the stack to
 * resume, for the linker. The snapshot must pass the resume rules (checkResume, the one validator
 * gate-inspect uses too): first those the module alone decides, then, once the link has its
 * site map, the slot types (resume.check, called by the linker before it builds a frame).
 */
export function resumeProgram(bytes: Uint8Array, arch: Arch): {
  modules: { name: string; bytes: Uint8Array }[];
  resume: { state: 'halted' | 'suspended'; frames: ResumeFrame[]; check: (sites: ResumeSite[]) => void };
  snapshot: Snapshot;
} {
  const snap = readSnapshot(bytes);
  const library = wasiModule();
  checkResume(snap, { runtime: library });
  // gate.snapshot stays in the module the image records: the next snapshot's writer then knows
  // which segments are this generation's memory and tables, and replaces them
  const modules = [{ name: LIBRARY, bytes: library }, { name: PROGRAM, bytes: restoreModule(snap, { keepSnapshotSection: true }) }];
  const frames: ResumeFrame[] = snap.frames.map((f) => {
    // the frame's 8-byte slots: a v128 takes two, bytes 8-15 in the first (docs/ARCHITECTURE.md, "Frames")
    const types: number[] = [];
    const slots: bigint[] = [];
    for (const s of f.slots) {
      types.push(s.type);
      if (s.type === V128) {
        types.push(V128);
        slots.push(s.bits >> 64n, BigInt.asUintN(64, s.bits));
      } else {
        // funcref words for the linker: the module's index in `modules` << 32 | function index + 1
        slots.push(s.type === 0x70 && s.bits !== 0n ? (s.bits >> 32n === 0n ? 1n << 32n : 0n) | (s.bits & 0xffffffffn) : s.bits);
      }
    }
    return { module: f.module === 'runtime' ? 0 : 1, func: f.func, site: f.site, types: Uint8Array.from(types), slots: BigUint64Array.from(slots) };
  });
  void arch;
  const check = (sites: ResumeSite[]): void => checkResume(snap, { runtime: library, sites: siteInfos(sites) });
  return { modules, resume: { state: snap.state as 'halted' | 'suspended', frames, check }, snapshot: snap };
}

/** The linker's sites (module 0 the library, 1 the program) as the validator's. */
export function siteInfos(sites: Iterable<{ module: number; func: number; site: number; slotTypes: Uint8Array; check: boolean }>): SiteInfo[] {
  const out: SiteInfo[] = [];
  for (const s of sites) out.push({ module: s.module === 0 ? 'runtime' : 'program', func: s.func, site: s.site, slotTypes: s.slotTypes, check: s.check });
  return out;
}

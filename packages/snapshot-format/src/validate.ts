/**
 * The resume rules (docs/snapshot-format.md, "Resume rules"): a snapshot's stack is accepted for
 * resuming only when it could have arisen from a real run of its module. A snapshot crosses
 * machines, so it is untrusted input exactly like a .wasm: every frame is checked against what
 * the code really does at its site, since the compiled code trusts that the frame above a call
 * is the callee it called (and returns that callee's results, typed as the call says).
 *
 * wagc (before it rebuilds native frames) and gate-inspect ("resumable") call the same
 * `checkResume`, so they never disagree.
 */
import { createHash } from 'crypto';
import { importIndex, printable, type FuncType, type Module } from '@wagc/frontend';
import { Cursor } from './binary';
import { functionSites, SiteKind, type FunctionSites } from './calls';
import { SnapshotError } from './errors';
import { decode, localTypes, typeName } from './module-info';
import { siteValueTypes, type SiteInfo } from './read';
import { NO_SITE, type Frame, type Snapshot } from './types';

/** The import module name under which programs reach the runtime library (DESIGN §7). */
export const RUNTIME_MODULE = 'wasi_snapshot_preview1';

export interface ResumeCheckOptions {
  /** The runtime library the program is linked with (packages/abi's wasiModule()). */
  runtime: Uint8Array;
  /**
   * The compiler's site map for this link, in module function indices (the program's and the
   * library's). Without it, everything but the slot types (rule R4) is checked.
   */
  sites?: Iterable<SiteInfo>;
}

const modules = new WeakMap<Uint8Array, Module>();
function decoded(bytes: Uint8Array, what: string): Module {
  let m = modules.get(bytes);
  if (!m) modules.set(bytes, (m = decode(bytes, what)));
  return m;
}

function funcType(m: Module, f: number): FuncType {
  return f < m.importedFuncs ? m.types[importIndex(m).funcTypes[f]] : m.types[m.functions[f - m.importedFuncs]];
}

/** The import of imported function `f`. */
function funcImport(m: Module, f: number): Module['imports'][number] {
  let k = 0;
  for (const imp of m.imports) if (imp.desc.kind === 'func' && k++ === f) return imp;
  throw new Error(`internal: function ${f} is not an import`);
}

function sameType(a: FuncType, b: FuncType): boolean {
  if (a.params.length !== b.params.length || a.results.length !== b.results.length) return false;
  for (let k = 0; k < a.params.length; k++) if (a.params[k] !== b.params[k]) return false;
  for (let k = 0; k < a.results.length; k++) if (a.results[k] !== b.results[k]) return false;
  return true;
}

function typeText(t: FuncType): string {
  return `[${Array.from(t.params, typeName).join(' ')}] -> [${Array.from(t.results, typeName).join(' ')}]`;
}

/** The exports of a gate.export payload (readSnapshot checked that it decodes). */
function exportList(payload: Uint8Array): { name: string; kind: number; index: number }[] {
  const c = new Cursor(payload, 0, payload.length, 'gate.export');
  const n = c.u32();
  const out: { name: string; kind: number; index: number }[] = [];
  for (let k = 0; k < n; k++) {
    const name = c.name();
    const kind = c.u8();
    out.push({ name, kind, index: c.u32() });
  }
  return out;
}

/**
 * Checks that `snap` may resume (rules R1–R7 of docs/snapshot-format.md); a SnapshotError names
 * the first rule broken, with the frame and slot. Halted snapshots pass (nothing resumes; their
 * exports are callable).
 */
export function checkResume(snap: Snapshot, opts: ResumeCheckOptions): void {
  // R1: only a suspended instance continues; a trapped or exited one's stack is for reading
  if (snap.state === 'trapped' || snap.state === 'exited') {
    throw new SnapshotError(`R1: the snapshot is of ${snap.state === 'exited' ? 'an' : 'a'} ${snap.state} instance${snap.state === 'trapped' ? ` (trap ${snap.trapId})` : ` (status ${snap.exitStatus})`}: it cannot continue`);
  }
  const prog = decoded(snap.module, 'the snapshot module');
  const rt = decoded(opts.runtime, 'the runtime library');

  // funcref words the program can hold: its own functions, and the library functions it imports
  const imported = new Map<number, number>(); // program function import -> library function
  const rtExports = new Map<string, number>();
  for (const e of rt.exports) if (e.kind === 'func') rtExports.set(e.name, e.index);
  {
    let f = 0;
    for (const imp of prog.imports) {
      if (imp.desc.kind !== 'func') continue;
      const target = imp.module === RUNTIME_MODULE ? rtExports.get(imp.name) : undefined;
      if (target !== undefined) imported.set(f, target);
      f++;
    }
  }
  const reachableRuntime = new Set(imported.values());
  const progFuncs = prog.importedFuncs + prog.functions.length;
  const refProblem = (type: number, bits: bigint): string | null => {
    if (bits === 0n) return null;
    if (type === 0x6f) return 'a non-null externref (a wagc program is given no host references)';
    if (type !== 0x70) return null;
    const hi = bits >> 32n;
    const f = Number(bits & 0xffffffffn) - 1;
    if (hi === 0n) return f >= 0 && f < progFuncs ? null : `a funcref to function ${f}, which the module does not have (${progFuncs} functions)`;
    if (hi === 1n) return reachableRuntime.has(f) ? null : `a funcref to runtime library function ${f}, which the program does not import`;
    return 'a funcref whose module is neither 0 nor 1';
  };

  // R7 (values outside frames): imported global values
  snap.importedGlobals?.forEach((g, k) => {
    const bad = refProblem(g.type, g.bits);
    if (bad) throw new SnapshotError(`R7: imported global ${k} holds ${bad}`);
  });
  if (snap.state === 'halted') return;

  const frames = snap.frames;
  if (!frames.length) throw new SnapshotError('R4: a suspended snapshot without frames');

  // R2: frames inside the library only mean something for the same build of it
  if (frames.some((f) => f.module === 'runtime')) {
    const digest = createHash('sha256').update(opts.runtime).digest();
    if (!snap.runtimeDigest || !digest.equals(Buffer.from(snap.runtimeDigest))) {
      throw new SnapshotError('R2: the snapshot was suspended inside another build of the runtime library: this wagc cannot resume it');
    }
  }

  // names as the linker gives them: the name section, else the first export's name
  const exportedAs = (m: Module, list: { name: string; kind: number; index: number }[]): Map<number, string> => {
    const out = new Map<number, string>(m.names.functions);
    for (const e of list) if (e.kind === 0 && !out.has(e.index)) out.set(e.index, e.name);
    return out;
  };
  const names = exportedAs(prog, snap.exportSection ? exportList(snap.exportSection) : prog.exports.map((e) => ({ name: e.name, kind: e.kind === 'func' ? 0 : 1, index: e.index })));
  const rtNames = exportedAs(rt, rt.exports.map((e) => ({ name: e.name, kind: e.kind === 'func' ? 0 : 1, index: e.index })));
  const label = (f: Frame): string => {
    const rtf = f.module === 'runtime';
    const n = rtf ? rtNames.get(f.func) : names.get(f.func);
    return `${rtf ? 'runtime library ' : ''}function ${f.func}${n !== undefined ? ` ${JSON.stringify(printable(n))}` : ''}`;
  };
  const at = (k: number): string => `frame ${k} (${label(frames[k])}, site ${frames[k].site === NO_SITE ? 'none' : frames[k].site})`;

  // the site map, by (module, function, site)
  const siteMap = new Map<string, SiteInfo>();
  if (opts.sites) {
    const wanted = new Set(frames.map((f) => `${f.module === 'runtime' ? 'r' : 'p'}${f.func}`));
    for (const s of opts.sites) {
      const key = `${s.module === 'runtime' ? 'r' : 'p'}${s.func}`;
      if (wanted.has(key)) siteMap.set(`${key}:${s.site}`, s);
    }
  }
  const scans = new Map<string, FunctionSites>();
  const sitesOf = (f: Frame): FunctionSites => {
    const key = `${f.module === 'runtime' ? 'r' : 'p'}${f.func}`;
    let s = scans.get(key);
    if (!s) scans.set(key, (s = functionSites(f.module === 'runtime' ? rt : prog, f.func)));
    return s;
  };

  frames.forEach((f, k) => {
    const rtf = f.module === 'runtime';
    const m = rtf ? rt : prog;
    // a defined function of its module (the reader checked the program's)
    if (!Number.isInteger(f.func) || f.func < m.importedFuncs || f.func >= m.importedFuncs + m.functions.length) {
      throw new SnapshotError(`R3: ${at(k)}: no such defined function`);
    }
    if (f.site === NO_SITE) throw new SnapshotError(`R3: ${at(k)}: stopped at a trap, not at a site`);
    const scan = sitesOf(f);
    // R3: the site exists, and holds the slots the compiler records for it
    if (f.site >= scan.count) throw new SnapshotError(`R3: ${at(k)}: the function has no site ${f.site} (it has ${scan.count})`);
    const kind = scan.kind[f.site];
    if (opts.sites) {
      const info = siteMap.get(`${rtf ? 'r' : 'p'}${f.func}:${f.site}`);
      if (!info) {
        // a site in code the compiler found unreachable: no run stops there
        throw new SnapshotError(`R3: ${at(k)}: the site is in unreachable code, where no run stops`);
      }
      if (info.check !== undefined && info.check !== (kind === SiteKind.Entry || kind === SiteKind.Loop)) {
        throw new Error(`internal: ${at(k)}: the site map and the body disagree on what the site is`);
      }
      // the site map's types are per 8-byte frame slot, a v128 twice (docs/ARCHITECTURE.md, "Frames")
      const types = siteValueTypes(info.slotTypes);
      if (types.length !== f.slots.length) throw new SnapshotError(`R3: ${at(k)}: ${f.slots.length} slots, the site holds ${types.length}`);
      for (let s = 0; s < types.length; s++) {
        if (types[s] !== f.slots[s].type) {
          throw new SnapshotError(`R3: ${at(k)}, slot ${s}: ${typeName(f.slots[s].type)}, the site holds ${typeName(types[s])} there`);
        }
      }
    } else {
      // without the site map the parameters and locals are still known
      const lt = localTypes(m, f.func);
      for (let s = 0; s < Math.min(lt.types.length, f.slots.length); s++) {
        if (lt.types[s] !== f.slots[s].type) throw new SnapshotError(`R3: ${at(k)}, slot ${s}: ${typeName(f.slots[s].type)}, the function's local is ${typeName(lt.types[s])}`);
      }
    }
    // R4: the innermost frame stopped at a check, every other one waits in a call
    const isCheck = kind === SiteKind.Entry || kind === SiteKind.Loop;
    if (k === 0 && !isCheck) throw new SnapshotError(`R4: ${at(k)}: the innermost frame must be at an entry or loop check, this site is a call`);
    if (k > 0 && isCheck) throw new SnapshotError(`R4: ${at(k)}: an outer frame must wait in a call, this site is ${kind === SiteKind.Entry ? 'the entry check' : 'a loop check'}`);
    // R7: references in the slots
    f.slots.forEach((s, j) => {
      const bad = refProblem(s.type, s.bits);
      if (bad) throw new SnapshotError(`R7: ${at(k)}, slot ${j}: ${bad}`);
    });
    // R5: the frame inside this one's call is the callee of that call
    if (k > 0) {
      const inner = frames[k - 1];
      const innerRt = inner.module === 'runtime';
      const operand = scan.operand[f.site];
      if (kind === SiteKind.Call) {
        if (operand >= m.importedFuncs) {
          if (innerRt !== rtf || inner.func !== operand) {
            throw new SnapshotError(`R5: ${at(k - 1)}: the call at ${at(k)} calls ${rtf ? 'runtime library ' : ''}function ${operand}, not this one`);
          }
        } else if (!rtf) {
          const target = imported.get(operand);
          const imp = funcImport(prog, operand);
          if (target === undefined) throw new SnapshotError(`R5: ${at(k)}: calls the import ${printable(imp.module)}.${printable(imp.name)}, which the runtime library does not provide`);
          if (!innerRt || inner.func !== target) {
            throw new SnapshotError(`R5: ${at(k - 1)}: the call at ${at(k)} calls ${printable(imp.module)}.${printable(imp.name)} (runtime library function ${target}), not this one`);
          }
        } else {
          // the library's imports are loader routines (host calls): no wasm frame runs inside one
          const imp = funcImport(rt, operand);
          throw new SnapshotError(`R5: ${at(k - 1)}: the call at ${at(k)} is the host call ${printable(imp.module)}.${printable(imp.name)}, inside which no wasm frame runs`);
        }
      } else {
        const want = m.types[operand];
        const calleeModule = innerRt ? rt : prog;
        const got = funcType(calleeModule, inner.func);
        if (!sameType(want, got)) {
          throw new SnapshotError(`R5: ${at(k - 1)}: its type is ${typeText(got)}, the call_indirect at ${at(k)} calls type ${typeText(want)}`);
        }
        // an indirect call reaches the library only through a function the program imports
        if (innerRt && !rtf && !reachableRuntime.has(inner.func)) {
          throw new SnapshotError(`R5: ${at(k - 1)}: the call_indirect at ${at(k)} cannot reach a runtime library function the program does not import`);
        }
        if (!innerRt && rtf) throw new SnapshotError(`R5: ${at(k - 1)}: the call_indirect at ${at(k)} in the runtime library cannot reach the program`);
      }
    }
  });

  // R6: the outermost frame is the call the loader made: a program function exported as one
  // (`_start`, or the export --invoke named); start functions never suspend (their requests wait)
  const outer = frames[frames.length - 1];
  const exported = snap.exportSection ? exportList(snap.exportSection) : [];
  if (outer.module === 'runtime' || !exported.some((e) => e.kind === 0 && e.index === outer.func)) {
    throw new SnapshotError(`R6: ${at(frames.length - 1)}: the outermost frame must be an exported function (the entry gate-run called), this one is not exported`);
  }
}

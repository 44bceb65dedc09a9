import { decodeModule, validateModule, type Module } from '@wagc/frontend';
import { Cursor } from './binary';
import { SnapshotError } from './errors';
import { NO_SITE, type Frame, type SnapshotState } from './types';

/** Types whose values are plain bits: the number types and v128. */
export const VALUE_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b]);
/** What a frame slot may hold: the number types, v128 and references (docs/snapshot-format.md). */
export const SLOT_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

/**
 * A portable funcref word is 0 (null) or `module << 32 | (function index + 1)`, module 0 the
 * snapshot's module and 1 the runtime library.
 */
export function checkFuncRef(bits: bigint): string | null {
  if (bits === 0n) return null;
  if (bits >> 32n > 1n) return 'funcref whose module is neither 0 nor 1';
  if ((bits & 0xffffffffn) === 0n) return 'non-null funcref with function index word 0';
  return null;
}
export const TYPE_NAMES: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

export function typeName(t: number): string {
  return TYPE_NAMES[t] ?? `0x${t.toString(16).padStart(2, '0')}`;
}

/**
 * decodeModule and validateModule (module level: indices, types, limits; the bodies are the
 * compiler's), with their errors (and any other exception on hostile input) as SnapshotErrors.
 */
export function decode(bytes: Uint8Array, what: string): Module {
  let m: Module;
  try {
    m = decodeModule(bytes);
  } catch (e) {
    throw new SnapshotError(`${what} does not decode: ${(e as Error).message}`);
  }
  try {
    validateModule(m);
  } catch (e) {
    throw new SnapshotError(`${what} is not valid: ${(e as Error).message}`);
  }
  return m;
}

/** The types of a defined function's parameters and declared locals, in canonical slot order. */
export function localTypes(m: Module, func: number): { params: number; types: number[] } {
  const f = func - m.importedFuncs;
  const params = m.types[m.functions[f]].params;
  const body = m.bodies[f];
  const rd = new Cursor(m.bytes, body.start, body.end, `function ${func}'s local declarations`);
  const types = Array.from(params);
  const groups = rd.u32();
  for (let g = 0; g < groups; g++) {
    const n = rd.u32();
    const t = rd.u8();
    // the decoder already refused more than LIMITS.locals of them
    for (let k = 0; k < n; k++) types.push(t);
  }
  return { params: params.length, types };
}

/**
 * What the module alone says about the frames (docs/snapshot-format.md, gate.stack): functions
 * defined, slot types value types, the prefix of parameters and locals, i32/f32 high halves zero.
 * `where` prefixes messages.
 */
export function checkFramesAgainstModule(m: Module, frames: Frame[], state: SnapshotState, where: string): void {
  if (state === 'halted' && frames.length) throw new SnapshotError(`${where}: a halted snapshot has no stack, but ${frames.length} frames are given`);
  if (state === 'suspended' && !frames.length) throw new SnapshotError(`${where}: a suspended snapshot needs at least one frame`);
  const defined = m.functions.length;
  const cache = new Map<number, { params: number; types: number[] }>();
  frames.forEach((fr, k) => {
    const runtime = fr.module === 'runtime';
    const at = `${where}: frame ${k} (${runtime ? 'runtime ' : ''}function ${fr.func}, site ${fr.site})`;
    if (fr.module !== undefined && fr.module !== 'program' && !runtime) throw new SnapshotError(`${at}: module ${JSON.stringify(fr.module)} is neither 'program' nor 'runtime'`);
    if (runtime) {
      // the runtime library is not in the snapshot: only the resume rules (checkResume) with the library know its frames
      if (!Number.isInteger(fr.func) || fr.func < 0 || fr.func > 0xffffffff) throw new SnapshotError(`${at}: function index is not a u32`);
      if (!Number.isInteger(fr.site) || fr.site < 0 || fr.site >= NO_SITE) throw new SnapshotError(`${at}: site index is not a u32 below 0xFFFFFFFF`);
      fr.slots.forEach(({ type, bits }, s) => {
        if (!SLOT_TYPES.has(type)) throw new SnapshotError(`${at}: slot ${s} has type ${typeName(type)}, not a number, vector or reference type`);
        if (typeof bits !== 'bigint') throw new SnapshotError(`${at}: slot ${s}'s bits are not a bigint`);
        const bad = type === 0x70 ? checkFuncRef(bits) : null;
        if (bad) throw new SnapshotError(`${at}: slot ${s}: ${bad}`);
      });
      return;
    }
    if (!Number.isInteger(fr.func) || fr.func < m.importedFuncs || fr.func >= m.importedFuncs + defined) {
      throw new SnapshotError(`${at}: no such defined function (the module has ${m.importedFuncs} imported and ${defined} defined functions)`);
    }
    if (!Number.isInteger(fr.site) || fr.site < 0 || fr.site > NO_SITE) throw new SnapshotError(`${at}: site index is not a u32`);
    if (fr.site === NO_SITE) {
      if (state !== 'trapped' || k !== 0) throw new SnapshotError(`${at}: only the innermost frame of a trapped snapshot may be outside a site`);
      if (fr.slots.length) throw new SnapshotError(`${at}: a frame outside a site has no slots`);
      return;
    }
    let info = cache.get(fr.func);
    if (!info) cache.set(fr.func, (info = localTypes(m, fr.func)));
    const n = fr.slots.length;
    if (fr.site === 0 ? n !== info.params : n < info.types.length) {
      throw new SnapshotError(`${at}: ${n} slots, but ${fr.site === 0 ? `the entry site holds exactly the ${info.params} parameters` : `the function has ${info.types.length} parameters and locals`}`);
    }
    for (let s = 0; s < n; s++) {
      const { type, bits } = fr.slots[s];
      if (!SLOT_TYPES.has(type)) throw new SnapshotError(`${at}: slot ${s} has type ${typeName(type)}, not a number, vector or reference type`);
      const bad = typeof bits === 'bigint' && type === 0x70 ? checkFuncRef(bits) : null;
      if (bad) throw new SnapshotError(`${at}: slot ${s}: ${bad}`);
      if (s < info.types.length && type !== info.types[s]) {
        throw new SnapshotError(`${at}: slot ${s} is ${typeName(type)}, but the function's ${s < info.params ? 'parameter' : 'local'} ${s} is ${typeName(info.types[s])}`);
      }
      if (typeof bits !== 'bigint') throw new SnapshotError(`${at}: slot ${s}'s bits are not a bigint`);
    }
  });
}

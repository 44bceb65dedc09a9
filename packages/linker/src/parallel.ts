/**
 * Compiling a program's functions in worker threads (bench:compile, `linkProgramParallel`).
 *
 * The functions are independent once linked indices are known: calls between them are fixups
 * patched at the end (out.callFixups, out.tableFixups), and a function's own branches are
 * relative to itself. The one thing tied to its place in the text is each call into the shared
 * stubs, which the backends record in out.stubRefs. So every worker runs the deterministic first
 * half of the link (decode, imports, the stubs: the same offsets as here), compiles ranges of
 * functions (in compile order) that it takes from a shared counter, and hands back each range's
 * code with its records relative to the range's start. The calling thread then runs the link
 * again with those chunks: it puts each at the 16-byte-aligned end of the one before (where the
 * one-thread compile puts it), shifts the records, re-patches the stub calls, and goes on as
 * usual. The image is the same, byte for byte. Anything unusual (a worker that fails, a compile
 * error, a limit passed) makes the calling thread compile everything itself, which gives the
 * exact error a one-thread compile gives.
 */
import { Worker } from 'worker_threads';
import { join } from 'path';
import { LIMITS, SITE_WORDS, SiteWord, decodeModule, type CompileOutput, type StubEmitter } from '@wagc/frontend';
import type { ImageFunction, ImageInput } from './image/types';
import { link, type ProgramOptions } from './link';

/** Ranges [from, to) of compile-order function ordinals, handed out one by one to a worker. */
export interface ChunkSource {
  next(): [number, number] | null;
  done(chunk: Chunk): void;
}

/** One range's compiled code; every offset is relative to the start of `code`. */
export interface Chunk {
  range: [number, number];
  code: Uint8Array;
  /** Per function of the range: codeStart, codeEnd, frameSize. */
  funcs: Int32Array;
  /** The range's site rows (SiteWord fields; the types offsets relative to `slotTypes`). */
  sites: Int32Array;
  slotTypes: Uint8Array;
  callFixups: Int32Array;
  tableFixups: Int32Array;
  stubRefs: Int32Array;
  siteSlots: number;
  usedCpuFeatures: number;
}


/** In a worker: the code and records of the range just compiled, and `out` emptied for the next. */
export function takeChunk(out: CompileOutput, functions: ImageFunction[], range: [number, number], base: number,
                          linkedOf: (ordinal: number) => number, usedCpuFeatures: number): Chunk {
  const funcs = new Int32Array(3 * (range[1] - range[0]));
  for (let o = range[0]; o < range[1]; o++) {
    const f = functions[linkedOf(o)];
    const k = 3 * (o - range[0]);
    funcs[k] = f.codeStart - base;
    funcs[k + 1] = f.codeEnd - base;
    funcs[k + 2] = f.frameSize;
  }
  const st = out.sites;
  const sites = st.words.slice(0, SITE_WORDS * st.count);
  for (let k = 0; k < sites.length; k += SITE_WORDS) sites[k + SiteWord.CodeOffset] -= base;
  const slotTypes = st.types.slice(0, st.typesUsed);
  const shift = (xs: number[], stride: number) => {
    const r = Int32Array.from(xs);
    for (let k = 0; k < r.length; k += stride) r[k] -= base;
    return r;
  };
  const chunk: Chunk = {
    range,
    code: out.buf.bytes.slice(base, out.buf.pos),
    funcs,
    sites,
    slotTypes,
    callFixups: shift(out.callFixups, 2),
    tableFixups: shift(out.tableFixups, 1),
    stubRefs: shift(out.stubRefs, 2),
    siteSlots: st.typesUsed,
    usedCpuFeatures,
  };
  out.buf.pos = base;
  st.clear();
  out.callFixups.length = 0;
  out.tableFixups.length = 0;
  out.stubRefs.length = 0;
  return chunk;
}

/**
 * On the calling thread: puts the chunks (covering ordinals [0, count) in any order) in place.
 * False, with nothing changed, when they do not cover them or would pass a limit: the caller
 * compiles everything itself then.
 */
export function placeChunks(chunks: Chunk[], count: number, out: CompileOutput, stubs: StubEmitter,
                            functions: ImageFunction[], linkedOf: (ordinal: number) => number, report?: ParallelReport): boolean {
  const sorted = [...chunks].sort((a, b) => a.range[0] - b.range[0]);
  let expect = 0, bytes = out.buf.pos, sites = out.sites.count, siteSlots = out.sites.typesUsed;
  for (const c of sorted) {
    if (c.range[0] !== expect) return false;
    expect = c.range[1];
    bytes = ((bytes + 15) & ~15) + c.code.length;
    sites += c.sites.length / SITE_WORDS;
    siteSlots += c.siteSlots;
  }
  if (expect !== count || bytes > out.buf.limit || sites > LIMITS.sites || siteSlots > LIMITS.siteSlots) return false;
  for (const c of sorted) {
    out.buf.align(16, 0xcc);
    const base = out.buf.pos;
    out.buf.reserve(c.code.length);
    out.buf.bytes.set(c.code, base);
    out.buf.pos = base + c.code.length;
    for (let o = c.range[0]; o < c.range[1]; o++) {
      const f = functions[linkedOf(o)];
      const k = 3 * (o - c.range[0]);
      f.codeStart = base + c.funcs[k];
      f.codeEnd = base + c.funcs[k + 1];
      f.frameSize = c.funcs[k + 2];
    }
    const st = out.sites;
    const typesBase = st.addTypes(c.slotTypes.length);
    st.types.set(c.slotTypes, typesBase);
    const w = c.sites;
    for (let k = 0; k < w.length; k += SITE_WORDS) {
      st.add(base + w[k + SiteWord.CodeOffset], w[k + SiteWord.Func], w[k + SiteWord.Site], w[k + SiteWord.FpOffset],
        w[k + SiteWord.WasmOffset], w[k + SiteWord.SlotCount], typesBase + w[k + SiteWord.TypesOff], w[k + SiteWord.Check]);
    }
    for (let k = 0; k < c.callFixups.length; k += 2) out.callFixups.push(base + c.callFixups[k], c.callFixups[k + 1]);
    for (let k = 0; k < c.tableFixups.length; k++) out.tableFixups.push(base + c.tableFixups[k]);
    // the stub calls' displacements were right for where the worker put them
    for (let k = 0; k < c.stubRefs.length; k += 2) stubs.patchCall(out.buf, base + c.stubRefs[k], c.stubRefs[k + 1]);
  }
  if (report) {
    report.chunks = chunks.length;
    report.fellBack = false;
  }
  return true;
}

/** Contiguous ranges of compile-order ordinals of about equal body bytes, `n` of them at most. */
function planRanges(opts: ProgramOptions, n: number): [number, number][] {
  const sizes: number[] = [];
  for (const pm of opts.modules) for (const b of decodeModule(pm.bytes).bodies) sizes.push(b.end - b.start);
  const total = sizes.reduce((a, x) => a + x, 0);
  const ranges: [number, number][] = [];
  let from = 0, acc = 0;
  for (let o = 0; o < sizes.length; o++) {
    acc += sizes[o];
    if (acc >= (total * (ranges.length + 1)) / n && o + 1 < sizes.length) {
      ranges.push([from, o + 1]);
      from = o + 1;
    }
  }
  if (from < sizes.length) ranges.push([from, sizes.length]);
  return ranges;
}

/** A job for a worker (parallel-worker.ts). */
export interface WorkerInput {
  opts: ProgramOptions;
  ranges: [number, number][];
  /** Int32Array over it: [0] the next range to take */
  counter: SharedArrayBuffer;
}

/** What a worker posts: a chunk; at the end of a job `end`, or why it stopped. */
export type WorkerMessage = { chunk: Chunk } | { end: true } | { error: string };

/** What linkProgramParallel did: how many chunks the workers compiled, and whether it compiled on
 * the calling thread after all (a worker failed, a compile error, a limit). */
export interface ParallelReport {
  chunks: number;
  fellBack: boolean;
}

/** The compiled worker (dist/), also when this file runs from src/ under ts-jest. */
function workerPath(): string {
  const here = __dirname.replace(/[\\/]src$/, '/dist');
  return join(here, 'parallel-worker.js');
}

/**
 * Workers live from one call to the next, so that their compiler is warm (JIT-compiled) after the
 * first, as V8's compile threads always are; they are unref'd between calls, so they never keep
 * the process alive.
 */
const pool: Worker[] = [];

function poolWorker(k: number): Worker {
  while (pool.length <= k) {
    const w = new Worker(workerPath());
    w.unref();
    w.on('exit', () => {
      const i = pool.indexOf(w);
      if (i >= 0) pool.splice(i, 1);
    });
    pool.push(w);
  }
  return pool[k];
}

/** Runs a job on one pool worker; resolves when it ended it (false: it failed). */
function runJob(w: Worker, input: WorkerInput, chunks: Chunk[]): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
      w.unref();
      resolve(ok);
    };
    const onMessage = (m: WorkerMessage) => {
      if ('chunk' in m) chunks.push(m.chunk);
      else done('end' in m);
    };
    const onError = () => done(false);
    const onExit = () => done(false);
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    w.ref();
    w.postMessage(input);
  });
}

/**
 * linkProgram with the functions compiled in `jobs` worker threads (each takes ranges of about
 * 1/(4·jobs) of the code until none is left). The same image as linkProgram.
 */
export async function linkProgramParallel(opts: ProgramOptions, jobs: number, report?: ParallelReport): Promise<ImageInput> {
  if (report) {
    report.chunks = 0;
    report.fellBack = true;
  }
  if (jobs <= 1 || opts.resume) return link(opts, null, null)!;
  const ranges = planRanges(opts, 4 * jobs);
  const input: WorkerInput = { opts: { ...opts, resume: undefined }, ranges, counter: new SharedArrayBuffer(4) };
  const chunks: Chunk[] = [];
  const n = Math.min(jobs, ranges.length);
  const ok = await Promise.all(Array.from({ length: n }, (_, k) => runJob(poolWorker(k), input, chunks)));
  return link(opts, null, ok.every(Boolean) ? chunks : null, report)!;
}

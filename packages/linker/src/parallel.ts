/**
 * Compiling a program's functions in several threads (`linkProgramParallel`, `wagc --jobs`;
 * docs/ARCHITECTURE.md, "Compiling in worker threads").
 *
 * The calling thread decodes, validates and links the first half once (prepareLink), and shares
 * what compiling needs (env.ts: arrays, and the modules' bytes in a SharedArrayBuffer) with
 * `jobs − 1` pool workers (parallel-worker.ts). The functions, in compile order, are cut into
 * ranges of about equal body bytes. The calling thread takes ranges from the front, in order, and
 * compiles each straight into the output, where a one-thread compile puts it; the workers take
 * them from the back, each compiled apart into a chunk (its code and records relative to its
 * start), until the two ends meet. The chunks then go after the calling thread's ranges, in order,
 * each at the 16-byte-aligned end of the one before: their records shifted, their calls into the
 * shared stubs re-patched. The image is the one-thread image, byte for byte. A compile error, a
 * limit passed or a failed worker makes the calling thread compile everything itself, which gives
 * exactly a one-thread compile's error.
 */
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'worker_threads';
import { join } from 'path';
import { cpus } from 'os';
import { CompileOutput, LIMITS, SITE_WORDS, SiteWord } from '@wagc/frontend';
import type { ImageInput } from './image/types';
import { compileRange, functionCompiler, prepareLink, type Link, type ProgramOptions } from './link';
import type { ProgramCode } from './env';

/** One range's compiled code; every offset is relative to the start of `code`. */
export interface Chunk {
  /** Index of the range in the job's ranges. */
  range: number;
  code: Uint8Array;
  /** Per function of the range: code start, code end, frame size. */
  funcCode: Int32Array;
  /** The range's site rows (SiteWord fields; the types offsets relative to `slotTypes`). */
  sites: Int32Array;
  slotTypes: Uint8Array;
  callFixups: Int32Array;
  tableFixups: Int32Array;
  stubRefs: Int32Array;
  usedCpuFeatures: number;
}

/** A job for a pool worker (parallel-worker.ts). */
export interface WorkerJob {
  arch: ProgramOptions['arch'];
  cpuFeatures: number;
  /** The code buffer's limit (CodeBuffer.limit of the calling thread's output). */
  codeLimit: number;
  code: ProgramCode;
  /** Ranges of compile ordinals: (from, to) pairs. */
  ranges: Int32Array;
  /** Int32Array over it: [0] the ranges left, `takeRange`. */
  counter: SharedArrayBuffer;
  /** Where the worker posts its WorkerMessages. */
  port: MessagePort;
}

/**
 * What a worker posts on the job's port: a chunk, or why it stopped. When the job has ended it
 * posts `{ ended }` on its parent port (true: every range it took is on the job's port).
 */
export type WorkerMessage = { chunk: Chunk } | { error: string };

/** What linkProgramParallel did: how many ranges other threads compiled, and whether the calling
 * thread compiled everything after all (a worker failed, a compile error, a limit). */
export interface ParallelReport {
  chunks: number;
  fellBack: boolean;
  /**
   * Given: the most ranges the calling thread takes itself (tests: 0 leaves every range to the
   * workers, which a warm calling thread would otherwise finish before they start on a small module).
   */
  callerLimit?: number;
}

const ROW = SITE_WORDS;

/**
 * Below this many bytes of function bodies a warm worker (one of the pool, which has compiled
 * before) costs more than it saves.
 */
export const PARALLEL_MIN_CODE = 1 << 20;
/**
 * The same for the workers of a fresh process (the wagc command): each thread's JIT warms up on
 * its own, and on esbuild.wasm (10 MB of bodies) two cold threads took more CPU time than one
 * and no less time in all (bench/README.md, "Threads in a fresh process").
 */
export const COLD_PARALLEL_MIN_CODE = 64 << 20;

/** Threads to use by default: one per CPU for a module of at least `minCode` bytes of bodies, else one. */
export function defaultJobs(codeBytes: number, minCode = PARALLEL_MIN_CODE): number {
  return codeBytes >= minCode ? Math.max(1, cpus().length) : 1;
}

/**
 * linkProgram with the functions compiled by `jobs` threads: the calling one and `jobs − 1`
 * workers (default: `defaultJobs` with `minCode`). The same image as linkProgram.
 */
export async function linkProgramParallel(opts: ProgramOptions, jobs?: number, report?: ParallelReport, minCode = PARALLEL_MIN_CODE): Promise<ImageInput> {
  if (report) {
    report.chunks = 0;
    report.fellBack = true;
  }
  const l = prepareLink(opts);
  let codeBytes = 0;
  for (let o = 0; o < l.bodySizes.length; o++) codeBytes += l.bodySizes[o];
  const n = Math.min(jobs ?? defaultJobs(codeBytes, minCode), l.bodySizes.length);
  if (n <= 1 || opts.resume) l.compileAll();
  else if (!(await compileInThreads(l, n, report))) l.compileAll();
  return l.finish();
}

/** Contiguous ranges of compile ordinals of about equal body bytes, `n` of them at most: (from, to) pairs. */
function planRanges(sizes: Int32Array, n: number): Int32Array {
  let total = 0;
  for (let o = 0; o < sizes.length; o++) total += sizes[o];
  const ranges: number[] = [];
  let from = 0, acc = 0;
  for (let o = 0; o < sizes.length; o++) {
    acc += sizes[o];
    if (acc >= (total * (ranges.length / 2 + 1)) / n && o + 1 < sizes.length) {
      ranges.push(from, o + 1);
      from = o + 1;
    }
  }
  if (from < sizes.length) ranges.push(from, sizes.length);
  return Int32Array.from(ranges);
}

/** The code with every module's bytes in a SharedArrayBuffer (copied there unless they are). */
function shared(code: ProgramCode): ProgramCode {
  return {
    ...code,
    modules: code.modules.map((mc) => {
      if (mc.bytes.buffer instanceof SharedArrayBuffer) return mc;
      const bytes = new Uint8Array(new SharedArrayBuffer(mc.bytes.length));
      bytes.set(mc.bytes);
      return { ...mc, bytes };
    }),
  };
}

/** What `out` holds before the functions: compiling starts over from here after a failure. */
interface Mark { pos: number; sites: number; types: number; calls: number; tables: number; stubRefs: number }

function mark(out: CompileOutput): Mark {
  return { pos: out.buf.pos, sites: out.sites.count, types: out.sites.typesUsed, calls: out.callFixups.length, tables: out.tableFixups.length, stubRefs: out.stubRefs.length };
}

function restore(out: CompileOutput, m: Mark): void {
  out.buf.pos = m.pos;
  out.sites.count = m.sites;
  out.sites.typesUsed = m.types;
  out.callFixups.length = m.calls;
  out.tableFixups.length = m.tables;
  out.stubRefs.length = m.stubRefs;
}

/**
 * The ranges not yet taken, [front, back), packed in one int32 (front in the low 16 bits, back in
 * the high ones) so that either end is taken with one compare-and-swap: the calling thread takes
 * the front, the workers the back. −1 when they have met.
 */
export function takeRange(counter: Int32Array, fromBack: boolean): number {
  for (;;) {
    const v = Atomics.load(counter, 0);
    const front = v & 0xffff, back = v >>> 16;
    if (front >= back) return -1;
    const next = fromBack ? v - 0x10000 : v + 1;
    if (Atomics.compareExchange(counter, 0, v, next) === v) return fromBack ? back - 1 : front;
  }
}

/** Most ranges: the counter keeps each end in 16 bits. */
const MAX_RANGES = 0x7fff;

/**
 * Compiles every function of `l` with `n` threads; false (and `l.out` as it was) when the calling
 * thread must compile everything itself.
 */
async function compileInThreads(l: Link, n: number, report?: ParallelReport): Promise<boolean> {
  const out = l.out;
  const start = mark(out);
  // about 16 ranges per thread: small enough that the threads end together
  const ranges = planRanges(l.bodySizes, Math.min(16 * n, MAX_RANGES));
  const count = ranges.length / 2;
  const counter = new Int32Array(new SharedArrayBuffer(4));
  counter[0] = count << 16;
  const code = shared(l.code);
  const ports: MessagePort[] = [];
  const running: Promise<boolean>[] = [];
  for (let k = 0; k < n - 1; k++) {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1);
    const job: WorkerJob = { arch: l.opts.arch, cpuFeatures: l.opts.cpuFeatures ?? 0, codeLimit: out.buf.limit, code, ranges, counter: counter.buffer as SharedArrayBuffer, port: port2 };
    running.push(runJob(poolWorker(k), job, port2));
  }

  // while the workers start: what needs no code (the instance's tables and memory pages)
  l.prepareData();
  // this thread's share, from the front: straight into the output, in order
  let mine = 0, failed = false;
  const { fc, envs } = functionCompiler(l.opts.arch, l.opts.cpuFeatures ?? 0, out, l.code);
  try {
    const limit = report?.callerLimit ?? count;
    for (let r = mine < limit ? takeRange(counter, false) : -1; r >= 0; r = ++mine < limit ? takeRange(counter, false) : -1) {
      compileRange(fc, envs, l.code, ranges[2 * r], ranges[2 * r + 1], l.funcCode);
    }
  } catch {
    // a compile error or a limit: the one-thread compile reports it; the workers stop taking
    failed = true;
    Atomics.store(counter, 0, 0);
  }
  l.usedCpuFeatures |= fc.be.usedCpuFeatures ?? 0;
  // the workers' ranges, once they have ended, after this thread's
  const ok = (await Promise.all(running)).every(Boolean);
  const chunks: (Chunk | null)[] = new Array(count).fill(null);
  let error = false;
  for (const port of ports) {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const msg = m.message as WorkerMessage;
      if ('chunk' in msg) chunks[msg.chunk.range] = msg.chunk;
      else error = true;
    }
    port.close();
  }
  let placed = mine;
  while (!failed && !error && ok && placed < count && chunks[placed]) {
    if (!placeChunk(l, chunks[placed]!, ranges[2 * placed], ranges[2 * placed + 1])) break;
    chunks[placed++] = null;
  }
  if (failed || error || !ok || placed !== count) {
    restore(out, start);
    return false;
  }
  if (report) {
    report.chunks = count - mine;
    report.fellBack = false;
  }
  return true;
}

/** Compiles range `r` into `fc`'s (emptied) output and takes it out as a chunk. */
export function compileChunk(fc: ReturnType<typeof functionCompiler>['fc'], envs: ReturnType<typeof functionCompiler>['envs'], code: ProgramCode, r: number, ranges: Int32Array): Chunk {
  const out = fc.out;
  out.buf.pos = 0;
  out.sites.clear();
  out.callFixups.length = 0;
  out.tableFixups.length = 0;
  out.stubRefs.length = 0;
  const from = ranges[2 * r], to = ranges[2 * r + 1];
  const funcCode = new Int32Array(3 * (to - from));
  compileRange(fc, envs, code, from, to, funcCode, from);
  const st = out.sites;
  return {
    range: r,
    code: out.buf.bytes.slice(0, out.buf.pos),
    funcCode,
    sites: st.words.slice(0, ROW * st.count),
    slotTypes: st.types.slice(0, st.typesUsed),
    callFixups: out.callFixups.view().slice(),
    tableFixups: out.tableFixups.view().slice(),
    stubRefs: out.stubRefs.view().slice(),
    usedCpuFeatures: fc.be.usedCpuFeatures ?? 0,
  };
}

/**
 * Puts chunk `c` (ordinals [from, to)) at the 16-byte-aligned end of the output, where a one-thread
 * compile puts its first function. False, with the output unchanged, when that would pass a limit.
 */
function placeChunk(l: Link, c: Chunk, from: number, to: number): boolean {
  const out = l.out;
  const st = out.sites;
  const base = (out.buf.pos + 15) & ~15;
  const rows = c.sites.length / ROW;
  if (base + c.code.length > out.buf.limit || st.count + rows > LIMITS.sites || st.typesUsed + c.slotTypes.length > LIMITS.siteSlots) return false;
  out.buf.align(16, 0xcc);
  out.buf.reserve(c.code.length);
  out.buf.bytes.set(c.code, base);
  out.buf.pos = base + c.code.length;
  for (let o = from; o < to; o++) {
    const k = 3 * (o - from);
    l.funcCode[3 * o] = base + c.funcCode[k];
    l.funcCode[3 * o + 1] = base + c.funcCode[k + 1];
    l.funcCode[3 * o + 2] = c.funcCode[k + 2];
  }
  const typesBase = st.addTypes(c.slotTypes.length);
  st.types.set(c.slotTypes, typesBase);
  const w = c.sites;
  for (let k = 0; k < w.length; k += ROW) {
    st.add(base + w[k + SiteWord.CodeOffset], w[k + SiteWord.Func], w[k + SiteWord.Site], w[k + SiteWord.FpOffset],
      w[k + SiteWord.WasmOffset], w[k + SiteWord.SlotCount], typesBase + w[k + SiteWord.TypesOff], w[k + SiteWord.Check]);
  }
  for (let k = 0; k < c.callFixups.length; k += 2) out.callFixups.push2(base + c.callFixups[k], c.callFixups[k + 1]);
  for (let k = 0; k < c.tableFixups.length; k++) out.tableFixups.push(base + c.tableFixups[k]);
  // the stub calls' displacements were right for where the chunk was compiled
  for (let k = 0; k < c.stubRefs.length; k += 2) {
    l.stubs.patchCall(out.buf, base + c.stubRefs[k], c.stubRefs[k + 1]);
    out.stubRefs.push2(base + c.stubRefs[k], c.stubRefs[k + 1]);
  }
  l.usedCpuFeatures |= c.usedCpuFeatures;
  return true;
}

/** The compiled worker (dist/), also when this file runs from src/ under ts-jest. */
function workerPath(): string {
  const here = __dirname.replace(/[\\/]src$/, '/dist');
  return join(here, 'parallel-worker.js');
}

/**
 * Workers live from one call to the next, so that their compiler is warm (JIT-compiled) after the
 * first; they are unref'd between calls, so they never keep the process alive.
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

/**
 * Starts the pool's first `n` workers now (they take a while to start), e.g. while the calling
 * thread reads and decodes the module.
 */
export function startWorkers(n: number): void {
  for (let k = 0; k < n; k++) poolWorker(k);
}

/** Runs a job on one pool worker; resolves when it ended it (false: it failed). */
function runJob(w: Worker, job: WorkerJob, port: MessagePort): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
      w.unref();
      resolve(ok);
    };
    // the worker says on its own channel that the job ended; chunks go through `port`
    const onMessage = (m: { ended: boolean }) => done(m.ended);
    const onError = () => done(false);
    const onExit = () => done(false);
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    w.ref();
    w.postMessage(job, [port]);
  });
}

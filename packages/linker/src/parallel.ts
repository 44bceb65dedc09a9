/**
 * Compiling a program's functions in several threads (`linkProgramParallel`, `wagc --jobs`;
 * docs/ARCHITECTURE.md, "Compiling in worker threads").
 *
 * The calling thread decodes, validates and links the first half once (prepareLink), and shares
 * what compiling needs (env.ts: arrays, and the modules' bytes in a SharedArrayBuffer) with
 * `jobs − 1` pool workers (parallel-worker.ts). The functions, in compile order, are cut into
 * ranges of about equal body bytes; every thread, the calling one included, takes the next range
 * from a shared counter until none is left. A range the calling thread takes when every range
 * before it is in place is compiled straight into the output, where a one-thread compile puts it;
 * any other range is compiled apart into a chunk (its code and records relative to its start),
 * which is put in place, in order, at the 16-byte-aligned end of the one before: its records
 * shifted, its calls into the shared stubs re-patched. The image is the one-thread image, byte for
 * byte. A compile error, a limit passed or a failed worker makes the calling thread compile
 * everything itself, which gives exactly a one-thread compile's error.
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
  /** Int32Array over it: [0] the next range to take. */
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
}

const ROW = SITE_WORDS;

/** Below this many bytes of function bodies a worker costs more than it saves. */
export const PARALLEL_MIN_CODE = 1 << 20;

/** Threads to use by default: one per CPU for a module large enough to pay for them, else one. */
export function defaultJobs(codeBytes: number): number {
  return codeBytes >= PARALLEL_MIN_CODE ? Math.max(1, cpus().length) : 1;
}

/**
 * linkProgram with the functions compiled by `jobs` threads: the calling one and `jobs − 1`
 * workers (default: `defaultJobs`). The same image as linkProgram.
 */
export async function linkProgramParallel(opts: ProgramOptions, jobs?: number, report?: ParallelReport): Promise<ImageInput> {
  if (report) {
    report.chunks = 0;
    report.fellBack = true;
  }
  const l = prepareLink(opts);
  let codeBytes = 0;
  for (let o = 0; o < l.bodySizes.length; o++) codeBytes += l.bodySizes[o];
  const n = Math.min(jobs ?? defaultJobs(codeBytes), l.bodySizes.length);
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
 * Compiles every function of `l` with `n` threads; false (and `l.out` as it was) when the calling
 * thread must compile everything itself.
 */
async function compileInThreads(l: Link, n: number, report?: ParallelReport): Promise<boolean> {
  const out = l.out;
  const start = mark(out);
  // about 8 ranges per thread: small enough that the threads end together
  const ranges = planRanges(l.bodySizes, 8 * n);
  const count = ranges.length / 2;
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const code = shared(l.code);
  const ports: MessagePort[] = [];
  const running: Promise<boolean>[] = [];
  for (let k = 0; k < n - 1; k++) {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1);
    const job: WorkerJob = { arch: l.opts.arch, cpuFeatures: l.opts.cpuFeatures ?? 0, codeLimit: out.buf.limit, code, ranges, counter: counter.buffer as SharedArrayBuffer, port: port2 };
    running.push(runJob(poolWorker(k), job, port2));
  }

  // this thread's share: straight into the output while it is next in order, else apart
  const chunks: (Chunk | null)[] = new Array(count).fill(null);
  let placed = 0, failed = false, scratch: ReturnType<typeof functionCompiler> | null = null;
  const { fc, envs } = functionCompiler(l.opts.arch, l.opts.cpuFeatures ?? 0, out, l.code);
  const errors: string[] = [];
  const receive = (): void => {
    for (const port of ports) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        const msg = m.message as WorkerMessage;
        if ('chunk' in msg) chunks[msg.chunk.range] = msg.chunk;
        else if ('error' in msg) errors.push(msg.error);
      }
    }
  };
  const placeReady = (): void => {
    while (!failed && placed < count && chunks[placed]) {
      if (!placeChunk(l, chunks[placed]!, ranges[2 * placed], ranges[2 * placed + 1])) failed = true;
      chunks[placed++] = null;
    }
  };
  try {
    for (;;) {
      receive();
      placeReady();
      if (failed || errors.length) break;
      const r = Atomics.add(counter, 0, 1);
      if (r >= count) break;
      if (r === placed) {
        compileRange(fc, envs, l.code, ranges[2 * r], ranges[2 * r + 1], l.funcCode);
        placed++;
      } else {
        scratch ??= functionCompiler(l.opts.arch, l.opts.cpuFeatures ?? 0, new CompileOutput(), l.code);
        scratch.fc.out.buf.limit = out.buf.limit;
        chunks[r] = compileChunk(scratch.fc, scratch.envs, l.code, r, ranges);
      }
    }
  } catch {
    // a compile error or a limit: the one-thread compile reports it
    failed = true;
  }
  // the others' ranges, once they have ended (after a failure, stop handing out ranges)
  if (failed || errors.length) Atomics.store(counter, 0, count);
  const ok = (await Promise.all(running)).every(Boolean);
  receive();
  if (!failed) placeReady();
  for (const port of ports) port.close();
  if (scratch) l.usedCpuFeatures |= scratch.fc.be.usedCpuFeatures ?? 0;
  l.usedCpuFeatures |= fc.be.usedCpuFeatures ?? 0;
  if (failed || errors.length || !ok || placed !== count) {
    restore(out, start);
    return false;
  }
  if (report) {
    report.chunks = count;
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

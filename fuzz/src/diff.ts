/**
 * Differential check of one module: V8 (the oracle, in a worker thread with a timeout) against
 * wagc (compileProgram + gate-run-x86_64 --batch through conformance's LoaderProcess).
 *
 * Both sides call `run`, then `memhash`, then read every exported global `g<k>` (V8 through the
 * getter `gbits<k>`, which returns the bits, wagc through the batch `get`), also after `run`
 * trapped: the memory and globals at the trap must agree as well as the trap's kind.
 *
 * Values are compared bit for bit. The spec leaves the payload and sign of a NaN result open
 * (any arithmetic NaN; the canonical one when all NaN operands were canonical), and V8 uses that
 * freedom: its f32.max(0, nan:0x1) gives 0xffc00000 where wagc (SSE quieting) gives 0x7fc00001;
 * both are allowed arithmetic NaNs. The first campaigns showed exactly such
 * disagreements, so the generator (gen.ts, canonicalNaN) turns NaNs into the canonical NaN
 * wherever float bits become observable; NaN bits that the spec fixes (neg/abs/copysign of
 * NaN constants, reinterpretations) are the spec testsuite's business (float_misc,
 * float_exprs, float_memory).
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Worker } from 'worker_threads';
import { decodeModule } from '@wagc/frontend';
import { compileProgram } from '@wagc/linker';
import { loaderPath } from '@wagc/loader-c';
import { LoaderProcess } from '../../conformance/dist/loader';

/** The outcome of `run` on one side. */
export type RunResult =
  | { value: string }
  | { trap: string; text: string; id?: number }
  | { crash: string }
  | { timeout: true };

export interface Outcome {
  /** V8 rejected the module (a generator bug) / wagc rejected it (a wagc bug). */
  invalid?: string;
  compileError?: string;
  /** Instantiation failed or trapped. */
  instantiate?: string;
  run?: RunResult;
  memhash?: string;
  globals: Record<string, string>;
}

export interface Verdict {
  v8: Outcome;
  wagc: Outcome;
  /** Empty when the two agree. */
  differences: string[];
  /** Nothing to compare: V8 timed out or the module is invalid. */
  skipped?: string;
}

/**
 * V8's trap messages, shortened to kinds. V8 says "float unrepresentable in integer range" both
 * where the spec says "integer overflow" (a truncation out of range) and "invalid conversion to
 * integer" (of a NaN), and one message for a null entry and a signature mismatch.
 */
const V8_TRAPS: [RegExp, string][] = [
  [/^unreachable/, 'unreachable'],
  [/divide by zero|remainder by zero/, 'divide by zero'],
  [/divide result unrepresentable/, 'divide result unrepresentable'],
  [/float unrepresentable/, 'float unrepresentable'],
  [/memory access out of bounds/, 'memory access out of bounds'],
  [/table index is out of bounds/, 'table index is out of bounds'],
  [/null function or function signature mismatch/, 'null function or function signature mismatch'],
  [/Maximum call stack size exceeded/, 'call stack exhausted'],
];
/** wagc's trap ids (docs/ARCHITECTURE.md) and the V8 kinds each may correspond to. */
const WAGC_TRAPS: Record<number, [string, string[]]> = {
  1: ['unreachable', ['unreachable']],
  2: ['integer divide by zero', ['divide by zero']],
  3: ['integer overflow', ['divide result unrepresentable', 'float unrepresentable']],
  4: ['invalid conversion to integer', ['float unrepresentable']],
  5: ['out of bounds memory access', ['memory access out of bounds']],
  6: ['undefined element', ['table index is out of bounds']],
  7: ['uninitialized element', ['null function or function signature mismatch']],
  8: ['indirect call type mismatch', ['null function or function signature mismatch']],
  9: ['call stack exhausted', ['call stack exhausted']],
  10: ['out of bounds table access', ['table index is out of bounds']],
};

export function v8TrapKind(message: string): string {
  for (const [re, kind] of V8_TRAPS) if (re.test(message)) return kind;
  return `other: ${message}`;
}

// ---------------------------------------------------------------------------------------------
// V8

// Plain JS, so that the same code runs under jest (sources) and from dist.
const WORKER = `
const { parentPort } = require('worker_threads');
const hex = (v) => BigInt.asUintN(64, BigInt(v)).toString(16).padStart(16, '0');
parentPort.on('message', (bytes) => {
  const out = { globals: {} };
  let mod, inst;
  try { mod = new WebAssembly.Module(bytes); } catch (e) { out.invalid = String(e.message); parentPort.postMessage(out); return; }
  try { inst = new WebAssembly.Instance(mod, {}); } catch (e) { out.instantiate = String(e.message); parentPort.postMessage(out); return; }
  const ex = inst.exports;
  const names = WebAssembly.Module.exports(mod);
  if (typeof ex.run === 'function') {
    try { const v = ex.run(); out.run = { value: v === undefined ? '' : hex(v) }; }
    catch (e) { out.run = { trap: '', text: String(e && e.message) }; }
  }
  try {
    if (typeof ex.memhash === 'function') out.memhash = hex(ex.memhash());
    for (const d of names) if (d.kind === 'function' && /^gbits/.test(d.name)) out.globals['g' + d.name.slice(5)] = hex(ex[d.name]());
  } catch (e) { out.instantiate = 'after run: ' + String(e && e.message); }
  parentPort.postMessage(out);
});
`;

/** One worker thread running modules in V8, replaced when a module runs too long. */
export class V8Runner {
  private worker: Worker | null = null;

  async run(bytes: Uint8Array, timeoutMs: number): Promise<Outcome> {
    if (!this.worker) {
      this.worker = new Worker(WORKER, { eval: true });
      this.worker.unref();
    }
    const worker = this.worker;
    return new Promise((resolve) => {
      const done = (o: Outcome): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        resolve(o);
      };
      const onMessage = (o: Outcome): void => {
        if (o.run && 'trap' in o.run) o.run.trap = v8TrapKind(o.run.text);
        done(o);
      };
      const onError = (e: Error): void => {
        this.worker = null;
        done({ run: { crash: `V8 worker: ${e.message}` }, globals: {} });
      };
      const timer = setTimeout(() => {
        void worker.terminate();
        this.worker = null;
        done({ run: { timeout: true }, globals: {} });
      }, timeoutMs);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage(bytes);
    });
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = null;
  }
}

// ---------------------------------------------------------------------------------------------
// wagc

const hexName = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

/** Exported names of a module: functions and globals. */
function exportNames(bytes: Uint8Array): { funcs: Set<string>; globals: string[] } {
  const m = decodeModule(bytes);
  const funcs = new Set<string>();
  const globals: string[] = [];
  for (const e of m.exports) {
    if (e.kind === 'func') funcs.add(e.name);
    else if (e.kind === 'global' && /^g\d+$/.test(e.name)) globals.push(e.name);
  }
  return { funcs, globals };
}

export class WagcRunner {
  private dir = mkdtempSync(join(tmpdir(), 'wagc-fuzz-'));
  private count = 0;

  constructor(private loader = loaderPath('x86-64')) {}

  async run(bytes: Uint8Array, timeoutMs: number): Promise<Outcome> {
    const out: Outcome = { globals: {} };
    let image: Uint8Array;
    let names: ReturnType<typeof exportNames>;
    try {
      image = compileProgram({ modules: [{ name: 'main', bytes }], arch: 'x86-64' });
      names = exportNames(bytes);
    } catch (e) {
      out.compileError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      return out;
    }
    // a fresh file per module: the loader maps the image, rewriting it in place would be seen
    const path = join(this.dir, `m${this.count++}.img`);
    writeFileSync(path, image);
    const proc = new LoaderProcess(this.loader, path);
    try {
      const first = await proc.next(timeoutMs);
      if (first !== 'ready') {
        out.instantiate = first ?? `loader died: ${proc.stderr.trim().split('\n')[0] ?? ''}`;
        return out;
      }
      const answer = async (line: string): Promise<RunResult> => {
        const a = await proc.request(line, timeoutMs);
        if (a === null) return proc.stderr ? { crash: proc.stderr.trim().split('\n').slice(0, 3).join(' | ') } : { timeout: true };
        const ok = /^ok(?: ([0-9a-f]{16}))?$/.exec(a);
        if (ok) return { value: ok[1] ?? '' };
        const trap = /^trap (\d+) (.*)$/.exec(a);
        if (trap) return { trap: WAGC_TRAPS[Number(trap[1])]?.[0] ?? `other: ${trap[2]}`, text: trap[2], id: Number(trap[1]) };
        return { crash: `unexpected answer "${a}"` };
      };
      if (names.funcs.has('run')) out.run = await answer(`invoke ${hexName('run')}`);
      if (out.run && ('crash' in out.run || 'timeout' in out.run)) return out;
      if (names.funcs.has('memhash')) {
        const h = await answer(`invoke ${hexName('memhash')}`);
        if (!('value' in h)) {
          out.instantiate = `after run: memhash gave ${JSON.stringify(h)}`;
          return out;
        }
        out.memhash = h.value;
      }
      for (const g of names.globals) {
        const v = await answer(`get ${hexName(g)}`);
        out.globals[g] = 'value' in v ? v.value : JSON.stringify(v);
      }
      return out;
    } finally {
      proc.kill();
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// the comparison

function describeRun(r: RunResult | undefined): string {
  if (!r) return 'none';
  if ('value' in r) return `returned ${r.value || '(nothing)'}`;
  if ('trap' in r) return `trapped: ${r.trap}`;
  if ('crash' in r) return `crashed: ${r.crash}`;
  return 'timed out';
}

/** What disagrees between two outcomes; empty when nothing does. */
export function compareOutcomes(v8: Outcome, wagc: Outcome): string[] {
  const d: string[] = [];
  if (wagc.compileError) return [`compile: wagc rejected a module V8 accepts: ${wagc.compileError}`];
  if (v8.instantiate || wagc.instantiate) {
    // a trapping start function: the same kind of trap
    const trap = /^trap (\d+) /.exec(wagc.instantiate ?? '');
    const agree = v8.instantiate && wagc.instantiate &&
      (!trap || (WAGC_TRAPS[Number(trap[1])]?.[1] ?? []).includes(v8TrapKind(v8.instantiate)));
    if (!agree) d.push(`instantiate: V8 ${v8.instantiate ?? 'ok'}, wagc ${wagc.instantiate ?? 'ok'}`);
    return d;
  }
  const a = describeRun(v8.run), b = describeRun(wagc.run);
  const r = v8.run, s = wagc.run;
  const bothTrap = r && s && 'trap' in r && 'trap' in s;
  if (bothTrap ? !(WAGC_TRAPS[s.id ?? 0]?.[1] ?? []).includes(r.trap) : a !== b) d.push(`run: V8 ${a}, wagc ${b}`);
  // stack depths differ between engines: after exhaustion their states need not agree
  if (v8.run && 'trap' in v8.run && v8.run.trap === 'call stack exhausted') return d;
  if (v8.memhash !== wagc.memhash) d.push(`memhash: V8 ${v8.memhash}, wagc ${wagc.memhash}`);
  for (const g of new Set([...Object.keys(v8.globals), ...Object.keys(wagc.globals)])) {
    if (v8.globals[g] !== wagc.globals[g]) d.push(`global ${g}: V8 ${v8.globals[g]}, wagc ${wagc.globals[g]}`);
  }
  return d;
}

export interface DiffOptions {
  v8: V8Runner;
  wagc: WagcRunner;
  /** V8's time limit; wagc gets `wagcFactor` times as long. */
  timeoutMs?: number;
}

export async function diffModule(bytes: Uint8Array, opts: DiffOptions): Promise<Verdict> {
  const timeoutMs = opts.timeoutMs ?? 10000;
  // V8 runs in its worker while this thread compiles for wagc
  const [v8, wagc] = await Promise.all([opts.v8.run(bytes, timeoutMs), opts.wagc.run(bytes, 2 * timeoutMs)]);
  if (v8.invalid) return { v8, wagc, differences: [], skipped: `invalid: ${v8.invalid}` };
  if (v8.run && 'timeout' in v8.run) return { v8, wagc, differences: [], skipped: 'V8 timed out' };
  return { v8, wagc, differences: compareOutcomes(v8, wagc) };
}

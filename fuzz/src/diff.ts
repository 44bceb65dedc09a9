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
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Worker } from 'worker_threads';
import { CPU_FEATURE, decodeModule } from '@wagc/frontend';
import { compileProgram, type Arch } from '@wagc/linker';
import { spectestModule } from '@wagc/abi';
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
  /** The host's calls of the exports f<k> after run (HostCall), in order. */
  calls?: RunResult[];
  /** memhash after those calls. */
  memhashAfter?: string;
}

/** A call of an exported function from the host, with argument bit patterns (hex). */
export interface HostCall { name: string; params: number[]; results: number[]; args: string[] }

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
  [/memory access out of bounds|data segment is out of bounds/, 'memory access out of bounds'],
  [/table index is out of bounds/, 'table index is out of bounds'],
  [/null function or function signature mismatch/, 'null function or function signature mismatch'],
  [/Maximum call stack size exceeded/, 'call stack exhausted'],
];
/** wagc's trap ids (docs/ARCHITECTURE.md) and the V8 kinds each may correspond to. */
export const WAGC_TRAPS: Record<number, [string, string[]]> = {
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

/** Whether wagc's trap `id` is the trap V8 reports as `v8Kind`. */
export function wagcTrapMatches(id: number, v8Kind: string): boolean {
  return (WAGC_TRAPS[id]?.[1] ?? []).includes(v8Kind);
}

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
const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1), u64 = new BigUint64Array(f64.buffer);
const toJs = (t, h) => {
  const v = BigInt('0x' + h);
  if (t === 0x7f) return Number(BigInt.asIntN(32, v));
  if (t === 0x7e) return BigInt.asIntN(64, v);
  if (t === 0x7d) { u32[0] = Number(v); return f32[0]; }
  u64[0] = v; return f64[0];
};
// JS numbers do not keep NaN bits: a NaN result compares as "nan"
const fromJs = (t, v) => {
  if (v === undefined) return '';
  if (t === 0x7f) return (v >>> 0).toString(16).padStart(16, '0');
  if (t === 0x7e) return hex(v);
  if (Number.isNaN(v)) return 'nan';
  if (t === 0x7d) { f32[0] = v; return u32[0].toString(16).padStart(16, '0'); }
  f64[0] = v; return u64[0].toString(16).padStart(16, '0');
};
parentPort.on('message', ({ bytes, calls }) => {
  const out = { globals: {} };
  let mod, inst;
  try { mod = new WebAssembly.Module(bytes); } catch (e) { out.invalid = String(e.message); parentPort.postMessage(out); return; }
  // packages/abi/spectest.wat, as the spec interpreter defines it
  const spectest = {
    print() {}, print_i32() {}, print_i64() {}, print_f32() {}, print_f64() {}, print_i32_f32() {}, print_f64_f64() {},
    global_i32: new WebAssembly.Global({ value: 'i32' }, 666), global_i64: new WebAssembly.Global({ value: 'i64' }, 666n),
    global_f32: new WebAssembly.Global({ value: 'f32' }, 666.6), global_f64: new WebAssembly.Global({ value: 'f64' }, 666.6),
    table: new WebAssembly.Table({ initial: 10, maximum: 20, element: 'anyfunc' }),
    memory: new WebAssembly.Memory({ initial: 1, maximum: 2 }),
  };
  try { inst = new WebAssembly.Instance(mod, { spectest }); } catch (e) { out.instantiate = String(e.message); parentPort.postMessage(out); return; }
  const ex = inst.exports;
  const names = WebAssembly.Module.exports(mod);
  if (typeof ex.run === 'function') {
    try { const v = ex.run(); out.run = { value: v === undefined ? '' : hex(v) }; }
    catch (e) { out.run = { trap: '', text: String(e && e.message) }; }
  }
  try {
    if (typeof ex.memhash === 'function') out.memhash = hex(ex.memhash());
    for (const d of names) if (d.kind === 'function' && /^gbits/.test(d.name)) out.globals['g' + d.name.slice(5)] = hex(ex[d.name]());
    if (calls.length) {
      out.calls = [];
      for (const c of calls) {
        ex.refuel();
        try {
          const v = ex[c.name](...c.args.map((a, k) => toJs(c.params[k], a)));
          // several results come back as an array, one value a hex word as the batch protocol says
          out.calls.push({ value: c.results.length > 1 ? c.results.map((t, k) => fromJs(t, v[k])).join(' ') : fromJs(c.results[0], v) });
        }
        catch (e) { out.calls.push({ trap: '', text: String(e && e.message) }); }
      }
      out.memhashAfter = hex(ex.memhash());
    }
  } catch (e) { out.instantiate = 'after run: ' + String(e && e.message); }
  parentPort.postMessage(out);
});
`;

/** One worker thread running modules in V8, replaced when a module runs too long. */
export class V8Runner {
  private worker: Worker | null = null;

  async run(bytes: Uint8Array, calls: HostCall[], timeoutMs: number): Promise<Outcome> {
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
        for (const r of [o.run, ...(o.calls ?? [])]) if (r && 'trap' in r) r.trap = v8TrapKind(r.text);
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
      worker.postMessage({ bytes, calls });
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

/** The optional CPU features (wagc --cpu-features) this machine has. */
function hostCpuFeatures(): number {
  let flags: Set<string>;
  try {
    flags = new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
  } catch {
    return 0;
  }
  return (flags.has('popcnt') ? CPU_FEATURE.popcnt : 0) | (flags.has('abm') ? CPU_FEATURE.lzcnt : 0) |
    (flags.has('bmi1') ? CPU_FEATURE.bmi1 : 0) | (flags.has('avx') ? CPU_FEATURE.avx : 0);
}
export const HOST_CPU_FEATURES = process.arch === 'x64' ? hostCpuFeatures() : 0;

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

/** What wagc compiles for and how its loader runs (under qemu-aarch64 for arm64 on x86-64). */
export interface Target { arch: Arch; loader: string; prefix: string[] }

export function defaultTarget(arch: Arch = 'x86-64', loader = loaderPath(arch)): Target {
  const foreign = arch === 'arm64' ? process.arch !== 'arm64' : process.arch !== 'x64';
  return { arch, loader, prefix: foreign && arch === 'arm64' ? ['qemu-aarch64'] : [] };
}

export class WagcRunner {
  private dir = mkdtempSync(join(tmpdir(), 'wagc-fuzz-'));
  private count = 0;

  constructor(private target: Target = defaultTarget()) {}

  async run(bytes: Uint8Array, calls: HostCall[], timeoutMs: number): Promise<Outcome> {
    const out: Outcome = { globals: {} };
    let image: Uint8Array;
    let names: ReturnType<typeof exportNames>;
    try {
      const spectest = decodeModule(bytes).imports.length ? [{ name: 'spectest', bytes: spectestModule() }] : [];
      // half of the modules (by a bit of their bytes) use the optional instructions the host has
      const x64 = this.target.arch === 'x86-64';
      const cpuFeatures = x64 && bytes.reduce((h, b) => (h * 31 + b) >>> 0, 7) & 1 ? HOST_CPU_FEATURES : 0;
      image = compileProgram({ modules: [...spectest, { name: 'main', bytes }], arch: this.target.arch, cpuFeatures });
      names = exportNames(bytes);
    } catch (e) {
      out.compileError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      return out;
    }
    // a fresh file per module: the loader maps the image, rewriting it in place would be seen
    const path = join(this.dir, `m${this.count++}.img`);
    writeFileSync(path, image);
    const proc = new LoaderProcess(this.target.loader, path, this.target.prefix);
    try {
      const first = await proc.next(timeoutMs);
      if (first !== 'ready') {
        out.instantiate = first ?? `loader died: ${proc.stderr.trim().split('\n')[0] ?? ''}`;
        return out;
      }
      const answer = async (line: string): Promise<RunResult> => {
        const a = await proc.request(line, timeoutMs);
        if (a === null) return proc.stderr ? { crash: proc.stderr.trim().split('\n').slice(0, 3).join(' | ') } : { timeout: true };
        const ok = /^ok((?: [0-9a-f]{16})*)$/.exec(a);
        if (ok) return { value: ok[1].slice(1) };
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
      if (calls.length) {
        out.calls = [];
        for (const c of calls) {
          await answer(`invoke ${hexName('refuel')}`);
          const r = await answer(`invoke ${hexName(c.name)} ${c.args.join(' ')}`);
          if ('value' in r && r.value) r.value = r.value.split(' ').map((h, k) => (isNaNBits(c.results[k], h) ? 'nan' : h)).join(' ');
          out.calls.push(r);
          if ('crash' in r || 'timeout' in r) return out;
        }
        const h = await answer(`invoke ${hexName('memhash')}`);
        out.memhashAfter = 'value' in h ? h.value : JSON.stringify(h);
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

function isNaNBits(t: number | undefined, h: string): boolean {
  const v = BigInt('0x' + h);
  if (t === 0x7d) return (v & 0x7f800000n) === 0x7f800000n && (v & 0x7fffffn) !== 0n;
  if (t === 0x7c) return (v & 0x7ff0000000000000n) === 0x7ff0000000000000n && (v & 0xfffffffffffffn) !== 0n;
  return false;
}

const CALL_INTS = [0n, 1n, 2n, 7n, 0x7fn, 0x80n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n,
  0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0xfffffffffffffffen];
const CALL_F32 = [0x0, 0x80000000, 0x3f800000, 0xbfc00000, 0x7f800000, 0xff800000, 0x1, 0x7f7fffff, 0x4f000000, 0xcf000001];
const CALL_F64 = [0x0n, 0x8000000000000000n, 0x3ff0000000000000n, 0xbff8000000000000n, 0x7ff0000000000000n,
  0xfff0000000000000n, 0x1n, 0x7fefffffffffffffn, 0x41e0000000000000n, 0xc3e0000000000001n];

/**
 * Calls of every export f<k> with arguments drawn from the module's bytes (so both sides and
 * every replay get the same ones). Float arguments are never NaN: a JS number cannot carry
 * NaN bits into V8.
 */
export function hostCalls(bytes: Uint8Array): HostCall[] {
  const m = decodeModule(bytes);
  if (!m.exports.some((e) => e.kind === 'func' && e.name === 'refuel')) return [];
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  const next = (n: number): number => {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = (h + 0x9e3779b9) >>> 0;
    return h % n;
  };
  const calls: HostCall[] = [];
  for (const e of m.exports) {
    if (e.kind !== 'func' || !/^f\d+$/.test(e.name)) continue;
    const t = m.types[m.functions[e.index - m.importedFuncs]];
    // JS can neither pass nor receive a v128
    if (t.params.includes(0x7b) || t.results.includes(0x7b)) continue;
    const params = Array.from(t.params);
    const args = params.map((p) => {
      let v: bigint;
      if (p === 0x7d) v = BigInt(CALL_F32[next(CALL_F32.length)]);
      else if (p === 0x7c) v = CALL_F64[next(CALL_F64.length)];
      else v = CALL_INTS[next(CALL_INTS.length)] & (p === 0x7f ? 0xffffffffn : 0xffffffffffffffffn);
      return v.toString(16);
    });
    calls.push({ name: e.name, params, results: Array.from(t.results), args });
  }
  return calls;
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
  const differ = (r: RunResult | undefined, s: RunResult | undefined): boolean =>
    r && s && 'trap' in r && 'trap' in s ? !(WAGC_TRAPS[s.id ?? 0]?.[1] ?? []).includes(r.trap) : describeRun(r) !== describeRun(s);
  if (differ(v8.run, wagc.run)) d.push(`run: V8 ${describeRun(v8.run)}, wagc ${describeRun(wagc.run)}`);
  // stack depths differ between engines: after exhaustion their states need not agree
  if (v8.run && 'trap' in v8.run && v8.run.trap === 'call stack exhausted') return d;
  if (v8.memhash !== wagc.memhash) d.push(`memhash: V8 ${v8.memhash}, wagc ${wagc.memhash}`);
  for (const g of new Set([...Object.keys(v8.globals), ...Object.keys(wagc.globals)])) {
    if (v8.globals[g] !== wagc.globals[g]) d.push(`global ${g}: V8 ${v8.globals[g]}, wagc ${wagc.globals[g]}`);
  }
  const calls = Math.max(v8.calls?.length ?? 0, wagc.calls?.length ?? 0);
  for (let k = 0; k < calls; k++) {
    const r = v8.calls?.[k], s = wagc.calls?.[k];
    if (differ(r, s)) {
      d.push(`host call ${k}: V8 ${describeRun(r)}, wagc ${describeRun(s)}`);
      return d;
    }
    if (r && 'trap' in r && r.trap === 'call stack exhausted') return d;
  }
  if (v8.memhashAfter !== wagc.memhashAfter) d.push(`memhash after host calls: V8 ${v8.memhashAfter}, wagc ${wagc.memhashAfter}`);
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
  let calls: HostCall[] = [];
  try {
    calls = hostCalls(bytes);
  } catch {
    // malformed: V8 and wagc report it
  }
  const [v8, wagc] = await Promise.all([opts.v8.run(bytes, calls, timeoutMs), opts.wagc.run(bytes, calls, 2 * timeoutMs)]);
  if (v8.invalid) return { v8, wagc, differences: [], skipped: `invalid: ${v8.invalid}` };
  if (v8.run && 'timeout' in v8.run) return { v8, wagc, differences: [], skipped: 'V8 timed out' };
  return { v8, wagc, differences: compareOutcomes(v8, wagc) };
}

/**
 * Two-instance programs: `lib`, a generated module, and `main`, a generated module importing
 * from it (gen.ts, importFrom): their shared fuel, some functions, mutable globals, and maybe
 * the memory and table (so main's element segments put its functions in lib's table, and calls
 * go both ways). wagc links both into one store image (linker `store`, docs/ARCHITECTURE.md
 * "Several instances"); V8 instantiates lib, then main with lib's exports.
 *
 * The same script of steps runs on both sides (main's run, memhash and globals, then lib's,
 * then main's memhash again: what lib's run did to shared state must show) and every answer
 * is compared, traps by kind. When main fails to instantiate, lib's steps still run: what
 * main's segments wrote into lib's memory or table before the failure stays (spec 2.0).
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Worker } from 'worker_threads';
import { decodeModule } from '@wagc/frontend';
import { compileProgram } from '@wagc/linker';
import { spectestModule } from '@wagc/abi';
import { LoaderProcess } from '../../conformance/dist/loader';
import { generate, type GenNode, type GenOptions } from './gen';
import { defaultTarget, v8TrapKind, wagcTrapMatches, type Target } from './diff';

export interface Pair { lib: Uint8Array; main: Uint8Array; nodes: GenNode[]; simd: boolean }

export function generatePair(opts: GenOptions): Pair {
  const lib = generate({ ...opts, prefix: 'lib/' });
  const main = generate({ ...opts, prefix: 'main/', salt: 1, importFrom: lib.exports });
  return { lib: lib.bytes, main: main.bytes, nodes: [...lib.nodes, ...main.nodes], simd: lib.simd || main.simd };
}

/** One request to instance 0 (lib) or 1 (main): invoke an export, or read a global's bits. */
interface Step { inst: number; kind: 'invoke' | 'global'; name: string }

/** Answers: "ok <hex>", "ok", "trap <kind>", "instantiate: <text>", "crash: …", "timeout". */
export interface PairOutcome { answers: string[]; invalid?: string }

function script(lib: Uint8Array, main: Uint8Array): Step[] {
  const steps: Step[] = [];
  const state = (inst: number, bytes: Uint8Array): void => {
    const m = decodeModule(bytes);
    if (m.exports.some((e) => e.name === 'memhash')) steps.push({ inst, kind: 'invoke', name: 'memhash' });
    for (const e of m.exports) if (e.kind === 'global' && /^g\d+$/.test(e.name)) steps.push({ inst, kind: 'global', name: e.name });
  };
  steps.push({ inst: 1, kind: 'invoke', name: 'run' });
  state(1, main);
  steps.push({ inst: 0, kind: 'invoke', name: 'run' });
  state(0, lib);
  state(1, main);
  return steps;
}

const WORKER = `
const { parentPort } = require('worker_threads');
const hex = (v) => BigInt.asUintN(64, BigInt(v)).toString(16).padStart(16, '0');
parentPort.on('message', ({ lib, main, steps }) => {
  const answers = [];
  const spectest = () => ({
    print() {}, print_i32() {}, print_i64() {}, print_f32() {}, print_f64() {}, print_i32_f32() {}, print_f64_f64() {},
    global_i32: new WebAssembly.Global({ value: 'i32' }, 666), global_i64: new WebAssembly.Global({ value: 'i64' }, 666n),
    global_f32: new WebAssembly.Global({ value: 'f32' }, 666.6), global_f64: new WebAssembly.Global({ value: 'f64' }, 666.6),
    table: new WebAssembly.Table({ initial: 10, maximum: 20, element: 'anyfunc' }),
    memory: new WebAssembly.Memory({ initial: 1, maximum: 2 }),
  });
  let mods;
  try { mods = [new WebAssembly.Module(lib), new WebAssembly.Module(main)]; }
  catch (e) { parentPort.postMessage({ answers, invalid: String(e.message) }); return; }
  const insts = [];
  for (const m of mods) {
    try { insts.push(new WebAssembly.Instance(m, { spectest: spectest(), lib: insts[0] && insts[0].exports })); }
    catch (e) {
      answers.push('instantiate: ' + String(e.message));
      // main failed: what its segments wrote into lib's memory and table before that stays
      if (!insts.length) { parentPort.postMessage({ answers }); return; }
    }
  }
  for (const s of steps) {
    if (!insts[s.inst]) continue;
    const ex = insts[s.inst].exports;
    try {
      if (s.kind === 'global') answers.push('ok ' + hex(ex['gbits' + s.name.slice(1)]()));
      else { const v = ex[s.name](); answers.push(v === undefined ? 'ok' : 'ok ' + hex(v)); }
    } catch (e) { answers.push('trap ' + String(e && e.message)); }
  }
  parentPort.postMessage({ answers });
});
`;

export class PairRunner {
  private worker: Worker | null = null;
  private dir = mkdtempSync(join(tmpdir(), 'wagc-fuzz-pair-'));
  private count = 0;

  constructor(private target: Target = defaultTarget()) {}

  private v8(lib: Uint8Array, main: Uint8Array, steps: Step[], timeoutMs: number): Promise<PairOutcome> {
    if (!this.worker) {
      this.worker = new Worker(WORKER, { eval: true });
      this.worker.unref();
    }
    const worker = this.worker;
    return new Promise((resolve) => {
      const done = (o: PairOutcome): void => {
        clearTimeout(timer);
        worker.off('message', done);
        resolve(o);
      };
      const timer = setTimeout(() => {
        void worker.terminate();
        this.worker = null;
        done({ answers: ['timeout'] });
      }, timeoutMs);
      worker.on('message', done);
      worker.postMessage({ lib, main, steps });
    });
  }

  private async wagc(lib: Uint8Array, main: Uint8Array, steps: Step[], timeoutMs: number): Promise<PairOutcome> {
    const answers: string[] = [];
    let image: Uint8Array;
    try {
      const spectest = decodeModule(lib).imports.length ? [{ name: 'spectest', bytes: spectestModule() }] : [];
      image = compileProgram({
        modules: [...spectest, { name: 'lib', bytes: lib }, { name: 'main', bytes: main }], arch: this.target.arch, store: true,
      });
    } catch (e) {
      return { answers: [`compile: ${e instanceof Error ? `${e.name}: ${e.message}` : e}`] };
    }
    const first = decodeModule(lib).imports.length ? 1 : 0; // spectest is instance 0 when present
    const path = join(this.dir, `p${this.count++}.img`);
    writeFileSync(path, image);
    const proc = new LoaderProcess(this.target.loader, path, this.target.prefix);
    const ask = async (line: string): Promise<string> => {
      const a = await proc.request(line, timeoutMs);
      if (a !== null) return a;
      return proc.stderr ? `crash: ${proc.stderr.trim().split('\n').slice(0, 2).join(' | ')}` : 'timeout';
    };
    try {
      const ready = await proc.next(timeoutMs);
      if (ready !== 'ready') return { answers: [`crash: ${ready ?? proc.stderr.trim()}`] };
      let mainFailed = false;
      for (let k = 0; k < first + 2; k++) {
        const a = await ask(`instantiate ${k}`);
        if (a !== 'ok') {
          answers.push(`instantiate: ${a}`);
          if (k < first + 1 || !a.startsWith('trap')) return { answers };
          mainFailed = true;
        }
      }
      let current = -1;
      for (const s of steps) {
        if (s.inst === 1 && mainFailed) continue;
        if (s.inst !== current) {
          await ask(`use ${first + s.inst}`);
          current = s.inst;
        }
        const a = await ask(`${s.kind === 'global' ? 'get' : 'invoke'} ${Buffer.from(s.name).toString('hex')}`);
        answers.push(a);
        if (a.startsWith('crash') || a === 'timeout') break;
      }
      return { answers };
    } finally {
      proc.kill();
      try {
        unlinkSync(path);
      } catch {
        // gone
      }
    }
  }

  async diff(lib: Uint8Array, main: Uint8Array, timeoutMs = 10000): Promise<{ differences: string[]; skipped?: string; v8: PairOutcome; wagc: PairOutcome }> {
    const steps = script(lib, main);
    const [v8, wagc] = await Promise.all([this.v8(lib, main, steps, timeoutMs), this.wagc(lib, main, steps, 2 * timeoutMs)]);
    if (v8.invalid) return { differences: [], skipped: `invalid: ${v8.invalid}`, v8, wagc };
    if (v8.answers.includes('timeout')) return { differences: [], skipped: 'V8 timed out', v8, wagc };
    return { differences: comparePair(steps, v8.answers, wagc.answers), v8, wagc };
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = null;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function comparePair(steps: Step[], v8: string[], wagc: string[]): string[] {
  if (wagc[0]?.startsWith('compile')) return [`compile: wagc rejected a pair V8 accepts: ${wagc[0]}`];
  // the steps answered: all of them, or lib's only when main failed to instantiate
  const mainFailed = v8[0]?.startsWith('instantiate');
  const answered = steps.filter((s) => !mainFailed || s.inst === 0);
  const label = (k: number): string => {
    const s = answered[k - (mainFailed ? 1 : 0)];
    return s ? `${['lib', 'main'][s.inst]} ${s.kind} ${s.name}` : `answer ${k}`;
  };
  const n = Math.max(v8.length, wagc.length);
  for (let k = 0; k < n; k++) {
    const a = v8[k] ?? 'nothing', b = wagc[k] ?? 'nothing';
    if (a.startsWith('instantiate') || b.startsWith('instantiate')) {
      const t = /^instantiate: trap (\d+) /.exec(b);
      const agree = a.startsWith('instantiate') && b.startsWith('instantiate') &&
        (!t || wagcTrapMatches(Number(t[1]), v8TrapKind(a.replace(/^instantiate: /, ''))));
      if (!agree) return [`instantiate: V8 ${a}, wagc ${b}`];
      continue;
    }
    const ta = /^trap (.*)$/.exec(a), tb = /^trap (\d+) /.exec(b);
    if (ta && tb) {
      const kind = v8TrapKind(ta[1]);
      if (!wagcTrapMatches(Number(tb[1]), kind)) return [`${label(k)}: V8 ${a}, wagc ${b}`];
      if (kind === 'call stack exhausted') return []; // depths differ: the states need not agree
      continue;
    }
    if (a !== b) return [`${label(k)}: V8 ${a}, wagc ${b}`];
  }
  return [];
}

/**
 * Execution speed: the programs of bench/programs (C built to .wasm by build.sh) run under gate-run,
 * under V8's baseline compiler (Liftoff), under V8's optimising compiler (TurboFan), and as native
 * code (the same C built with gcc -O2), side by side in one run. Each program prints a checksum;
 * every run's output must agree with every other, native included.
 *   npm run bench:run [-- --runs 5] [-- --programs fib,sieve]
 *
 * Times are medians of `--runs` fresh processes, engines interleaved run by run so that load from
 * elsewhere on the machine falls on all four alike. Compile time is never counted:
 * - gate-run: wall time of the loader process (the C binary itself, not the node wrapper) on an
 *   image compiled beforehand. That includes process start and mapping the image, so the empty
 *   program's time is measured the same way and the table shows the wall time and the wall time
 *   minus that start cost ("net"); the ratios use net.
 * - liftoff / turbofan: node with --liftoff-only or --no-liftoff (both --no-wasm-lazy-compilation,
 *   so all code is compiled before the clock starts); the child times only the call of _start
 *   with performance.now() and reports it on stderr.
 * - native: `gcc -O2 -DBENCH_NATIVE` of the same source (common.h maps the two WASI imports to
 *   write and _exit, and main calls _start), timed like gate-run: wall time minus the empty
 *   program's.
 * Each program comes as NAME (clang -O2) and NAME.simd (clang -O3 -msimd128: vectorised loops,
 * WebAssembly SIMD), both against the same native build.
 * Each engine's time is given as a ratio to native, with the geometric means; the load average is
 * printed at the start and the end (timings mean something only on an otherwise idle machine).
 */
import { execFileSync, spawnSync } from 'child_process';
import { mkdirSync, readdirSync } from 'fs';
import { loadavg } from 'os';
import { join, resolve } from 'path';
import { loaderPath } from '@wagc/loader-c';

const root = resolve(__dirname, '../..');
const programsDir = join(root, 'bench/programs');
const outDir = join(root, 'out/bench');
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : def;
};
const runs = Number(opt('runs', '5'));
const only = opt('programs', '').split(',').filter((s) => s !== '');

const NODE_FLAGS = ['--no-wasm-lazy-compilation', '--no-turbo-fast-api-calls', '--no-warnings'];
const ENGINES = { liftoff: '--liftoff-only', turbofan: '--no-liftoff' } as const;
type Engine = keyof typeof ENGINES;
const TIME_MARK = '@@bench-start-ms ';

/** Runs argv[1] (a .wasm) with node:wasi; prints the time of _start alone on stderr; exits with its status. */
const CHILD = `
const { WASI } = require('node:wasi');
const bytes = require('fs').readFileSync(process.argv[1]);
const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), wasi.getImportObject());
const t0 = performance.now();
const status = wasi.start(instance);
const t1 = performance.now();
process.stderr.write(${JSON.stringify(TIME_MARK)} + (t1 - t0) + '\\n');
process.exitCode = status;
`;

interface Run { ms: number; stdout: string; status: number | null; stderr: string }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function compile(name: string): string {
  const img = join(outDir, `${name}.img`);
  execFileSync(process.execPath, [join(root, 'packages/cli/bin/wagc.js'), join(programsDir, `${name}.wasm`), '-o', img], { stdio: 'inherit' });
  return img;
}

/**
 * The same C, built natively: gcc -O2 (bench/programs/common.h's BENCH_NATIVE side). NAME.simd
 * (the -O3 -msimd128 build of NAME.c) runs against the same native program as NAME.
 */
function compileNative(program: string): string {
  const name = program.replace(/\.simd$/, '');
  const exe = join(outDir, 'native', name);
  mkdirSync(join(outDir, 'native'), { recursive: true });
  try {
    execFileSync('gcc', ['-O2', '-DBENCH_NATIVE', '-w', '-o', exe, join(programsDir, `${name}.c`), '-lm'], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (e) {
    throw new Error(`gcc -O2 ${name}.c failed (the native column needs gcc): ${e instanceof Error ? e.message : e}`);
  }
  return exe;
}

/** Wall time of a process: the loader on an image, or a native program. */
function runProcess(argv: string[]): Run {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 24 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  return { ms, stdout: r.stdout, status: r.status, stderr: r.stderr };
}

const runGate = (img: string): Run => runProcess([loaderPath('x86-64'), img, '--']);
const runNative = (exe: string): Run => runProcess([exe]);

function runNode(engine: Engine, wasm: string): Run {
  const r = spawnSync(process.execPath, [ENGINES[engine], ...NODE_FLAGS, '-e', CHILD, wasm], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.error) throw r.error;
  const lines = r.stderr.split('\n');
  const mark = lines.find((l) => l.startsWith(TIME_MARK));
  const stderr = lines.filter((l) => !l.startsWith(TIME_MARK)).join('\n');
  return { ms: mark ? Number(mark.slice(TIME_MARK.length)) : NaN, stdout: r.stdout, status: r.status, stderr };
}

/** The programs to run: every .wasm next to build.sh but the empty one, or those named by --programs. */
function programNames(): string[] {
  const all = readdirSync(programsDir).filter((f) => f.endsWith('.wasm')).map((f) => f.slice(0, -5)).filter((n) => n !== 'empty').sort();
  for (const n of only) if (!all.includes(n)) throw new Error(`no program ${n} (have: ${all.join(', ')})`);
  return only.length ? all.filter((n) => only.includes(n)) : all;
}


const geomean = (xs: number[]): number => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

/** The fixed cost of starting a process that does nothing: the median wall time of the empty program. */
function startCost(run: () => Run, what: string): { ms: number; n: number } {
  const rs = Array.from({ length: Math.max(runs, 9) }, run);
  for (const r of rs) if (r.status !== 0 || r.stdout !== '') throw new Error(`empty program (${what}): status ${r.status}, output ${JSON.stringify(r.stdout)} ${r.stderr}`);
  return { ms: median(rs.map((r) => r.ms)), n: rs.length };
}

function main(): number {
  const names = programNames();
  mkdirSync(outDir, { recursive: true });
  const loadStart = load();
  const empty = compile('empty');
  const emptyNative = compileNative('empty');
  const imgs = new Map(names.map((n) => [n, compile(n)]));
  const exes = new Map(names.map((n) => [n, compileNative(n)]));

  const gateStart = startCost(() => runGate(empty), 'gate-run');
  const nativeStart = startCost(() => runNative(emptyNative), 'native');

  console.log(`execution time, median of ${runs} runs in ms (node ${process.version}, V8 ${process.versions.v8}); load average at start: ${loadStart}`);
  console.log(`native: gcc -O2 of the same C, wall time of the process minus ${nativeStart.ms.toFixed(1)} ms (the empty program's, median of ${nativeStart.n})`);
  console.log(`gate-run: wall time of the loader process minus ${gateStart.ms.toFixed(1)} ms, its start cost (empty program, median of ${gateStart.n})`);
  console.log(`liftoff (--liftoff-only) / turbofan (--no-liftoff): time of _start alone, inside node, code compiled beforehand`);
  console.log(`ratios: each engine's time / native (> 1: slower than native), and gate-run / liftoff`);
  console.log('');
  const head = ['program', 'native', 'gate-run', 'liftoff', 'turbofan', 'gate/nat', 'lift/nat', 'turbo/nat', 'gate/lift'];
  const widths = [16, 9, 9, 9, 9, 9, 9, 10, 10];
  const row = (cells: string[]): string => cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join(' ');
  console.log(row(head));

  let failed = false;
  const ratios: { g: number; l: number; t: number; gl: number }[] = [];
  for (const name of names) {
    const wasm = join(programsDir, `${name}.wasm`);
    const all: { who: string; run: Run }[] = [];
    const times: Record<'native' | 'gate' | Engine, number[]> = { native: [], gate: [], liftoff: [], turbofan: [] };
    for (let k = 0; k < runs; k++) {
      const n = runNative(exes.get(name)!);
      all.push({ who: 'native', run: n });
      times.native.push(n.ms);
      const g = runGate(imgs.get(name)!);
      all.push({ who: 'gate-run', run: g });
      times.gate.push(g.ms);
      for (const e of Object.keys(ENGINES) as Engine[]) {
        const r = runNode(e, wasm);
        all.push({ who: e, run: r });
        times[e].push(r.ms);
      }
    }
    const ref = all[0];
    const bad = all.filter(({ run }) => run.status !== 0 || run.stdout !== ref.run.stdout || Number.isNaN(run.ms));
    if (bad.length || ref.run.stdout === '') {
      failed = true;
      console.log(`\n!!! ${name}: OUTPUTS DISAGREE OR A RUN FAILED !!!`);
      for (const { who, run } of [ref, ...bad.filter((b) => b !== ref)]) {
        console.log(`  ${who}: status ${run.status}, output ${JSON.stringify(run.stdout)}${run.stderr.trim() ? `, stderr ${JSON.stringify(run.stderr.trim())}` : ''}`);
      }
      console.log('');
      continue;
    }
    const nat = median(times.native) - nativeStart.ms;
    const gate = median(times.gate) - gateStart.ms;
    const l = median(times.liftoff);
    const t = median(times.turbofan);
    const r = { g: gate / nat, l: l / nat, t: t / nat, gl: gate / l };
    ratios.push(r);
    console.log(row([name, nat.toFixed(1), gate.toFixed(1), l.toFixed(1), t.toFixed(1), r.g.toFixed(2), r.l.toFixed(2), r.t.toFixed(2), r.gl.toFixed(2)]));
  }
  if (ratios.length > 1) {
    const gm = (f: (r: (typeof ratios)[0]) => number): string => geomean(ratios.map(f)).toFixed(2);
    console.log(row(['geomean', '', '', '', '', gm((r) => r.g), gm((r) => r.l), gm((r) => r.t), gm((r) => r.gl)]));
  }
  console.log(`\nload average at the end: ${load()}`);
  if (failed) {
    console.log('\nbench: FAILED: a program failed, or its output differed between runs or engines (see above)');
    return 1;
  }
  return 0;
}

try {
  process.exitCode = main();
} catch (e) {
  console.error(`bench: ${e instanceof Error ? e.message : e}`);
  process.exitCode = 1;
}

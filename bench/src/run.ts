/**
 * Execution speed: the programs of bench/programs (C built to .wasm by build.sh) run under gate-run,
 * under V8's baseline compiler (Liftoff) and under V8's optimising compiler (TurboFan), side by
 * side in one run. Each program prints a checksum; every run's output must agree with every other.
 *   npm run bench:run [-- --runs 5] [-- --programs fib,sieve]
 *
 * Times are medians of `--runs` fresh processes, engines interleaved run by run so that load from
 * elsewhere on the machine falls on all three alike. Compile time is never counted:
 * - gate-run: wall time of the loader process (the C binary itself, not the node wrapper) on an
 *   image compiled beforehand. That includes process start and mapping the image, so the empty
 *   program's time is measured the same way and the table shows the wall time and the wall time
 *   minus that start cost ("net"); the ratios use net.
 * - liftoff / turbofan: node with --liftoff-only or --no-liftoff (both --no-wasm-lazy-compilation,
 *   so all code is compiled before the clock starts); the child times only the call of _start
 *   with performance.now() and reports it on stderr.
 */
import { execFileSync, spawnSync } from 'child_process';
import { mkdirSync, readdirSync } from 'fs';
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

function runGate(img: string): Run {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(loaderPath('x86-64'), [img, '--'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  return { ms, stdout: r.stdout, status: r.status, stderr: r.stderr };
}

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

const fmt = (x: number, w: number, digits = 1): string => x.toFixed(digits).padStart(w);

function main(): number {
  const names = programNames();
  mkdirSync(outDir, { recursive: true });
  const empty = compile('empty');
  const imgs = new Map(names.map((n) => [n, compile(n)]));

  // the fixed cost of a gate-run process: start, map the image, run an empty _start, exit
  const startRuns = Array.from({ length: Math.max(runs, 9) }, () => runGate(empty));
  for (const r of startRuns) if (r.status !== 0 || r.stdout !== '') throw new Error(`empty program: status ${r.status}, output ${JSON.stringify(r.stdout)} ${r.stderr}`);
  const startup = median(startRuns.map((r) => r.ms));

  console.log(`execution time, median of ${runs} runs in ms (node ${process.version}, V8 ${process.versions.v8})`);
  console.log(`gate-run: wall time of the loader process; net = wall - ${startup.toFixed(1)} ms, the loader's start cost (empty program, median of ${startRuns.length})`);
  console.log(`liftoff (--liftoff-only) / turbofan (--no-liftoff): time of _start alone, inside node, code compiled beforehand`);
  console.log(`ratios are gate-run net / V8 (> 1: gate-run is slower)`);
  console.log('');
  console.log('program    gate-run wall   gate-run net   liftoff   turbofan   net/liftoff   net/turbofan');

  let failed = false;
  const ratios: { l: number; t: number }[] = [];
  for (const name of names) {
    const wasm = join(programsDir, `${name}.wasm`);
    const all: { who: string; run: Run }[] = [];
    const gate: number[] = [];
    const v8: Record<Engine, number[]> = { liftoff: [], turbofan: [] };
    for (let k = 0; k < runs; k++) {
      const g = runGate(imgs.get(name)!);
      all.push({ who: 'gate-run', run: g });
      gate.push(g.ms);
      for (const e of Object.keys(ENGINES) as Engine[]) {
        const r = runNode(e, wasm);
        all.push({ who: e, run: r });
        v8[e].push(r.ms);
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
    const wall = median(gate);
    const net = wall - startup;
    const l = median(v8.liftoff);
    const t = median(v8.turbofan);
    ratios.push({ l: net / l, t: net / t });
    console.log(`${name.padEnd(10)} ${fmt(wall, 13)} ${fmt(net, 14)} ${fmt(l, 9)} ${fmt(t, 10)} ${fmt(net / l, 13, 2)} ${fmt(net / t, 14, 2)}`);
  }
  if (ratios.length > 1) {
    const geo = (xs: number[]): number => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
    console.log(`${'geomean'.padEnd(10)} ${''.padStart(13)} ${''.padStart(14)} ${''.padStart(9)} ${''.padStart(10)} ${fmt(geo(ratios.map((r) => r.l)), 13, 2)} ${fmt(geo(ratios.map((r) => r.t)), 14, 2)}`);
  }
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

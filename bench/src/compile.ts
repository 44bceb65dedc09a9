/**
 * Compile throughput: wagc against V8's baseline compiler (Liftoff) on the same real modules
 * (bench/src/real-modules.ts, unmodified), in one run; see bench/README.md. Prints:
 *   - one thread, warm: wagc's linkProgram against `node --liftoff-only --no-wasm-lazy-compilation
 *     --single-threaded` (a synchronous `new WebAssembly.Module`), per module and arch, as
 *     Liftoff's time / wagc's (> 1: wagc faster), by elapsed and by CPU time, with the geomean;
 *   - two threads: linkProgramParallel (warm pool) against linkProgram on the large modules, the
 *     images compared byte for byte;
 *   - the wagc command's cold compile (one fresh process, esbuild.wasm to an image) against a warm
 *     compile plus image write in this process;
 *   - the peak resident memory of `wagc ruby.wasm` against Liftoff's compile of it;
 *   - the load average at the start and the end (the figures mean something on an idle machine).
 * Every figure is the median of --runs runs.
 *   npm run bench:compile [-- --runs 7] [-- --arch x86-64|arm64|both] [-- --jobs 2] [-- --module path.wasm]
 */
import { execFileSync, spawnSync } from 'child_process';
import { cpus, loadavg, tmpdir } from 'os';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'fs';
import { join, resolve } from 'path';
import { imageParts, linkProgram, linkProgramParallel, writeImage, writeImageFile, type Arch, type ProgramOptions } from '@wagc/linker';
import { decodeModule } from '@wagc/frontend';
import { wasiModule } from '@wagc/abi';
import { realModules } from './real-modules';

const root = resolve(__dirname, '../..');
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : def;
};
const runs = Number(opt('runs', '7'));
const archArg = opt('arch', 'both');
const arches: Arch[] = archArg === 'both' ? ['x86-64', 'arm64'] : [archArg as Arch];
const jobs = Number(opt('jobs', String(Math.max(2, cpus().length))));
const cli = join(root, 'packages/cli/bin/wagc.js');
const rusage = join(__dirname, 'rusage.js');
const tmp = mkdtempSync(join(tmpdir(), 'wagc-bench-compile-'));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const geo = (xs: number[]): number => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
const fx = (x: number, w: number, d = 2): string => x.toFixed(d).padStart(w);
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

/** A file's bytes in a SharedArrayBuffer, as wagc reads its input (the threads share them). */
function readShared(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const bytes = new Uint8Array(new SharedArrayBuffer(fstatSync(fd).size));
    for (let off = 0; off < bytes.length;) off += readSync(fd, bytes, off, bytes.length - off, off);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function codeBytes(bytes: Uint8Array): number {
  let n = 0;
  for (const b of decodeModule(bytes).bodies) n += b.end - b.start;
  return n;
}

interface Times { wall: number[]; cpu: number[] }

/** Elapsed and CPU milliseconds of `runs` calls of `f` (CPU: the whole process's, all threads). */
async function timed(f: () => unknown, n = runs): Promise<Times> {
  const t: Times = { wall: [], cpu: [] };
  for (let r = 0; r < n; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await f();
    t.wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    t.cpu.push((c.user + c.system) / 1000);
  }
  return t;
}

/** Liftoff (--single-threaded) in a child process: `runs` compiles, after one not counted. */
function timeLiftoff(path: string): Times {
  // V8 caches native modules by their bytes: each run appends a different custom section ("x"
  // with a 2-byte run number) so that every run compiles from scratch
  const script = `const f=require('fs').readFileSync(${JSON.stringify(path)});const t={wall:[],cpu:[]};for(let r=0;r<=${runs};r++){const b=Buffer.concat([f,Buffer.from([0,4,1,120,r&255,r>>8&255])]);const c0=process.cpuUsage();const t0=process.hrtime.bigint();new WebAssembly.Module(b);const w=Number(process.hrtime.bigint()-t0)/1e6;const c=process.cpuUsage(c0);if(r>0){t.wall.push(w);t.cpu.push((c.user+c.system)/1000);}}console.log(JSON.stringify(t));`;
  const out = execFileSync(process.execPath, ['--liftoff-only', '--no-wasm-lazy-compilation', '--single-threaded', '-e', script], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out);
}

/** A child node process run to its end: elapsed ms, CPU ms and peak resident KiB (rusage.ts). */
function child(nodeArgs: string[]): { wall: number; cpu: number; rssKb: number; status: number | null; stderr: string } {
  const file = join(tmp, 'rusage.json');
  rmSync(file, { force: true });
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', rusage, ...nodeArgs], { env: { ...process.env, WAGC_BENCH_RUSAGE: file }, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const u = JSON.parse(readFileSync(file, 'utf8')) as { userMs: number; systemMs: number; maxRssKb: number };
  return { wall, cpu: u.userMs + u.systemMs, rssKb: u.maxRssKb, status: r.status, stderr: r.stderr };
}

async function main(): Promise<void> {
  const modules = args.includes('--module') ? [{ name: opt('module', '').split('/').pop()!, path: opt('module', '') }] : realModules(root);
  console.log(`compile throughput; ${cpus().length} CPUs, load average ${load()} (1, 5, 15 min); median of ${runs} runs`);
  const loaded = modules.map((m) => {
    const bytes = readShared(m.path);
    return { ...m, bytes, mb: codeBytes(bytes) / 1e6 };
  });
  const program = (bytes: Uint8Array, arch: Arch): ProgramOptions => ({ modules: [{ name: 'main', bytes }], arch, unresolved: 'trap' });

  // the JIT warm: every module compiled twice on every arch before anything is timed
  for (let k = 0; k < 2; k++) for (const m of loaded) for (const arch of arches) linkProgram(program(m.bytes, arch));

  console.log('\n1. one thread, warm: wagc linkProgram (decode, validate, compile, link) vs liftoff --single-threaded');
  console.log('   ratio = liftoff time / wagc time (> 1: wagc faster); wall: elapsed; cpu: CPU time of the compiling process');
  console.log('module       code MB | arch    | wagc wall ms  cpu ms | liftoff wall ms  cpu ms | ratio wall   cpu');
  const liftoff = loaded.map((m) => timeLiftoff(m.path));
  const ratios = new Map<Arch, { wall: number[]; cpu: number[] }>(arches.map((a) => [a, { wall: [], cpu: [] }]));
  for (const [i, m] of loaded.entries()) {
    for (const arch of arches) {
      const w = await timed(() => linkProgram(program(m.bytes, arch)));
      const l = liftoff[i];
      const rw = median(l.wall) / median(w.wall), rc = median(l.cpu) / median(w.cpu);
      ratios.get(arch)!.wall.push(rw);
      ratios.get(arch)!.cpu.push(rc);
      console.log(`${m.name.padEnd(12)} ${fx(m.mb, 7)} | ${arch.padEnd(7)} | ${fx(median(w.wall), 12, 0)} ${fx(median(w.cpu), 7, 0)} | ${fx(median(l.wall), 15, 0)} ${fx(median(l.cpu), 7, 0)} | ${fx(rw, 10)} ${fx(rc, 5)}`);
    }
  }
  if (loaded.length > 1) {
    for (const arch of arches) {
      const r = ratios.get(arch)!;
      console.log(`${'geomean'.padEnd(12)} ${''.padStart(7)} | ${arch.padEnd(7)} | ${''.padStart(20)} | ${''.padStart(23)} | ${fx(geo(r.wall), 10)} ${fx(geo(r.cpu), 5)}`);
    }
  }

  // the large modules: those of a few MB of bodies
  const large = loaded.filter((m) => m.mb >= 4);
  if (large.length && jobs > 1) {
    console.log(`\n2. ${jobs} threads (linkProgramParallel: the calling thread and ${jobs - 1} pool worker${jobs > 2 ? 's' : ''}, warm) vs one thread (linkProgram), ${arches[0]} code`);
    console.log('   speed-up = one thread time / threads time (wall); cpu = CPU time of the threads compile / one thread\'s');
    console.log('module       code MB | 1t wall ms  Nt wall ms  speed-up | cpu ratio | image');
    const speedups: number[] = [];
    for (const m of large) {
      const p = program(m.bytes, arches[0]);
      const same = Buffer.from(writeImage(await linkProgramParallel(p, jobs))).equals(Buffer.from(writeImage(linkProgram(p))));
      await linkProgramParallel(p, jobs);
      const one = await timed(() => linkProgram(p));
      const par = await timed(() => linkProgramParallel(p, jobs));
      const s = median(one.wall) / median(par.wall);
      speedups.push(s);
      console.log(`${m.name.padEnd(12)} ${fx(m.mb, 7)} | ${fx(median(one.wall), 10, 0)} ${fx(median(par.wall), 11, 0)} ${fx(s, 9)} | ${fx(median(par.cpu) / median(one.cpu), 9)} | ${same ? 'identical' : 'DIFFERS'}`);
    }
    if (speedups.length > 1) console.log(`${'geomean'.padEnd(12)} ${''.padStart(7)} | ${''.padStart(22)} ${fx(geo(speedups), 9)} |`);
  }

  const esbuild = loaded.find((m) => m.name === 'esbuild');
  if (esbuild) {
    console.log(`\n3. the wagc command, cold (a fresh process: esbuild.wasm to an image, ${arches[0]}) vs a warm compile plus image write here`);
    const out = join(tmp, 'esbuild.img');
    const cliArgs = [cli, esbuild.path, '-o', out, '--arch', arches[0], '--unresolved', 'trap'];
    const cold = { wall: [] as number[], cpu: [] as number[] };
    for (let r = 0; r < runs; r++) {
      const c = child(cliArgs);
      if (c.status !== 0) throw new Error(`wagc failed: ${c.stderr}`);
      cold.wall.push(c.wall);
      cold.cpu.push(c.cpu);
    }
    const withLibrary: ProgramOptions = { modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes: esbuild.bytes }], arch: arches[0], unresolved: 'trap' };
    for (let k = 0; k < 2; k++) writeImageFile(out, imageParts(linkProgram(withLibrary)));
    const warm = await timed(() => writeImageFile(out, imageParts(linkProgram(withLibrary))));
    console.log('              wall ms   cpu ms');
    console.log(`wagc, cold  ${fx(median(cold.wall), 9, 0)} ${fx(median(cold.cpu), 8, 0)}   (the whole process: node's start, loading wagc, the compile, the file written)`);
    console.log(`warm + write${fx(median(warm.wall), 9, 0)} ${fx(median(warm.cpu), 8, 0)}`);
    console.log(`ratio       ${fx(median(cold.wall) / median(warm.wall), 9)} ${fx(median(cold.cpu) / median(warm.cpu), 8)}   (cold / warm)`);
  }

  const ruby = loaded.find((m) => m.name === 'ruby');
  if (ruby) {
    console.log('\n4. peak resident memory: `wagc ruby.wasm` (default threads) vs liftoff --single-threaded compiling it, each a fresh process');
    const out = join(tmp, 'ruby.img');
    const w: number[] = [], l: number[] = [];
    for (let r = 0; r < Math.min(runs, 3); r++) {
      const c = child([cli, ruby.path, '-o', out, '--arch', arches[0], '--unresolved', 'trap']);
      if (c.status !== 0) throw new Error(`wagc failed: ${c.stderr}`);
      w.push(c.rssKb);
      l.push(child(['--liftoff-only', '--no-wasm-lazy-compilation', '--single-threaded', '-e', `new WebAssembly.Module(require('fs').readFileSync(${JSON.stringify(ruby.path)}))`]).rssKb);
    }
    console.log(`wagc ${fx(median(w) / 1024, 6, 0)} MiB, liftoff ${fx(median(l) / 1024, 6, 0)} MiB: ratio ${fx(median(w) / median(l), 4)}`);
  }
  console.log(`\nload average at the end: ${load()}`);
  rmSync(tmp, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : e}`);
  rmSync(tmp, { recursive: true, force: true });
  process.exit(1);
});

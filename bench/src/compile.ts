/**
 * Compile throughput: wagc against V8's baseline compiler (Liftoff) on the same real modules
 * (bench/src/real-modules.ts, unmodified), in one run. MB/s of code section, median of several
 * runs. Both run single-threaded (wagc: linkProgram; Liftoff: --single-threaded) and with worker
 * threads (wagc: linkProgramParallel with --jobs threads, default the CPU count; Liftoff: V8's
 * own, its default).
 *   npm run bench:compile [-- --runs 5] [-- --module path.wasm] [-- --arch x86-64|arm64] [-- --jobs N]
 */
import { execFileSync } from 'child_process';
import { cpus, loadavg } from 'os';
import { readFileSync } from 'fs';
import { resolve } from 'path';
import { linkProgram, linkProgramParallel } from '@wagc/linker';
import { decodeModule } from '@wagc/frontend';
import { realModules } from './real-modules';

const root = resolve(__dirname, '../..');
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : def;
};
const runs = Number(opt('runs', '5'));
const arch = opt('arch', 'x86-64') as 'x86-64' | 'arm64';
const jobs = Number(opt('jobs', String(cpus().length)));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function codeSectionSize(bytes: Uint8Array): number {
  const m = decodeModule(bytes);
  let n = 0;
  for (const b of m.bodies) n += b.end - b.start;
  return n;
}

/** Decode, validate, generate code, link: everything but writing the image file. The modules'
 * non-WASI hosts (Go's gojs, Emscripten's "a", ruby's rb-js-abi-host) are absent: their imports
 * become trapping stubs, as in tests/real. */
interface Times { wall: number[]; cpu: number[] }

function timeWagc(bytes: Uint8Array): Times {
  const t: Times = { wall: [], cpu: [] };
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    linkProgram({ modules: [{ name: 'main', bytes }], arch, unresolved: 'trap' });
    t.wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    t.cpu.push((c.user + c.system) / 1000);
  }
  return t;
}

/** The same with the functions compiled in `jobs` worker threads (linker/src/parallel.ts): wall time only. */
async function timeWagcParallel(bytes: Uint8Array): Promise<number[]> {
  const wall: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await linkProgramParallel({ modules: [{ name: 'main', bytes }], arch, unresolved: 'trap' }, jobs);
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return wall;
}

/** new WebAssembly.Module (synchronous, eager: --no-wasm-lazy-compilation) under --liftoff-only. */
function timeLiftoff(path: string, singleThreaded: boolean): Times {
  // V8 caches native modules by their bytes: each run appends a different custom section
  // ("x" with a 4-byte run number) so every run compiles from scratch. CPU time is the whole
  // process's (all of V8's threads).
  const script = `const f=require('fs').readFileSync(${JSON.stringify(path)});const t={wall:[],cpu:[]};for(let r=0;r<${runs};r++){const b=Buffer.concat([f,Buffer.from([0,6,1,120,r&255,r>>8&255,0,0])]);const c0=process.cpuUsage();const t0=process.hrtime.bigint();new WebAssembly.Module(b);t.wall.push(Number(process.hrtime.bigint()-t0)/1e6);const c=process.cpuUsage(c0);t.cpu.push((c.user+c.system)/1000);}console.log(JSON.stringify(t));`;
  const flags = ['--liftoff-only', '--no-wasm-lazy-compilation', ...(singleThreaded ? ['--single-threaded'] : [])];
  const out = execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out);
}

async function main(): Promise<void> {
  const modules = args.includes('--module') ? [{ name: opt('module', ''), path: opt('module', '') }] : realModules(root);
  console.log(`compile throughput (${arch} code), median of ${runs} runs, MB/s of code section; ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)}`);
  console.log(`1t: one thread (wagc linkProgram, liftoff --single-threaded); Nt: wagc in ${jobs} worker threads, liftoff with V8's worker threads`);
  console.log('wall: elapsed time; cpu: CPU time of the compiling process (a fairer view of one thread on a busy machine)');
  console.log('module        code MB | wall: wagc 1t  wagc Nt  liftoff 1t  liftoff Nt  ratio 1t  ratio Nt | cpu: wagc  liftoff  ratio');
  const r1: number[] = [], rN: number[] = [], rc: number[] = [];
  const f = (x: number, w: number) => x.toFixed(x < 10 ? 2 : 1).padStart(w);
  for (const m of modules) {
    const bytes = new Uint8Array(readFileSync(m.path));
    const mb = codeSectionSize(bytes) / 1e6;
    const rate = (ms: number[]) => mb / (median(ms) / 1000);
    const w = timeWagc(bytes), wn = await timeWagcParallel(bytes), l1 = timeLiftoff(m.path, true), ln = timeLiftoff(m.path, false);
    const [w1, wN, l1w, lnw, wc, l1c] = [rate(w.wall), rate(wn), rate(l1.wall), rate(ln.wall), rate(w.cpu), rate(l1.cpu)];
    r1.push(w1 / l1w);
    rN.push(wN / lnw);
    rc.push(wc / l1c);
    const name = m.name.split('/').pop()!;
    console.log(`${name.padEnd(12)} ${mb.toFixed(2).padStart(8)} | ${f(w1, 13)} ${f(wN, 8)} ${f(l1w, 11)} ${f(lnw, 11)} ${f(w1 / l1w, 9)} ${f(wN / lnw, 9)} | ${f(wc, 9)} ${f(l1c, 8)} ${f(wc / l1c, 6)}`);
  }
  const geo = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
  if (modules.length > 1) {
    console.log(`${'geomean'.padEnd(12)} ${''.padStart(8)} | ${''.padStart(13)} ${''.padStart(8)} ${''.padStart(11)} ${''.padStart(11)} ${f(geo(r1), 9)} ${f(geo(rN), 9)} | ${''.padStart(9)} ${''.padStart(8)} ${f(geo(rc), 6)}`);
  }
}

main().catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});

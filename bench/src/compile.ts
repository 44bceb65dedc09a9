/**
 * Compile throughput: wagc against V8's baseline compiler (Liftoff) on the same modules, in one
 * run. MB/s of code section, median of several runs; the ratio is wagc / Liftoff.
 *   npm run bench:compile [-- --runs 7] [-- --module path.wasm]
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import { linkProgram } from '@wagc/linker';
import { decodeModule } from '@wagc/frontend';

const root = resolve(__dirname, '../..');
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : def;
};
const runs = Number(opt('runs', '7'));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** esbuild.wasm (Go) lowered to 1.0 + memory.copy/fill (binaryen cannot lower those here) with binaryen's passes. */
async function esbuildModule(): Promise<string> {
  const cache = join(root, 'out/bench/esbuild.lowered.wasm');
  if (existsSync(cache)) return cache;
  mkdirSync(join(root, 'out/bench'), { recursive: true });
  const src = join(root, 'node_modules/esbuild-wasm/esbuild.wasm');
  // binaryen is ESM with top-level await: a real import(), which tsc's CommonJS output would turn into require()
  const esmImport = new Function('s', 'return import(s)') as (s: string) => Promise<{ default: any }>;
  const binaryen = (await esmImport('binaryen')).default;
  const mod = binaryen.readBinary(readFileSync(src));
  mod.setFeatures(binaryen.Features.All);
  binaryen.setOptimizeLevel(0);
  mod.runPasses(['signext-lowering', 'llvm-nontrapping-fptoint-lowering']);
  mod.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt);
  if (!mod.validate()) throw new Error('lowered esbuild.wasm does not validate');
  writeFileSync(cache, mod.emitBinary());
  mod.dispose();
  return cache;
}

function codeSectionSize(bytes: Uint8Array): number {
  const m = decodeModule(bytes);
  let n = 0;
  for (const b of m.bodies) n += b.end - b.start;
  return n;
}

function timeWagc(bytes: Uint8Array): number[] {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    linkProgram({ modules: [{ name: 'main', bytes }], arch: 'x86-64', unresolved: 'trap' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

function timeLiftoff(path: string): number[] {
  // V8 caches native modules by their bytes: each run appends a different custom section
  // ("x" with a 4-byte run number) so every run compiles from scratch.
  const script = `const f=require('fs').readFileSync(${JSON.stringify(path)});const t=[];for(let r=0;r<${runs};r++){const b=Buffer.concat([f,Buffer.from([0,6,1,120,r&255,r>>8&255,0,0])]);const t0=process.hrtime.bigint();new WebAssembly.Module(b);t.push(Number(process.hrtime.bigint()-t0)/1e6);}console.log(JSON.stringify(t));`;
  const out = execFileSync(process.execPath, ['--liftoff-only', '--no-wasm-lazy-compilation', '--single-threaded', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out);
}

async function main(): Promise<void> {
  const modules = args.includes('--module') ? [opt('module', '')] : [await esbuildModule()];
  console.log(`compile throughput, median of ${runs} runs (MB/s of code section; both single-threaded: liftoff runs with --single-threaded)`);
  console.log('module                         code MB   wagc MB/s   liftoff MB/s   wagc/liftoff');
  for (const path of modules) {
    const bytes = new Uint8Array(readFileSync(path));
    const mb = codeSectionSize(bytes) / 1e6;
    const w = mb / (median(timeWagc(bytes)) / 1000);
    const l = mb / (median(timeLiftoff(path)) / 1000);
    const name = path.split('/').pop()!;
    console.log(`${name.padEnd(30)} ${mb.toFixed(2).padStart(7)} ${w.toFixed(1).padStart(11)} ${l.toFixed(1).padStart(14)} ${(w / l).toFixed(2).padStart(14)}`);
  }
}

main().catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});

/**
 * Instructions executed, side by side: the programs of bench/programs under gate-run (x86-64), as
 * native code (gcc -O2) and under V8's baseline compiler Liftoff, each counted by callgrind
 * (`Collected : N`), which gives the same count on every run whatever the machine's load. Timings
 * need an idle machine; these counts do not (bench/README.md, "Instruction counts").
 *   npm run bench:count [-- --programs fib,sieve] [-- --engines gate,native,liftoff]
 *                       [-- --save counts.json] [-- --baseline counts.json]
 *
 * - gate: the loader's test build (`gate-run-x86_64-test IMG --no-sandbox`: valgrind cannot run
 *   under the seccomp filter) on an image compiled beforehand, minus the same for the empty
 *   program (the loader's start, mapping the image).
 * - native: `gcc -O2 -DBENCH_NATIVE` of the same C, minus the empty program's count.
 * - liftoff: `node --liftoff-only --no-wasm-lazy-compilation --single-threaded` running `_start`
 *   through node:wasi, minus the same for the empty program (node's start, compiling the module):
 *   a proxy for the instructions Liftoff's code executes, with V8's own work at the edges.
 *
 * Instruction counts are not time: a load from memory counts as one instruction like a register
 * move. Read the hot loops' disassembly too (`gate-inspect IMG --disasm FUNC`).
 * `--save` writes the counts as JSON; `--baseline` adds a column with a saved run's gate counts
 * and the ratio (new / old).
 */
import { execFileSync, spawnSync } from 'child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';

const root = resolve(__dirname, '../..');
const programsDir = join(root, 'bench/programs');
const outDir = join(root, 'out/bench/count');
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : def;
};
const only = opt('programs', '').split(',').filter((s) => s !== '');
const engines = opt('engines', 'gate,native,liftoff').split(',').filter((s) => s !== '');
const savePath = opt('save', '');
const baselinePath = opt('baseline', '');
for (const e of engines) if (!['gate', 'native', 'liftoff'].includes(e)) throw new Error(`unknown engine ${e} (gate, native, liftoff)`);

const testLoader = join(root, 'packages/loader-c/build/gate-run-x86_64-test');
const CHILD = `
const { WASI } = require('node:wasi');
const bytes = require('fs').readFileSync(process.argv[1]);
const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), wasi.getImportObject());
process.exitCode = wasi.start(instance);
`;

/** callgrind's count of the instructions `argv` executes, with its output (which must be the same every run). */
function count(argv: string[], extra: string[] = []): { n: number; stdout: string } {
  const r = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', ...extra, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`callgrind gave no count for ${argv.join(' ')}:\n${r.stderr.slice(-2000)}`);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited with status ${r.status} under callgrind:\n${r.stderr.slice(-2000)}`);
  return { n: Number(m[1]), stdout: r.stdout };
}

function programNames(): string[] {
  const all = readdirSync(programsDir).filter((f) => f.endsWith('.wasm')).map((f) => f.slice(0, -5)).filter((n) => n !== 'empty').sort();
  for (const n of only) if (!all.includes(n)) throw new Error(`no program ${n} (have: ${all.join(', ')})`);
  return only.length ? all.filter((n) => only.includes(n)) : all;
}

function compileGate(name: string): string {
  const img = join(outDir, `${name}.img`);
  execFileSync(process.execPath, [join(root, 'packages/cli/bin/wagc.js'), join(programsDir, `${name}.wasm`), '-o', img], { stdio: 'inherit' });
  return img;
}

function compileNative(name: string): string {
  const exe = join(outDir, `${name}.native`);
  execFileSync('gcc', ['-O2', '-DBENCH_NATIVE', '-w', '-o', exe, join(programsDir, `${name}.c`), '-lm'], { stdio: ['ignore', 'inherit', 'inherit'] });
  return exe;
}

const run: Record<string, (name: string) => { n: number; stdout: string }> = {
  gate: (name) => count([testLoader, compileGate(name), '--no-sandbox']),
  native: (name) => count([compileNative(name)]),
  // V8 writes its code at run time: callgrind must look for changed code everywhere
  liftoff: (name) => count([process.execPath, '--liftoff-only', '--no-wasm-lazy-compilation', '--single-threaded', '--no-turbo-fast-api-calls', '--no-warnings', '-e', CHILD, join(programsDir, `${name}.wasm`)], ['--smc-check=all']),
};

type Counts = Record<string, Record<string, number>>;

const fmt = (n: number): string => (n / 1e6).toFixed(1);
const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : '-');
const geomean = (xs: number[]): number => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

function main(): number {
  if (!existsSync(testLoader)) throw new Error(`${testLoader} is missing: run make -C packages/loader-c`);
  mkdirSync(outDir, { recursive: true });
  const names = programNames();
  const counts: Counts = {};
  const empty: Record<string, number> = {};
  for (const e of engines) empty[e] = run[e]('empty').n;
  console.log(`millions of instructions (callgrind), each minus the empty program's (${engines.map((e) => `${e} ${fmt(empty[e])}`).join(', ')})`);
  let failed = false;
  for (const name of names) {
    counts[name] = {};
    let expected: string | null = null;
    for (const e of engines) {
      const r = run[e](name);
      if (expected !== null && r.stdout !== expected) {
        console.log(`${name}: ${e}'s output differs: ${JSON.stringify(r.stdout)} vs ${JSON.stringify(expected)}`);
        failed = true;
      }
      expected = r.stdout;
      counts[name][e] = r.n - empty[e];
    }
    process.stderr.write(`${name} done\n`);
  }
  const base: Counts = baselinePath ? JSON.parse(readFileSync(baselinePath, 'utf8')) : {};
  const head = ['program', ...engines];
  if (engines.includes('gate') && engines.includes('native')) head.push('gate/native');
  if (engines.includes('gate') && engines.includes('liftoff')) head.push('gate/liftoff');
  if (engines.includes('liftoff') && engines.includes('native')) head.push('liftoff/native');
  if (baselinePath) head.push('gate before', 'gate after/before');
  const rows: string[][] = [head];
  const cols: Record<string, number[]> = {};
  const push = (col: string, v: number): void => { (cols[col] ??= []).push(v); };
  for (const name of names) {
    const c = counts[name];
    const row = [name, ...engines.map((e) => fmt(c[e]))];
    if (head.includes('gate/native')) { row.push(ratio(c.gate, c.native)); push('gate/native', c.gate / c.native); }
    if (head.includes('gate/liftoff')) { row.push(ratio(c.gate, c.liftoff)); push('gate/liftoff', c.gate / c.liftoff); }
    if (head.includes('liftoff/native')) { row.push(ratio(c.liftoff, c.native)); push('liftoff/native', c.liftoff / c.native); }
    if (baselinePath) {
      const b = base[name]?.gate;
      row.push(b === undefined ? '-' : fmt(b), b === undefined ? '-' : ratio(c.gate, b));
      if (b !== undefined) push('gate after/before', c.gate / b);
    }
    rows.push(row);
  }
  const last = ['geomean', ...engines.map(() => '')];
  for (const h of head.slice(1 + engines.length)) last.push(cols[h] ? geomean(cols[h]).toFixed(2) : '');
  rows.push(last);
  const widths = head.map((_, k) => Math.max(...rows.map((r) => (r[k] ?? '').length)));
  for (const r of rows) console.log(r.map((s, k) => (k === 0 ? s.padEnd(widths[k]) : s.padStart(widths[k]))).join('  '));
  if (savePath) writeFileSync(savePath, JSON.stringify(counts, null, 1) + '\n');
  return failed ? 1 : 0;
}

process.exitCode = main();

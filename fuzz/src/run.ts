/**
 * A differential fuzzing campaign (fuzz/README.md):
 *
 *   npm run fuzz -- [--seconds N] [--seed S] [--jobs J] [--max-size M] [--minimise-seconds T]
 *                   [--keep-going] [--out DIR] [--mvp] [--module SEED:SIZE]
 *
 * Prints the campaign seed first (a fresh one unless --seed), then a summary. Module k of the
 * campaign is generate({ seed: S + k, size: sizeOf(S + k) }), so every module can be rebuilt
 * from the numbers printed. On a disagreement it stops, minimises, writes <DIR>/<name>.wasm and
 * .txt (DIR: fuzz/regressions) and exits 1. --keep-going writes each disagreeing module as found
 * (not minimised) and goes on. --mvp: WebAssembly 1.0 modules only. --module SEED:SIZE checks
 * (and minimises) one module.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative, resolve } from 'path';
import { randomInt } from 'crypto';
import { loaderPath } from '@wagc/loader-c';
import { generate } from './gen';
import { diffModule, V8Runner, WagcRunner, type Verdict } from './diff';
import { minimise } from './minimise';
import { Rng } from './rng';

const argv = process.argv.slice(2);
const opt = (n: string): string | undefined => {
  const k = argv.indexOf(`--${n}`);
  return k >= 0 && k + 1 < argv.length ? argv[k + 1] : undefined;
};
if (argv.includes('--help')) {
  console.log('usage: npm run fuzz -- [--seconds N] [--seed S] [--jobs J] [--max-size M] [--minimise-seconds T] [--keep-going] [--out DIR] [--mvp] [--module SEED:SIZE]');
  process.exit(0);
}
const seconds = Number(opt('seconds') ?? 60);
const campaignSeed = opt('seed') !== undefined ? Number(opt('seed')) : randomInt(2 ** 47);
const jobs = Math.max(1, Number(opt('jobs') ?? 1));
const maxSize = Math.max(1, Number(opt('max-size') ?? 24));
const minimiseMs = 1000 * Number(opt('minimise-seconds') ?? 180);
const keepGoing = argv.includes('--keep-going');
const mvp = argv.includes('--mvp');
const outDir = resolve(opt('out') ?? resolve(__dirname, '../regressions'));

// The campaign's own copy of the loader: its image reader must stay the one that matches the
// linker this process loaded, even when the tree is rebuilt during a long campaign.
const privateDir = mkdtempSync(join(tmpdir(), 'wagc-fuzz-loader-'));
const loader = join(privateDir, 'gate-run-x86_64');
copyFileSync(loaderPath('x86-64'), loader);
process.on('exit', () => rmSync(privateDir, { recursive: true, force: true }));

/** The size of module `seed`: small sizes are as common as large ones. */
export function sizeOf(seed: number, max: number): number {
  return 1 + new Rng(seed, 0x5153).int(max);
}

interface Failure { seed: number; size: number; verdict: Verdict }

const runners = (): { v8: V8Runner; wagc: WagcRunner; close(): void } => {
  const v8 = new V8Runner(), wagc = new WagcRunner(loader);
  return { v8, wagc, close: () => (v8.close(), wagc.close()) };
};

async function main(): Promise<void> {
  const one = opt('module');
  if (one) {
    const [seed, size] = one.split(':').map(Number);
    const r = runners();
    const verdict = await diffModule(generate({ seed, size, mvp }).bytes, r);
    r.close();
    console.log(JSON.stringify(verdict, null, 2));
    if (verdict.differences.length) await report({ seed, size, verdict });
    return;
  }
  const found = await campaign();
  if (found.length && !keepGoing) await report(found[0]);
  if (found.length) process.exitCode = 1;
}

async function campaign(): Promise<Failure[]> {
  console.log(`fuzz: seed ${campaignSeed} (replay with --seed ${campaignSeed}), ${seconds} s, ${jobs} job(s), sizes 1..${maxSize}`);
  const start = Date.now();
  let deadline = start + seconds * 1000;
  // ^C or kill: finish the modules in flight and print the summary
  const stop = (): void => void (deadline = 0);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let next = 0;
  let modules = 0, agreeing = 0, bytes = 0, compileErrors = 0;
  const skipped = new Map<string, number>();
  const outcomes = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
  const failures: Failure[] = [];
  let lastReport = start;

  const worker = async (): Promise<void> => {
    const r = runners();
    try {
      while (Date.now() < deadline && (keepGoing || !failures.length)) {
        const seed = campaignSeed + next++;
        const size = sizeOf(seed, maxSize);
        const g = generate({ seed, size, mvp });
        const verdict = await diffModule(g.bytes, r);
        modules++;
        bytes += g.bytes.length;
        if (verdict.skipped) bump(skipped, verdict.skipped.replace(/:.*/, ''));
        else if (verdict.differences.length) {
          if (verdict.wagc.compileError) compileErrors++;
          failures.push({ seed, size, verdict });
          console.log(`fuzz: DISAGREEMENT on module --module ${seed}:${size}`);
          for (const d of verdict.differences) console.log(`  ${d}`);
          if (keepGoing) save(`seed${seed}-size${size}`, g.bytes, [`module generate({ seed: ${seed}, size: ${size} }), not minimised`, ...verdict.differences]);
        } else {
          agreeing++;
          const run = verdict.v8.run;
          bump(outcomes, verdict.v8.instantiate ? 'instantiation trapped (start function or segment)' : run && 'trap' in run ? run.trap : 'returned');
        }
        if (Date.now() - lastReport > 60000) {
          lastReport = Date.now();
          console.log(`fuzz: ${Math.round((lastReport - start) / 1000)} s: ${modules} modules, ${agreeing} agreeing, ${failures.length} disagreeing`);
        }
      }
    } finally {
      r.close();
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  const elapsed = (Date.now() - start) / 1000;

  console.log(`fuzz: seed ${campaignSeed}: ${modules} modules in ${elapsed.toFixed(0)} s (${(modules / elapsed).toFixed(1)}/s, ${Math.round(bytes / Math.max(1, modules))} bytes average), ${agreeing} agreeing, ${failures.length} disagreeing`);
  console.log(`  outcomes: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
  if (skipped.size) console.log(`  skipped: ${[...skipped].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  console.log(`  compile errors: ${compileErrors}`);
  if (!failures.length) console.log('fuzz: no disagreement');
  return failures;
}

function save(name: string, bytes: Uint8Array, lines: string[]): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${name}.wasm`), bytes);
  writeFileSync(join(outDir, `${name}.txt`), lines.join('\n') + '\n');
  console.log(`fuzz: reproducer ${relative(process.cwd(), join(outDir, name))}.wasm (${bytes.length} bytes)`);
}

/** Minimises a disagreement and writes the reproducer. */
async function report(f: Failure): Promise<void> {
  console.log(`fuzz: minimising --module ${f.seed}:${f.size} (up to ${minimiseMs / 1000} s)`);
  const r = runners();
  const min = await minimise({ seed: f.seed, size: f.size, mvp }, f.verdict, r, minimiseMs, (s) => console.log(`  ${s}`));
  r.close();
  save(`seed${f.seed}-size${f.size}`, min.bytes, [
    `module generate({ seed: ${f.seed}, size: ${f.size} }) of campaign seed ${campaignSeed}, minimised in ${min.tries} tries`,
    `(the .wasm is the reproducer; seed, size and skip rebuild it only with the generator of the time)`,
    `skip: ${JSON.stringify(min.skip)}`,
    'disagreement (after minimising):',
    ...min.verdict.differences.map((d) => `  ${d}`),
    'original disagreement:',
    ...f.verdict.differences.map((d) => `  ${d}`),
  ]);
  for (const d of min.verdict.differences) console.log(`  ${d}`);
  process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});

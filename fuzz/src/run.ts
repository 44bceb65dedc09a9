/**
 * A differential fuzzing campaign: `npm run fuzz -- [--seconds N] [--seed S] [--jobs J]
 * [--max-size M] [--minimise-seconds T] [--module SEED:SIZE]`.
 *
 * Prints the campaign seed first (a fresh one unless --seed), then a summary. Module k of the
 * campaign is generate({ seed: S + k, size }) with size drawn from that seed, so any module can
 * be regenerated from the numbers printed. On a disagreement it stops, minimises, writes
 * fuzz/regressions/<name>.wasm and .txt and exits 1. --module SEED:SIZE checks one module.
 */
import { mkdirSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import { randomInt } from 'crypto';
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
  console.log('usage: npm run fuzz -- [--seconds N] [--seed S] [--jobs J] [--max-size M] [--minimise-seconds T] [--module SEED:SIZE]');
  process.exit(0);
}
const seconds = Number(opt('seconds') ?? 60);
const campaignSeed = opt('seed') !== undefined ? Number(opt('seed')) : randomInt(2 ** 47);
const jobs = Math.max(1, Number(opt('jobs') ?? 1));
const maxSize = Math.max(1, Number(opt('max-size') ?? 24));
const minimiseMs = 1000 * Number(opt('minimise-seconds') ?? 180);
const regressions = resolve(__dirname, '../regressions');

/** The size of module `seed`: small sizes are as common as large ones. */
export function sizeOf(seed: number, max: number): number {
  return 1 + new Rng(seed, 0x5153).int(max);
}

interface Failure { seed: number; size: number; verdict: Verdict }

async function main(): Promise<void> {
  const one = opt('module');
  let found: Failure | null = null;
  if (one) {
    const [seed, size] = one.split(':').map(Number);
    const v8 = new V8Runner(), wagc = new WagcRunner();
    const verdict = await diffModule(generate({ seed, size }).bytes, { v8, wagc });
    v8.close();
    wagc.close();
    console.log(JSON.stringify(verdict, null, 2));
    if (!verdict.differences.length) return;
    found = { seed, size, verdict };
  } else found = await campaign();
  if (found) await report(found);
}

async function campaign(): Promise<Failure | null> {
  console.log(`fuzz: seed ${campaignSeed} (replay with --seed ${campaignSeed}), ${seconds} s, ${jobs} job(s), sizes 1..${maxSize}`);
  const start = Date.now();
  const deadline = start + seconds * 1000;
  let next = 0;
  let modules = 0, agreeing = 0, bytes = 0;
  const skipped = new Map<string, number>();
  const traps = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
  let failure: Failure | null = null;
  let lastReport = start;

  const worker = async (): Promise<void> => {
    const v8 = new V8Runner(), wagc = new WagcRunner();
    try {
      while (Date.now() < deadline && !failure) {
        const seed = campaignSeed + next++;
        const size = sizeOf(seed, maxSize);
        const g = generate({ seed, size });
        const verdict = await diffModule(g.bytes, { v8, wagc });
        modules++;
        bytes += g.bytes.length;
        if (verdict.skipped) bump(skipped, verdict.skipped.replace(/:.*/, ''));
        else if (verdict.differences.length) {
          if (!failure) failure = { seed, size, verdict };
        } else {
          agreeing++;
          const r = verdict.v8.run;
          bump(traps, r && 'trap' in r ? r.trap : 'returned');
        }
        if (Date.now() - lastReport > 60000) {
          lastReport = Date.now();
          console.log(`fuzz: ${Math.round((lastReport - start) / 1000)} s: ${modules} modules, ${agreeing} agreeing`);
        }
      }
    } finally {
      v8.close();
      wagc.close();
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  const elapsed = (Date.now() - start) / 1000;

  console.log(`fuzz: ${modules} modules in ${elapsed.toFixed(0)} s (${(modules / elapsed).toFixed(1)}/s, ${Math.round(bytes / Math.max(1, modules))} bytes average), ${agreeing} agreeing`);
  console.log(`  outcomes of run: ${[...traps].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
  if (skipped.size) console.log(`  skipped: ${[...skipped].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const found = failure as Failure | null;
  console.log(`  compile errors: ${found && found.verdict.wagc.compileError ? 1 : 0}`);
  if (!found) console.log('fuzz: no disagreement');
  return found;
}

/** Minimises a disagreement and writes the reproducer. */
async function report(f: Failure): Promise<void> {
  console.log(`fuzz: DISAGREEMENT on module --module ${f.seed}:${f.size}`);
  for (const d of f.verdict.differences) console.log(`  ${d}`);
  console.log(`fuzz: minimising (up to ${minimiseMs / 1000} s)`);
  const v8 = new V8Runner(), wagc = new WagcRunner();
  const min = await minimise(f.seed, f.size, f.verdict, { v8, wagc }, minimiseMs, (s) => console.log(`  ${s}`));
  v8.close();
  wagc.close();
  mkdirSync(regressions, { recursive: true });
  const name = `seed${f.seed}-size${f.size}`;
  writeFileSync(join(regressions, `${name}.wasm`), min.bytes);
  writeFileSync(join(regressions, `${name}.txt`), [
    `campaign seed ${campaignSeed}; module generate({ seed: ${f.seed}, size: ${f.size} }), minimised in ${min.tries} tries`,
    `skip: ${JSON.stringify(min.skip)}`,
    'disagreement (after minimising):',
    ...min.verdict.differences.map((d) => `  ${d}`),
    'original disagreement:',
    ...f.verdict.differences.map((d) => `  ${d}`),
    '',
  ].join('\n'));
  console.log(`fuzz: reproducer ${join('fuzz/regressions', name)}.wasm (${min.bytes.length} bytes):`);
  for (const d of min.verdict.differences) console.log(`  ${d}`);
  process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});

/**
 * The snapshot fuzzing campaign (fuzz/README.md, "Snapshots"):
 *
 *   npm run fuzz:snapshots -- [--seconds N] [--seed S] [--jobs J] [--arm64 F] [--keep-going] [--out DIR] [--case SEED]
 *
 * Prints the campaign seed first, then a summary: how many mutated snapshots wagc refused (by
 * rule) and how the accepted ones ended. Case k has seed S + k. A finding (a signal, an internal
 * error, a loader refusal other than a too-deep stack, an exception of wagc that is not a clean
 * refusal) is written to <DIR>/snapshot-<seed>.wasm and .txt (DIR: fuzz/regressions) and makes
 * the exit status 1; without --keep-going the campaign stops at the first.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'fs';
import { tmpdir } from 'os';
import { basename, join, relative, resolve } from 'path';
import { randomInt } from 'crypto';
import { spawnSync } from 'child_process';
import { loaderPath } from '@wagc/loader-c';
import type { Arch } from '@wagc/linker';
import { defaultTarget, type Target } from './diff';
import { SnapshotFuzzer, type SnapshotCase } from './snapshots';

const argv = process.argv.slice(2);
const opt = (n: string): string | undefined => {
  const k = argv.indexOf(`--${n}`);
  return k >= 0 && k + 1 < argv.length ? argv[k + 1] : undefined;
};
if (argv.includes('--help')) {
  console.log('usage: npm run fuzz:snapshots -- [--seconds N] [--seed S] [--jobs J] [--arm64 F] [--keep-going] [--out DIR] [--case SEED]');
  process.exit(0);
}
const seconds = Number(opt('seconds') ?? 60);
const campaignSeed = opt('seed') !== undefined ? Number(opt('seed')) : randomInt(2 ** 47);
const jobs = Math.max(1, Number(opt('jobs') ?? 1));
const keepGoing = argv.includes('--keep-going');
const outDir = resolve(opt('out') ?? resolve(__dirname, '../regressions'));

// private copies of the loaders: a rebuild during a long campaign must not change them under it
const privateDir = mkdtempSync(join(tmpdir(), 'wagc-fuzz-snap-loader-'));
process.on('exit', () => rmSync(privateDir, { recursive: true, force: true }));
const targets = {} as Record<Arch, Target>;
let arm64Share = Number(opt('arm64') ?? 0.1);
for (const a of ['x86-64', 'arm64'] as Arch[]) {
  const t = defaultTarget(a, join(privateDir, basename(loaderPath(a))));
  const missing = !existsSync(loaderPath(a)) ? loaderPath(a) : t.prefix.find((p) => spawnSync(p, ['--version']).error) ?? null;
  if (missing) {
    if (a === 'x86-64') {
      console.error(`fuzz:snapshots: ${missing} is missing (npm run build)`);
      process.exit(2);
    }
    console.log(`fuzz:snapshots: no arm64 cases: ${missing} is missing`);
    arm64Share = 0;
    continue;
  }
  copyFileSync(loaderPath(a), t.loader);
  targets[a] = t;
}

function save(c: SnapshotCase): void {
  mkdirSync(outDir, { recursive: true });
  const name = `snapshot-${c.seed}`;
  if (c.snapshot) writeFileSync(join(outDir, `${name}.wasm`), c.snapshot);
  writeFileSync(join(outDir, `${name}.txt`), [
    `snapshot fuzzer case ${c.seed} (--case ${c.seed}) of campaign seed ${campaignSeed}: ${c.arch}, ${c.source}`,
    `mutations: ${c.mutations.join('; ')}`,
    `outcome: ${c.outcome}`,
    `finding: ${c.finding}`,
  ].join('\n') + '\n');
  console.log(`fuzz:snapshots: reproducer ${relative(process.cwd(), join(outDir, name))}.wasm`);
}

async function main(): Promise<void> {
  const one = opt('case');
  if (one !== undefined) {
    const f = new SnapshotFuzzer(targets, { arm64Share });
    const c = await f.run(Number(one));
    f.close();
    console.log(JSON.stringify({ ...c, snapshot: c.snapshot ? `${c.snapshot.length} bytes` : undefined }, null, 2));
    if (c.finding) {
      save(c);
      process.exitCode = 1;
    }
    return;
  }
  console.log(`fuzz:snapshots: seed ${campaignSeed} (replay with --seed ${campaignSeed}), ${seconds} s, ${jobs} job(s), arm64 share ${arm64Share}`);
  const start = Date.now();
  let deadline = start + seconds * 1000;
  const stop = (): void => void (deadline = 0);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let next = 0, cases = 0, accepted = 0, refused = 0, skipped = 0, arm = 0;
  const outcomes = new Map<string, number>();
  const bump = (k: string): void => void outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  const findings: SnapshotCase[] = [];
  let lastReport = start;
  const worker = async (): Promise<void> => {
    const f = new SnapshotFuzzer(targets, { arm64Share });
    try {
      while (Date.now() < deadline && (keepGoing || !findings.length)) {
        const c = await f.run(campaignSeed + next++);
        cases++;
        if (c.arch === 'arm64') arm++;
        if (c.outcome.startsWith('skipped')) skipped++;
        else if (c.outcome.startsWith('refused')) refused++;
        else accepted++;
        bump(c.outcome.startsWith('skipped') ? 'skipped' : c.outcome);
        if (c.finding) {
          findings.push(c);
          console.log(`fuzz:snapshots: FINDING in case ${c.seed} (${c.arch}, ${c.source}): ${c.finding.split('\n')[0]}`);
          console.log(`  mutations: ${c.mutations.join('; ')}`);
          save(c);
        }
        if (Date.now() - lastReport > 60000) {
          lastReport = Date.now();
          console.log(`fuzz:snapshots: ${Math.round((lastReport - start) / 1000)} s: ${cases} cases, ${refused} refused, ${accepted} accepted, ${findings.length} findings`);
        }
      }
    } finally {
      f.close();
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  const elapsed = (Date.now() - start) / 1000;
  console.log(`fuzz:snapshots: seed ${campaignSeed}: ${cases} cases in ${elapsed.toFixed(0)} s (${arm} on arm64): ${refused} refused by wagc, ${accepted} accepted and run, ${skipped} skipped, ${findings.length} findings`);
  console.log(`  outcomes: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (findings.length) process.exitCode = 1;
  else console.log('fuzz:snapshots: no finding');
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});

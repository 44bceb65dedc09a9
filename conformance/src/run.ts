/**
 * The spec testsuite against compiled images: `npm run conformance -- --arch x86-64
 * [--files a,b] [--verbose] [--jobs N] [--update-baseline] [--suite DIR] [--cpu-features LIST]`.
 * `--cpu-features` (x86-64) compiles with optional CPU features, as wagc's option of that name.
 * Prints a per-file table and totals by assertion kind; exits 1 when a file passes fewer
 * assertions than conformance/baseline.json records for the arch.
 */
import { existsSync, readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import chalk from 'chalk';
import { spawnSync } from 'child_process';
import { loaderPath } from '@wagc/loader-c';
import { hostArch, type Arch } from '@wagc/linker';
import { CPU_FEATURE, OPTIONAL_CPU_FEATURES, type CpuFeatureName } from '@wagc/frontend';
import { runFile, type FileResult, type Tally } from './runner';

const root = resolve(__dirname, '../..');
const argv = process.argv.slice(2);
const flag = (n: string): boolean => argv.includes(`--${n}`);
const opt = (n: string, d: string): string => {
  const k = argv.indexOf(`--${n}`);
  return k >= 0 && k + 1 < argv.length ? argv[k + 1] : d;
};

if (flag('help')) {
  console.log('usage: npm run conformance -- [--arch x86-64|arm64] [--files a,b] [--verbose] [--jobs N] [--update-baseline] [--suite DIR] [--cpu-features LIST]');
  process.exit(0);
}
const arch = opt('arch', hostArch()) as Arch;
if (arch !== 'x86-64' && arch !== 'arm64') {
  console.error(`conformance: unknown arch ${arch}`);
  process.exit(2);
}
let cpuFeatures = 0;
for (const name of opt('cpu-features', '').split(',').filter((n) => n !== '')) {
  if (!(OPTIONAL_CPU_FEATURES as readonly string[]).includes(name) || arch !== 'x86-64') {
    console.error(`conformance: --cpu-features: ${name} is none of x86-64's ${OPTIONAL_CPU_FEATURES.join(', ')}`);
    process.exit(2);
  }
  cpuFeatures |= CPU_FEATURE[name as CpuFeatureName];
}
const suite = resolve(opt('suite', join(root, '../shared/wasm-testsuite')));
const only = flag('files') ? new Set(opt('files', '').split(',')) : null;
const jobs = Math.max(1, Number(opt('jobs', '2')));
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (f: (s: string) => string, s: string): string => (color ? f(s) : s);
const baselinePath = join(root, 'conformance/baseline.json');

interface IndexFile { name: string; dir: string; featureSet: string; json: string }

async function main(): Promise<void> {
  const loader = loaderPath(arch);
  if (!existsSync(loader)) {
    console.error(`conformance: no loader at ${loader} (run npm run build)`);
    process.exit(2);
  }
  let prefix: string[] = [];
  if (arch === 'arm64' && process.arch !== 'arm64') {
    if (spawnSync('qemu-aarch64', ['--version']).error) {
      console.error('conformance: arm64 on this host needs qemu-aarch64 (apt-get install qemu-user)');
      process.exit(2);
    }
    prefix = ['qemu-aarch64'];
  }
  if (!existsSync(join(suite, 'index.json'))) {
    console.error(`conformance: no testsuite at ${suite} (expected index.json; pass --suite DIR)`);
    process.exit(2);
  }
  const index = JSON.parse(readFileSync(join(suite, 'index.json'), 'utf8')) as { files: IndexFile[] };
  // the core suite and the SIMD one (labelled simd), each file in <dir>/<name>/
  const files = index.files.filter((f) => (f.dir === 'core' || f.dir === 'simd') && (!only || only.has(f.name)));
  const results: FileResult[] = new Array(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const k = next++;
      const f = files[k];
      results[k] = await runFile(join(suite, f.dir, f.name), f.name, f.featureSet, { arch, loader, loaderPrefix: prefix, cpuFeatures });
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));

  const sum = (t: Map<string, Tally>, key: keyof Tally): number => [...t.values()].reduce((a, x) => a + x[key], 0);
  console.log(`WebAssembly spec testsuite (core and simd, ${files.length} files) on ${arch}`);
  console.log(`${'file'.padEnd(28)}${'features'.padEnd(18)}${'passed'.padStart(8)}${'failed'.padStart(8)}${'skipped'.padStart(9)}`);
  const totals = new Map<string, Tally>();
  const reasons = new Map<string, number>();
  for (const r of results) {
    const p = sum(r.byKind, 'passed'), f = sum(r.byKind, 'failed'), s = sum(r.byKind, 'skipped');
    const line = `${r.name.padEnd(28)}${r.featureSet.padEnd(18)}${String(p).padStart(8)}${String(f).padStart(8)}${String(s).padStart(9)}`;
    console.log(f ? paint(chalk.red, line) : line);
    for (const [k, t] of r.byKind) {
      const a = totals.get(k) ?? { passed: 0, failed: 0, skipped: 0 };
      a.passed += t.passed; a.failed += t.failed; a.skipped += t.skipped;
      totals.set(k, a);
    }
    for (const [why, n] of r.skipReasons) reasons.set(why, (reasons.get(why) ?? 0) + n);
  }
  console.log('\ntotals by kind                passed  failed  skipped');
  for (const [k, t] of [...totals].sort()) {
    console.log(`${k.padEnd(28)}${String(t.passed).padStart(8)}${String(t.failed).padStart(8)}${String(t.skipped).padStart(9)}`);
  }
  const P = sum(totals, 'passed'), F = sum(totals, 'failed'), S = sum(totals, 'skipped');
  console.log(`${'all'.padEnd(28)}${String(P).padStart(8)}${String(F).padStart(8)}${String(S).padStart(9)}`);
  console.log('\nskipped, by reason:');
  for (const [why, n] of [...reasons].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(6)}  ${why}`);
  if (flag('verbose')) {
    console.log('\nfailures:');
    for (const r of results) for (const x of r.failures) console.log(`  ${x.file}.wast:${x.line} ${x.kind}: ${x.detail}`);
  }

  // baseline: per arch, per file, passed count; a file below its baseline fails the run
  const baseline: Record<string, Record<string, number>> = existsSync(baselinePath) ? JSON.parse(readFileSync(baselinePath, 'utf8')) : {};
  const mine = baseline[arch] ?? {};
  const regressions: string[] = [];
  for (const r of results) {
    const p = sum(r.byKind, 'passed');
    if (mine[r.name] !== undefined && p < mine[r.name]) regressions.push(`${r.name}: ${p} passed, baseline ${mine[r.name]}`);
  }
  if (flag('update-baseline')) {
    for (const r of results) mine[r.name] = sum(r.byKind, 'passed');
    baseline[arch] = Object.fromEntries(Object.entries(mine).sort());
    writeFileSync(baselinePath, JSON.stringify(baseline, null, 1) + '\n');
    console.log(`\nbaseline for ${arch} written to conformance/baseline.json`);
  }
  console.log(`\nconformance: ${P} passed, ${F} failed, ${S} skipped`);
  if (regressions.length && !flag('update-baseline')) {
    console.log(paint(chalk.red, `\nregressions below the baseline:\n  ${regressions.join('\n  ')}`));
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(`conformance: ${e instanceof Error ? e.stack : e}`);
  process.exit(2);
});

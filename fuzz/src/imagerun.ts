/**
 * Corrupt images (fuzz/README.md, "Images"):
 *
 *   npm run fuzz:images -- [--count N] [--seed S] [--arch x86-64|arm64]
 *
 * Damages the metadata of two images of images.ts's program (a plain one, one resumed from a
 * snapshot) N times (default 6000, half each) and runs each; prints the outcomes and every finding
 * (a signal, an internal error, a status the program cannot produce, a refusal that is not one
 * line). Exit status 1 with a finding.
 */
import { randomInt } from 'crypto';
import type { Arch } from '@wagc/linker';
import { ImageFuzzer, IMAGE_PROGRAM } from './images';

const argv = process.argv.slice(2);
const opt = (n: string): string | undefined => {
  const k = argv.indexOf(`--${n}`);
  return k >= 0 && k + 1 < argv.length ? argv[k + 1] : undefined;
};
const count = Number(opt('count') ?? 6000);
const seed = opt('seed') !== undefined ? Number(opt('seed')) : randomInt(2 ** 47);
const arch = (opt('arch') ?? 'x86-64') as Arch;

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const wabt = await require('wabt')();
  const m = wabt.parseWat('p.wat', IMAGE_PROGRAM, { reference_types: true, bulk_memory: true });
  const program = new Uint8Array(m.toBinary({}).buffer);
  m.destroy();
  console.log(`fuzz:images: seed ${seed}, ${count} corrupt images, ${arch}`);
  const f = new ImageFuzzer();
  const bases = await f.basesFor(arch, program);
  const outcomes = new Map<string, number>();
  let findings = 0;
  for (let k = 0; k < count; k++) {
    const r = await f.case(arch, bases[k % 2], seed + k);
    outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1);
    if (r.finding) {
      findings++;
      console.log(`fuzz:images: FINDING case ${seed + k} (${k % 2 ? 'resumed' : 'plain'} image, ${r.what}): ${r.finding.split('\n')[0]}`);
    }
  }
  f.close();
  console.log(`fuzz:images: seed ${seed}: ${count} images, ${findings} findings`);
  console.log(`  outcomes: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (findings) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});

/**
 * Issue 11, point 4: damaged images end with one line and status 2, or run as an image with other
 * data would (images.ts); never a signal or an internal error. 500 damaged copies of a plain and
 * a resumed x86-64 image, 60 of arm64 ones (under qemu-aarch64 on other hosts); `npm run
 * fuzz:images` runs thousands. Also the checks one by one: each field the generated code trusts,
 * damaged, is named.
 */
import { spawnSync } from 'child_process';
import { existsSync } from 'fs';
import { loaderPath } from '@wagc/loader-c';
import { readImage, writeImage } from '@wagc/linker';
import { SITE_WORDS } from '@wagc/frontend';
import { ImageFuzzer, IMAGE_PROGRAM } from './images';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');
const haveArm = existsSync(loaderPath('arm64')) && (process.arch === 'arm64' || !spawnSync('qemu-aarch64', ['--version']).error);

let program: Uint8Array;
const f = new ImageFuzzer();
beforeAll(async () => {
  const wabt = await wabtInit();
  const m = wabt.parseWat('p.wat', IMAGE_PROGRAM, { reference_types: true, bulk_memory: true });
  program = new Uint8Array(m.toBinary({}).buffer);
  m.destroy();
});
afterAll(() => f.close());

describe('corrupt images', () => {
  test('x86-64: 500 damaged images, no signal, no internal error, refusals one line', async () => {
    const bases = await f.basesFor('x86-64', program);
    const found: string[] = [];
    const outcomes = new Set<string>();
    for (let k = 0; k < 500; k++) {
      const r = await f.case('x86-64', bases[k % 2], 11_000 + k);
      outcomes.add(r.outcome);
      if (r.finding) found.push(`${11_000 + k} (${r.what}): ${r.finding}`);
    }
    expect(found).toEqual([]);
    // the damage reached both the refusals and runs
    expect(outcomes.has('ran as before')).toBe(true);
    expect([...outcomes].filter((o) => o.startsWith('refused')).length).toBeGreaterThan(10);
  }, 600000);

  test('arm64: 60 damaged images', async () => {
    if (!haveArm) throw new Error('the arm64 loader and qemu-aarch64 are needed (bash scripts/setup.sh)');
    const bases = await f.basesFor('arm64', program);
    const found: string[] = [];
    for (let k = 0; k < 60; k++) {
      const r = await f.case('arm64', bases[k % 2], 21_000 + k);
      if (r.finding) found.push(`${21_000 + k} (${r.what}): ${r.finding}`);
    }
    expect(found).toEqual([]);
  }, 600000);

  test('each thing the generated code trusts, damaged, is a refusal naming it', async () => {
    const [plain, resumed] = await f.basesFor('x86-64', program);
    const run = async (bytes: Uint8Array): Promise<string> => {
      const r = await f.run('x86-64', bytes);
      expect(r.signal).toBeNull();
      return `${r.status} ${r.stderr}`;
    };
    const img = readImage(plain);
    const rebuilt = (change: (i: ReturnType<typeof readImage>) => void, from = plain): Uint8Array => {
      const i = readImage(from);
      change(i);
      return writeImage(i);
    };
    expect(await run(writeImage(img))).toBe('0 ');
    expect(await run(rebuilt((i) => { i.stubs.entry = 16; }))).toBe('2 gate-run: bad image: the entry stub is not at the start of the text\n');
    expect(await run(rebuilt((i) => { i.functions[i.functions.length - 1].codeStart += 16; }))).toMatch(/^2 gate-run: bad image: (the function table and the function map disagree|function)/);
    expect(await run(rebuilt((i) => { i.rodata = undefined; }))).toBe('2 gate-run: bad image: no read-only data section (13): the function table is missing\n');
    expect(await run(rebuilt((i) => { i.sites.words[SITE_WORDS * 3] += 1; /* row 3's code offset, its first word */ }))).toMatch(/^2 gate-run: bad image: site /);
    expect(await run(rebuilt((i) => { i.tables = undefined; }))).toBe('2 gate-run: bad image: a table without its tables section (12)\n');
    expect(await run(rebuilt((i) => { i.tables!.tables[0].descOff += 8; }))).toBe('2 gate-run: bad image: tables: descriptor offset\n');
    // a table's words: call_indirect checks them anyway, the loader checks what it is given
    expect(await run(rebuilt((i) => { i.tables!.tables[0].entries![0] += 1n; }))).toBe('2 gate-run: bad image: tables: a table entry\'s type is not its function\'s\n');
    expect(await run(rebuilt((i) => { i.tables!.tables[0].entries![0] |= 0xffffn << 32n; }))).toBe('2 gate-run: bad image: tables: a table entry names no function\n');
    // the passive segment's state: its bytes in the read-only data, not in the text
    const slot = img.modules![1].dataBase;
    expect(await run(rebuilt((i) => { new DataView(i.globals.buffer).setUint32(8 * slot + 4, 64, true); }))).toBe('2 gate-run: bad image: data segment state outside the read-only data\n');
    expect(await run(rebuilt((i) => { i.resume!.resumeStub += 16; }, resumed))).toBe('2 gate-run: bad image: resume stubs\n');
    expect(await run(rebuilt((i) => { i.resume!.entryReturn -= 1; }, resumed))).toBe('2 gate-run: bad image: resume stubs\n');
    expect(await run(rebuilt((i) => { i.resume!.frames[0].codeOffset += 1; }, resumed))).toBe('2 gate-run: bad image: resume frame 0\n');
    expect(await run(rebuilt((i) => { i.resume!.frames[0].fpOffset += 8; }, resumed))).toBe('2 gate-run: bad image: resume frame 0\n');
  }, 120000);
});

/**
 * clz/ctz/popcnt on i32 and i64, compiled for baseline x86-64 and with the CPU features that make
 * them single instructions (wagc --cpu-features), run under the loader and checked against a
 * reference computed here; and the loader's refusal of an image that needs a CPU feature it
 * lacks (the test build's GATE_RUN_TEST_HIDE_CPU_FEATURES pretends) or does not know.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CPU_FEATURE, CPU_FEATURES_OPTIONAL } from '@wagc/frontend';
import { compileProgram, readImage, META_FIXED, Section } from '@wagc/linker';
import { loaderPath } from '@wagc/loader-c';
import { wat } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'wagc-bitcount-'));
let counter = 0;
const LOADER = loaderPath('x86-64');
const TEST_LOADER = `${LOADER}-test`;

function writeTemp(image: Uint8Array): string {
  const path = join(dir, `b${counter++}.img`);
  writeFileSync(path, image);
  return path;
}

const MODULE = `(module
  (func (export "clz32") (param i32) (result i32) (i32.clz (local.get 0)))
  (func (export "ctz32") (param i32) (result i32) (i32.ctz (local.get 0)))
  (func (export "popcnt32") (param i32) (result i32) (i32.popcnt (local.get 0)))
  (func (export "clz64") (param i64) (result i64) (i64.clz (local.get 0)))
  (func (export "ctz64") (param i64) (result i64) (i64.ctz (local.get 0)))
  (func (export "popcnt64") (param i64) (result i64) (i64.popcnt (local.get 0)))
  ;; the same on values that are not in the parameter's register: a sum keeps several live
  (func (export "mix64") (param i64 i64) (result i64)
    (i64.add (i64.add (i64.popcnt (local.get 0)) (i64.shl (i64.clz (local.get 1)) (i64.const 8)))
      (i64.shl (i64.ctz (i64.xor (local.get 0) (local.get 1))) (i64.const 16)))))`;

// reference implementations on BigInt
const MASK = (bits: number): bigint => (1n << BigInt(bits)) - 1n;
function clz(v: bigint, bits: number): bigint {
  for (let k = bits - 1; k >= 0; k--) if ((v >> BigInt(k)) & 1n) return BigInt(bits - 1 - k);
  return BigInt(bits);
}
function ctz(v: bigint, bits: number): bigint {
  for (let k = 0; k < bits; k++) if ((v >> BigInt(k)) & 1n) return BigInt(k);
  return BigInt(bits);
}
function popcnt(v: bigint): bigint {
  let n = 0n;
  for (; v; v >>= 1n) n += v & 1n;
  return n;
}

/** Boundary values and a deterministic random sample. */
function values(bits: number): bigint[] {
  const m = MASK(bits);
  const b = BigInt(bits);
  const out = [0n, 1n, 2n, 3n, m, m - 1n, 1n << (b - 1n), (1n << (b - 1n)) - 1n, (1n << (b - 1n)) + 1n,
    m / 3n /* 0x55… */, (m / 3n) << 1n /* 0xaa… */, m / 5n /* 0x33… */, m / 17n /* 0x0f… */, m / 255n /* 0x01… */, m ^ (m / 255n)];
  for (let k = 0; k < bits; k++) out.push(1n << BigInt(k), m >> BigInt(k), (m << BigInt(k)) & m);
  let seed = 0x2545f491 ^ bits;
  const rnd = (): bigint => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return BigInt(seed >>> 0);
  };
  for (let k = 0; k < 200; k++) {
    let v = (rnd() << 32n) | rnd();
    v &= m;
    if (k % 4 === 1) v >>= rnd() % b; // fewer leading ones
    if (k % 4 === 2) v = (v << (rnd() % b)) & m; // more trailing zeros
    out.push(v);
  }
  return out;
}

const hex = (s: string): string => Buffer.from(s).toString('hex');

interface Call { fn: string; args: bigint[]; want: bigint }

function calls(): Call[] {
  const out: Call[] = [];
  for (const bits of [32, 64]) {
    for (const v of values(bits)) {
      out.push({ fn: `clz${bits}`, args: [v], want: clz(v, bits) });
      out.push({ fn: `ctz${bits}`, args: [v], want: ctz(v, bits) });
      out.push({ fn: `popcnt${bits}`, args: [v], want: popcnt(v) });
    }
  }
  const v64 = values(64);
  for (let k = 0; k + 1 < v64.length; k += 3) {
    const [a, b] = [v64[k], v64[k + 1]];
    out.push({ fn: 'mix64', args: [a, b], want: (popcnt(a) + (clz(b, 64) << 8n) + (ctz(a ^ b, 64) << 16n)) & MASK(64) });
  }
  return out;
}

/** Runs every call through the loader's batch protocol; returns its results in order. */
function runBatch(loader: string, image: string, cs: Call[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stderr: string; results: bigint[] } {
  const input = cs.map((c) => `invoke ${hex(c.fn)} ${c.args.map((a) => a.toString(16)).join(' ')}`).join('\n') + '\n';
  const r = spawnSync(loader, [image, '--batch'], { input, encoding: 'utf8', env, timeout: 30000 });
  const lines = r.stdout.split('\n').filter(Boolean);
  const results = lines.slice(1).map((l) => {
    const m = /^ok ([0-9a-f]{16})$/.exec(l);
    if (!m) throw new Error(`unexpected answer: ${l}`);
    return BigInt(`0x${m[1]}`);
  });
  return { status: r.status, stderr: r.stderr, results };
}

const SETTINGS: [string, number][] = [
  ['baseline', 0],
  ['popcnt,lzcnt,bmi1', CPU_FEATURE.popcnt | CPU_FEATURE.lzcnt | CPU_FEATURE.bmi1],
];

describe('clz/ctz/popcnt against a reference, per CPU feature setting', () => {
  let bytes: Uint8Array;
  beforeAll(async () => { bytes = await wat(MODULE); });

  test.each(SETTINGS)('--cpu-features %s', (_name, features) => {
    const image = compileProgram({ modules: [{ name: 'main', bytes }], arch: 'x86-64', cpuFeatures: features });
    // the image records exactly the features its code uses
    expect(readImage(image).cpuFeatures).toBe(features);
    const cs = calls();
    expect(cs.length).toBeGreaterThan(1500);
    const r = runBatch(LOADER, writeTemp(image), cs);
    if (features && r.status === 2 && /which this CPU lacks/.test(r.stderr)) {
      // a CPU without one of the features: refusing is the right answer (checked below too)
      // eslint-disable-next-line no-console -- says why the fast forms were not run
      console.warn(`this CPU cannot run the fast forms: ${r.stderr.trim()}`);
      return;
    }
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = r.results;
    expect(got.length).toBe(cs.length);
    const wrong = cs.map((c, k) => ({ ...c, got: got[k] })).filter((c) => c.got !== c.want);
    expect(wrong.map((c) => `${c.fn}(${c.args.map((a) => `0x${a.toString(16)}`).join(', ')}) = ${c.got}, want ${c.want}`)).toEqual([]);
  });

  test('only the features the code uses are recorded', async () => {
    const onlyPopcnt = await wat('(module (func (export "f") (param i64) (result i64) (i64.popcnt (local.get 0))))');
    expect(readImage(compileProgram({ modules: [{ name: 'main', bytes: onlyPopcnt }], arch: 'x86-64', cpuFeatures: CPU_FEATURES_OPTIONAL })).cpuFeatures).toBe(CPU_FEATURE.popcnt);
    expect(readImage(compileProgram({ modules: [{ name: 'main', bytes: onlyPopcnt }], arch: 'x86-64' })).cpuFeatures).toBe(0);
  });
});

describe('the loader refuses an image its CPU cannot run', () => {
  let bytes: Uint8Array;
  beforeAll(async () => { bytes = await wat(MODULE); });
  const compile = (features: number): string => writeTemp(compileProgram({ modules: [{ name: 'main', bytes }], arch: 'x86-64', cpuFeatures: features }));
  const hide = (names: string): NodeJS.ProcessEnv => ({ ...process.env, GATE_RUN_TEST_HIDE_CPU_FEATURES: names });

  test.each(['popcnt', 'lzcnt', 'bmi1'] as const)('a CPU without %s', (name) => {
    const r = spawnSync(TEST_LOADER, [compile(CPU_FEATURE[name]), '--batch'], { input: '', encoding: 'utf8', env: hide(name) });
    expect(r.stderr).toBe(`gate-run: image needs CPU feature ${name}, which this CPU lacks\n`);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe(''); // refused before anything ran
  });

  test('a baseline image runs on a CPU without any of them', () => {
    const r = runBatch(TEST_LOADER, compile(0), [{ fn: 'popcnt64', args: [0xf0n], want: 4n }, { fn: 'clz32', args: [1n], want: 31n }], hide('popcnt,lzcnt,bmi1'));
    expect(r.stderr).toBe('');
    expect(r.results).toEqual([4n, 31n]);
  });

  test('the pretence is a test-build hook only: the real loader ignores it', () => {
    const r = spawnSync(LOADER, [compile(CPU_FEATURE.popcnt), '--batch'], { input: '', encoding: 'utf8', env: hide('popcnt') });
    if (/which this CPU lacks/.test(r.stderr)) return; // a CPU really without popcnt
    expect(r.stdout).toBe('ready\n');
  });

  test.each([5, 31])('an unknown feature bit (bit %d) is refused', (bit) => {
    const image = compileProgram({ modules: [{ name: 'main', bytes }], arch: 'x86-64' });
    const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
    let meta = -1;
    for (let k = 0; k < dv.getUint32(20, true); k++) if (dv.getUint32(24 + 24 * k, true) === Section.Meta) meta = Number(dv.getBigUint64(24 + 24 * k + 8, true));
    expect(META_FIXED).toBe(48);
    dv.setUint32(meta + 44, 2 ** bit, true);
    const r = spawnSync(LOADER, [writeTemp(image), '--batch'], { input: '', encoding: 'utf8' });
    expect(r.stderr).toBe(`gate-run: image needs an unknown CPU feature (bit ${bit} of cpu_features)\n`);
    expect(r.status).toBe(2);
  });
});

describe('wagc --cpu-features', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseCpuFeatures, UsageError } = require('../../packages/cli/src/wagc') as typeof import('../../packages/cli/src/wagc');
  const cpuinfo = (flags: string) => (): string => `processor\t: 0\nflags\t\t: fpu sse2 ${flags}\nbugs\t\t:\n`;

  test('baseline, lists, native', () => {
    expect(parseCpuFeatures('baseline')).toBe(0);
    expect(parseCpuFeatures('popcnt')).toBe(CPU_FEATURE.popcnt);
    expect(parseCpuFeatures('bmi1,lzcnt')).toBe(CPU_FEATURE.bmi1 | CPU_FEATURE.lzcnt);
    // sse4_1 is no option: always allowed
    expect(parseCpuFeatures('native', cpuinfo('popcnt abm bmi1 bmi2 sse4_1 avx'))).toBe(CPU_FEATURES_OPTIONAL);
    expect(parseCpuFeatures('avx')).toBe(CPU_FEATURE.avx);
    // LZCNT is the flag "abm"; a kernel that does not list it costs speed only
    expect(parseCpuFeatures('native', cpuinfo('popcnt bmi1'))).toBe(CPU_FEATURE.popcnt | CPU_FEATURE.bmi1);
    expect(parseCpuFeatures('native', () => '')).toBe(0);
  });

  test('an unknown name is a usage error naming the known ones', () => {
    expect(() => parseCpuFeatures('popcnt,avx512')).toThrow(UsageError);
    expect(() => parseCpuFeatures('avx512')).toThrow('unknown CPU feature "avx512" (known: baseline, native, popcnt, lzcnt, bmi1, avx)');
    expect(() => parseCpuFeatures('sse4_1')).toThrow(UsageError);
  });
});

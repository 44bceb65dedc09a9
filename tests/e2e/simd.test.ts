/**
 * v128 at the loader's edges, on both arches: arguments and results through the batch protocol
 * (16 bytes as 32 hex digits), several results of which some are v128 and which take more slots
 * than the parameters (one lands on the return address: docs/ARCHITECTURE.md, "Several results"),
 * a v128 global read with `get`, and gate-run's --invoke with a v128 argument and result.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { compileProgram, type Arch } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { loaderPath } from '@wagc/loader-c';
import { wat } from './helpers';

const haveArm = existsSync(loaderPath('arm64')) && spawnSync('qemu-aarch64', ['--version']).status === 0;
const ARCHES: Arch[] = haveArm ? ['x86-64', 'arm64'] : ['x86-64'];
const dir = mkdtempSync(join(tmpdir(), 'wagc-simd-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MODULE = `(module
  (global $g (export "g") (mut v128) (v128.const i32x4 0x11111111 0x22222222 0x33333333 0x44444444))
  ;; 5 parameter slots, 7 result slots: results reach the return address and the dead frame
  (func (export "spread") (param $a v128) (param $k i32) (param $b v128) (result v128 i32 v128 v128 i64)
    (i32x4.add (local.get $a) (local.get $b))
    (i32.add (local.get $k) (i32.const 1))
    (local.get $a)
    (v128.xor (local.get $b) (global.get $g))
    (i64x2.extract_lane 1 (local.get $b)))
  (func (export "swap") (param v128) (result v128)
    (global.set $g (local.get 0))
    (i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0 (local.get 0) (local.get 0)))
  (func (export "_start")))`;

const A = '000102030405060708090a0b0c0d0e0f'; // lanes: 0x0f0e0d0c (3) … 0x03020100 (0), as one number
const B = 'fffffffe00000001800000007fffffff';

function loaderArgv(arch: Arch, img: string): string[] {
  return arch === 'arm64' && process.arch !== 'arm64' ? ['qemu-aarch64', loaderPath(arch), img, '--emulated'] : [loaderPath(arch), img];
}

const hexName = (s: string): string => Buffer.from(s).toString('hex');
/** The i32x4 lanes of a 32-digit value, lane 0 first. */
const lanes = (h: string): string[] => [3, 2, 1, 0].map((k) => h.slice(8 * k, 8 * k + 8));
const add32 = (x: string, y: string): string =>
  lanes(x).map((l, k) => ((parseInt(l, 16) + parseInt(lanes(y)[k], 16)) >>> 0).toString(16).padStart(8, '0')).reverse().join('');
const xor = (x: string, y: string): string => (BigInt('0x' + x) ^ BigInt('0x' + y)).toString(16).padStart(32, '0');

describe.each(ARCHES)('v128 through the loader on %s', (arch) => {
  let img: string;
  beforeAll(async () => {
    const bytes = await wat(MODULE);
    img = join(dir, `simd-${arch}.img`);
    writeFileSync(img, compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }], arch }));
  });

  test('batch: arguments, several results with v128 among them, a v128 global', () => {
    const G = '44444444333333332222222211111111';
    const input = [
      `get ${hexName('g')}`,
      `invoke ${hexName('spread')} ${A} 7 ${B}`,
      `invoke ${hexName('swap')} 0x${B}`,
      `get ${hexName('g')}`,
      `invoke ${hexName('spread')} ${A} 7`,
      `invoke ${hexName('swap')} 1234`,
    ].join('\n') + '\n';
    const argv = loaderArgv(arch, img);
    const r = spawnSync(argv[0], [...argv.slice(1), '--batch'], { input, encoding: 'utf8', timeout: 60000 });
    expect(r.stderr).toBe('');
    const out = r.stdout.split('\n');
    expect(out[0]).toBe('ready');
    expect(out[1]).toBe(`ok ${G}`);
    expect(out[2]).toBe(`ok ${add32(A, B)} 0000000000000008 ${A} ${xor(B, G)} ${B.slice(0, 16)}`);
    // bytes reversed; the global now holds the argument
    expect(out[3]).toBe(`ok ${Buffer.from(B, 'hex').reverse().toString('hex')}`);
    expect(out[4]).toBe(`ok ${B}`);
    expect(out[5]).toBe('error expected 3 arguments');
    expect(out[6]).toBe('error bad v128 argument');
  });

  test('gate-run --invoke takes and prints a v128 as 0x and 32 hex digits', () => {
    const argv = loaderArgv(arch, img);
    const r = spawnSync(argv[0], [...argv.slice(1), '--invoke', 'swap', '--', A], { encoding: 'utf8', timeout: 60000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`0x${Buffer.from(A, 'hex').reverse().toString('hex')}\n`);
    expect(r.status).toBe(0);
  });
});

/**
 * ARM64 loads v128 constants from the function's pool with ldr (literal), which reaches ±1 MiB:
 * a function whose body is over 8 KiB builds them in registers instead (the same values).
 */
describe('v128 constants in a function too large for the literal pool (arm64)', () => {
  const N = 600; // ~30 bytes of body each: 18 KiB
  const body = Array.from({ length: N }, (_, k) =>
    `(local.set 0 (i32x4.add (local.get 0) (v128.const i32x4 ${k * 7919} ${-k} ${k << 20} ${0x5a5a5a5a ^ k})))`).join('\n');
  const text = `(module
    (func (export "big") (result i64) (local v128)
      ${body}
      (i64.xor (i64x2.extract_lane 0 (local.get 0)) (i64.extend_i32_u (i8x16.bitmask (local.get 0))))))`;
  let want = 0n;
  beforeAll(() => {
    const lane = [0, 0, 0, 0];
    for (let k = 0; k < N; k++) {
      const c = [k * 7919, -k, k << 20, 0x5a5a5a5a ^ k];
      for (let j = 0; j < 4; j++) lane[j] = (lane[j] + c[j]) | 0;
    }
    const bytes = Buffer.alloc(16);
    lane.forEach((v, j) => bytes.writeInt32LE(v, 4 * j));
    let mask = 0n;
    for (let k = 0; k < 16; k++) if (bytes[k] & 0x80) mask |= 1n << BigInt(k);
    want = bytes.readBigUInt64LE(0) ^ mask;
  });

  test.each(ARCHES)('%s', async (arch) => {
    const bytes = await wat(text);
    expect(bytes.length).toBeGreaterThan(8192 + 100);
    const img = join(dir, `big-${arch}.img`);
    writeFileSync(img, compileProgram({ modules: [{ name: 'main', bytes }], arch }));
    const argv = loaderArgv(arch, img);
    const r = spawnSync(argv[0], [...argv.slice(1), '--batch'], { input: `invoke ${hexName('big')}\n`, encoding: 'utf8', timeout: 60000 });
    expect(r.stdout).toBe(`ready\nok ${want.toString(16).padStart(16, '0')}\n`);
  });
});

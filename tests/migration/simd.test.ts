/**
 * A program suspended inside a vector loop on x86-64 resumes on ARM64 and, suspended again there,
 * back on x86-64, and prints exactly what an uninterrupted run prints (issue 15). Its frames hold
 * v128 values of every kind of slot: parameters (a callee's, pushed by its caller), declared
 * locals, operand stack values below a call's arguments and a loop's v128 parameter at its header
 * check; a v128 global changes as it runs. The loader's `--suspend-at-check N` stops it at the
 * same point of the wasm execution on both arches; the snapshots are version 2 and carry v128
 * slots (docs/snapshot-format.md).
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { compileProgram, type Arch } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { loaderPath } from '@wagc/loader-c';
import { readSnapshot } from '@wagc/snapshot-format';
import { snapshotOf, resumeProgram } from '@wagc/cli';
import { wat } from '../e2e/helpers';

const haveArm = existsSync(loaderPath('arm64')) && spawnSync('qemu-aarch64', ['--version']).status === 0;

/** Prints 64-bit words in hex; a vector loop in a callee with v128 parameters, results and locals. */
export const SIMD_PROGRAM = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $g (mut v128) (v128.const i32x4 0x01020304 0x05060708 0x090a0b0c 0x0d0e0f10))
  ;; prints x as 16 hex digits and a space (newline when $nl)
  (func $hex (param $x i64) (param $nl i32) (local $k i32)
    (loop $d
      (i32.store8 offset=64 (i32.sub (i32.const 15) (local.get $k))
        (i32.load8_u offset=32 (i32.wrap_i64 (i64.and (local.get $x) (i64.const 15)))))
      (local.set $x (i64.shr_u (local.get $x) (i64.const 4)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $d (i32.lt_u (local.get $k) (i32.const 16))))
    (i32.store8 offset=80 (i32.const 0) (select (i32.const 10) (i32.const 32) (local.get $nl)))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 17))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $v (param $x v128)
    (call $hex (i64x2.extract_lane 0 (local.get $x)) (i32.const 0))
    (call $hex (i64x2.extract_lane 1 (local.get $x)) (i32.const 1)))
  (data (i32.const 32) "0123456789abcdef")
  ;; rounds of byte, 16-bit, 32-bit and float lane arithmetic over a v128 accumulator
  (func $mix (param $a v128) (param $k i32) (param $b v128) (result v128 i32)
    (local $acc v128) (local $i i32) (local $f v128)
    (local.set $acc (local.get $a))
    (local.set $f (f32x4.convert_i32x4_s (local.get $b)))
    (loop $l
      (local.set $acc (i32x4.add (local.get $acc) (i8x16.swizzle (local.get $b) (local.get $acc))))
      (local.set $acc (v128.xor (local.get $acc) (i64x2.shl (local.get $acc) (i32.const 3))))
      (local.set $acc (i16x8.add_sat_u (local.get $acc) (i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0 (local.get $acc) (local.get $b))))
      (local.set $f (f32x4.add (local.get $f) (f32x4.mul (f32x4.convert_i32x4_u (i32x4.shr_u (local.get $acc) (i32.const 24))) (v128.const f32x4 0.5 0.25 0.125 2.0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $k))))
    (v128.xor (local.get $acc) (i32x4.trunc_sat_f32x4_s (local.get $f)))
    (local.get $i))
  (func (export "_start") (local $v v128) (local $round i32)
    (local.set $v (v128.const i64x2 0x0123456789abcdef 0x0fedcba987654321))
    (global.get $g)
    ;; a loop with a v128 parameter: at its header check the operand stack holds it
    (loop $rounds (param v128) (result v128)
      ;; a v128 stays on the operand stack below the call's arguments
      (global.get $g)
      (call $mix (local.get $v) (i32.const 200) (i8x16.add (global.get $g) (v128.const i32x4 1 2 3 4)))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (drop)
      (local.set $v)
      (global.set $g (i64x2.add (v128.xor (global.get $g) (local.get $v))))
      (i32x4.add (local.get $v))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 60))))
    (call $v)
    (call $v (local.get $v))
    (call $v (global.get $g))))`;

const LIBRARY = 'wasi_snapshot_preview1';

function image(wasm: Uint8Array, arch: Arch): Uint8Array {
  return compileProgram({ modules: [{ name: LIBRARY, bytes: wasiModule() }, { name: 'main', bytes: wasm }], arch });
}

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'wagc-simd-migration-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs an image, suspending at check `at` (counted from the run's start), its state in `state`. */
function run(arch: Arch, img: Uint8Array, at: number, name: string): { status: number | null; stdout: string; stderr: string; state: Uint8Array } {
  const path = join(dir, `${name}.img`), state = join(dir, `${name}.state`);
  writeFileSync(path, img);
  const cmd = arch === 'arm64' && process.arch !== 'arm64' ? ['qemu-aarch64', loaderPath(arch), path, '--emulated'] : [loaderPath(arch), path];
  const r = spawnSync(cmd[0], [...cmd.slice(1), '--state-out', state, '--suspend-at-check', String(at)], { encoding: 'utf8', timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, state: new Uint8Array(readFileSync(state)) };
}

(haveArm ? describe : describe.skip)('a SIMD program migrated mid-loop', () => {
  test('x86-64 → arm64 → x86-64 prints what an uninterrupted run prints', async () => {
    const wasm = await wat(SIMD_PROGRAM);
    const x86 = image(wasm, 'x86-64');
    const whole = run('x86-64', x86, 2 ** 40, 'whole');
    expect(whole.stderr).toMatch(/^checks \d+\n$/);
    expect(whole.status).toBe(0);
    expect(whole.stdout.split('\n')).toHaveLength(4);
    const checks = Number(/checks (\d+)/.exec(whole.stderr)![1]);
    expect(checks).toBeGreaterThan(10000);
    // the same program on arm64, uninterrupted
    expect(run('arm64', image(wasm, 'arm64'), 2 ** 40, 'whole-arm').stdout).toBe(whole.stdout);

    // a third of the way on x86-64, in $mix's vector loop (most checks are its loop header)
    const first = run('x86-64', x86, Math.floor(checks / 3), 'hop1');
    expect(first.status).toBe(3);
    expect(first.stderr).toMatch(/^suspended\n {2}at mix /);
    const snap1 = snapshotOf(x86, first.state);
    const s1 = readSnapshot(snap1);
    expect(s1.version).toBe(2);
    // mix: v128 parameters and locals; _start: a v128 local, and below the call the loop's
    // parameter and the global's value
    const [mix, start] = s1.frames;
    expect(mix.slots.map((s) => s.type)).toEqual([0x7b, 0x7f, 0x7b, 0x7b, 0x7f, 0x7b]);
    expect(start.slots.filter((s) => s.type === 0x7b).length).toBe(3);
    expect(s1.globals[0].type).toBe(0x7b);

    const p1 = resumeProgram(snap1, 'arm64');
    const arm = compileProgram({ modules: p1.modules, arch: 'arm64', resume: p1.resume });
    const second = run('arm64', arm, Math.floor(checks / 3), 'hop2');
    expect(second.status).toBe(3);
    expect(second.stderr).toMatch(/suspended\n {2}at mix /);

    const snap2 = snapshotOf(arm, second.state);
    const p2 = resumeProgram(snap2, 'x86-64');
    const back = compileProgram({ modules: p2.modules, arch: 'x86-64', resume: p2.resume });
    const last = run('x86-64', back, 2 ** 40, 'hop3');
    expect(last.status).toBe(0);
    // the checks left: the migrated execution is the same execution
    expect(last.stderr).toBe(`checks ${checks - 2 * Math.floor(checks / 3)}\n`);
    expect(first.stdout + second.stdout + last.stdout).toBe(whole.stdout);
  }, 600000);
});

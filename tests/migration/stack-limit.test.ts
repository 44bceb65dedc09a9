/**
 * Issue 18: the stack limit is a wasm-level quantity (docs/ARCHITECTURE.md, "The stack limit").
 *
 * - A recursion exhausts its stack at the call the rule computes from the canonical frame sizes
 *   (8·(locals + operand stack depth + 1) bytes, parameters in the caller's operands), the same
 *   on x86-64 and arm64, for frames made of locals, operands, parameters and results.
 * - Suspended at its last checks before that point, it resumes on the other arch at the same
 *   --stack-size and exhausts the stack at the same call; at a smaller one it is refused.
 * - A snapshot's frames must fit whole (an entry resumed after its check must not reach below
 *   the stack), and a suspend request at an entry whose frame does not fit is the trap.
 * - 40 generations of snapshots (most on x86-64, some on arm64) grow nothing: the stack (the
 *   recursion at the end still stops at the same call), the snapshot, the image, the segments.
 */
import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { compileProgram, readImage, siteList, type Arch } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { loaderPath } from '@wagc/loader-c';
import { resumeProgram, snapshotOf } from '@wagc/cli';
import { decodeModule } from '@wagc/frontend';
import { readSnapshot } from '@wagc/snapshot-format';
import { wat } from '../e2e/helpers';

const HAVE_ARM = existsSync(loaderPath('arm64')) && spawnSync('qemu-aarch64', ['--version']).status === 0;
const ARCHES: Arch[] = HAVE_ARM ? ['x86-64', 'arm64'] : ['x86-64'];
const other = (a: Arch): Arch => (ARCHES.length === 1 ? a : a === 'x86-64' ? 'arm64' : 'x86-64');
const NEVER = '4611686018427387904'; // --suspend-at-check that only counts

let dir: string;
let count = 0;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'wagc-stack-limit-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function compile(bytes: Uint8Array, arch: Arch): Uint8Array {
  return compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }], arch });
}

interface Run { status: number | null; stdout: string; stderr: string; state: Uint8Array | null; checks: number | null }

/** Runs an image under its arch's loader (arm64 under qemu-aarch64 on other hosts). */
function run(arch: Arch, image: Uint8Array, args: string[]): Run {
  const img = join(dir, `i${count}.img`), state = join(dir, `s${count++}.state`);
  writeFileSync(img, image);
  const emulated = arch === 'arm64' && process.arch !== 'arm64';
  const cmd = [...(emulated ? ['qemu-aarch64'] : []), loaderPath(arch), img, ...(emulated ? ['--emulated'] : []), '--state-out', state, ...args];
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 300000 });
  const bytes = existsSync(state) ? new Uint8Array(readFileSync(state)) : null;
  rmSync(img, { force: true });
  rmSync(state, { force: true });
  const m = /^checks (\d+)$/m.exec(r.stderr);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, state: bytes && bytes.length ? bytes : null, checks: m ? Number(m[1]) : null };
}

/** Global `k` of the module, from the state a run left (its snapshot). */
function globalOf(image: Uint8Array, r: Run, k: number): bigint {
  expect(r.state).not.toBeNull();
  return readSnapshot(snapshotOf(image, r.state!)).globals[k].bits;
}

/** Suspends at check `at`, snapshots, compiles the snapshot for `next`. */
function hop(arch: Arch, image: Uint8Array, at: number, next: Arch, args: string[]): { image: Uint8Array; snapshot: Uint8Array } {
  const r = run(arch, image, [...args, '--suspend-at-check', String(at)]);
  expect(r.stderr).toMatch(/^suspended\n/);
  expect(r.status).toBe(3);
  const snapshot = snapshotOf(image, r.state!);
  const { modules, resume } = resumeProgram(snapshot, next);
  return { image: compileProgram({ modules, arch: next, resume }), snapshot };
}

/**
 * Recursions of several frame shapes. `$rec` counts its frames in global 0 on entry (after its
 * check), then calls itself. L: declared locals; D: the deepest operand stack; d: the operand
 * depth at the recursive call (arguments included); runD: the same at run's call of $rec.
 */
const SHAPES: Record<string, { L: number; D: number; d: number; runD: number; text: string }> = {
  small: {
    L: 0, D: 2, d: 1, runD: 1, text: `
    (func $rec (param i32) (result i32)
      (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
      (i32.add (call $rec (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
    (func (export "run") (result i32) (call $rec (i32.const 0)))`,
  },
  locals: {
    L: 100, D: 2, d: 1, runD: 1, text: `
    (func $rec (param i32) (result i32) (local ${'i64 '.repeat(100)})
      (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
      (local.set 50 (i64.extend_i32_u (local.get 0)))
      (i32.add (call $rec (i32.add (local.get 0) (i32.const 1))) (i32.wrap_i64 (local.get 50))))
    (func (export "run") (result i32) (call $rec (i32.const 0)))`,
  },
  operands: {
    L: 0, D: 12, d: 11, runD: 1, text: `
    (func $rec (param i32) (result i32)
      (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
      ${'(i32.const 3) '.repeat(10)}
      (call $rec (i32.add (local.get 0) (i32.const 1)))
      ${'(i32.add) '.repeat(10)})
    (func (export "run") (result i32) (call $rec (i32.const 0)))`,
  },
  parameters: {
    L: 0, D: 8, d: 8, runD: 8, text: `
    (func $rec (param i32 i64 f32 f64 i32 i64 f32 f64) (result i32)
      (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
      (call $rec (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2) (local.get 3)
        (local.get 4) (local.get 5) (local.get 6) (local.get 7))
      (i32.add (i32.const 1)))
    (func (export "run") (result i32)
      (call $rec (i32.const 0) (i64.const 1) (f32.const 2) (f64.const 3) (i32.const 4) (i64.const 5) (f32.const 6) (f64.const 7)))`,
  },
  results: {
    L: 0, D: 5, d: 1, runD: 1, text: `
    (func $rec (param i32) (result i64 i64 i64 i64 i64)
      (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
      (call $rec (i32.add (local.get 0) (i32.const 1))))
    (func (export "run") (result i32)
      (call $rec (i32.const 0)) (drop) (drop) (drop) (drop) (i32.wrap_i64))`,
  },
};

const withDepth = (body: string): string => `(module (global $depth (mut i32) (i32.const 0)) ${body})`;

/** The rule: frame k of $rec fits iff fp_k − 8·(L + D + 1) ≥ the stack's lowest address. */
function expectedDepth(stack: number, s: (typeof SHAPES)[string]): number {
  const frame = 8 * (s.L + s.D + 1);
  const step = 8 * (s.L + s.d) + 8; // fp_k − fp_{k+1}: the caller's operands and the return address
  const first = 8 + 8 * s.runD + 8; // top − fp_1: run's return address, its operands, $rec's return address
  return Math.floor((stack - first - frame) / step) + 1;
}

const STACK = 262144;

describe(`the stack limit on ${ARCHES.join(' and ')}`, () => {
  test.each(Object.keys(SHAPES))('%s frames: the canonical frame sizes on both arches, exhausted at the call the rule says, uninterrupted and migrated', async (name) => {
    const shape = SHAPES[name];
    const bytes = await wat(withDepth(shape.text));
    const images = new Map(ARCHES.map((a) => [a, compile(bytes, a)] as const));
    const depth = expectedDepth(STACK, shape);
    let total = 0;
    for (const [arch, image] of images) {
      // the frame and the site's fp offset are wasm-level quantities, the same on both arches
      const img = readImage(image);
      const rec = img.functions.findIndex((f) => f.name === 'rec');
      expect(img.functions[rec].frameSize).toBe(8 * (shape.L + shape.D + 1));
      const site = siteList(img.sites).find((s) => s.func === rec && s.site === 1)!;
      expect(site.fpOffset).toBe(8 * (shape.L + shape.d));
      const r = run(arch, image, ['--stack-size', String(STACK), '--invoke', 'run', '--suspend-at-check', NEVER]);
      expect(r.stderr).toMatch(/^trap: call stack exhausted\n/);
      expect(r.status).toBe(134);
      expect(globalOf(image, r, 0)).toBe(BigInt(depth));
      // run's entry, then one check per frame that fits
      expect(r.checks).toBe(depth + 1);
      total = r.checks!;
    }
    // suspended at the last checks before the limit (the very last one first), resumed on the
    // other arch at the same --stack-size: the same call exhausts the stack
    const points = [total, total - 1, total - Math.min(997, total >> 1)];
    points.forEach((at, k) => {
      const start = ARCHES[k % ARCHES.length], next = other(start);
      const h = hop(start, images.get(start)!, at, next, ['--stack-size', String(STACK), '--invoke', 'run']);
      const r = run(next, h.image, ['--stack-size', String(STACK), '--suspend-at-check', NEVER]);
      expect(r.stderr).toMatch(/^trap: call stack exhausted\n/);
      expect(r.status).toBe(134);
      expect(r.checks).toBe(total - at);
      expect(globalOf(h.image, r, 0)).toBe(BigInt(depth));
      if (k === 0) {
        // 64 KiB less stack than it was taken with: refused, not run into the memory below
        const small = run(next, h.image, ['--stack-size', String(STACK - 65536)]);
        expect(small.stderr).toBe("gate-run: the snapshot's stack does not fit in --stack-size\n");
        expect(small.status).toBe(2);
      }
    });
  }, 600000);

  test('a snapshot resumes only where its innermost frame fits whole, not just its slots', async () => {
    // $huge's frame is 8·(40000 + 1 + 1) bytes: it fits a 1 MiB stack, not a 256 KiB one
    const bytes = await wat(withDepth(`
      (func $huge (param i32) (result i64) (local ${'i64 '.repeat(40000)})
        (local.set 39999 (i64.extend_i32_u (local.get 0)))
        (local.get 39999))
      (func (export "run") (result i64) (call $huge (i32.const 7)))`));
    for (const arch of ARCHES) {
      // suspended at $huge's entry check (the 2nd): its frame is the parameter alone
      const h = hop(arch, compile(bytes, arch), 2, other(arch), ['--stack-size', '1048576', '--invoke', 'run']);
      const frames = readSnapshot(h.snapshot).frames;
      expect(frames.map((f) => [f.site, f.slots.length])).toEqual([[0, 1], [1, 0]]);
      const ok = run(other(arch), h.image, ['--stack-size', '1048576']);
      expect(ok.stderr).toBe('');
      expect([ok.status, ok.stdout]).toEqual([0, '7\n']);
      const small = run(other(arch), h.image, ['--stack-size', '262144']);
      expect(small.stderr).toBe("gate-run: the snapshot's stack does not fit in --stack-size\n");
      expect(small.status).toBe(2);
    }
  }, 300000);

  test('a suspend request pending at an entry whose frame does not fit is call stack exhaustion, not a suspension', async () => {
    // the request comes while the start function reads stdin, waits for it to return (a
    // snapshot records one call), and meets $huge's entry check first
    const bytes = await wat(`(module
      (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
      (memory 1)
      (data (i32.const 16) "\\40\\00\\00\\00\\08\\00\\00\\00")
      (func $start (drop (call $read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 32))))
      (start $start)
      (func (export "huge") (result i64) (local ${'i64 '.repeat(20000)})
        (local.set 19999 (i64.const 5)) (local.get 19999)))`);
    const img = join(dir, 'pending.img'), state = join(dir, 'pending.state');
    writeFileSync(img, compile(bytes, 'x86-64'));
    const child = spawn(loaderPath('x86-64'), [img, '--stack-size', '65536', '--suspend-after', '50', '--invoke', 'huge', '--state-out', state], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (/deferred until the start function returns/.test(stderr)) child.stdin.end('input\n');
    });
    const status = await done;
    expect(stderr).toMatch(/^gate-run: suspension deferred until the start function returns: [^\n]*\ntrap: call stack exhausted\n {2}at huge /);
    expect(status).toBe(134);
    expect(readSnapshot(snapshotOf(readFileSync(img), readFileSync(state))).state).toBe('trapped');
  }, 120000);

  test('40 generations grow nothing: the stack, the snapshot, the image, the element and data segments', async () => {
    // run: 300 frames of $nest, a loop that rewrites a table entry, calls through it and
    // stores to memory (2 checks an iteration), then an endless recursion below the 300 frames.
    // Every value keeps its encoded size (the i64 counter stays in [2^62, 2^63), the stored
    // word has no zero byte), so every generation's snapshot has the same bytes count.
    const bytes = await wat(`(module
      (type $t (func (param i64) (result i64)))
      (memory 1)
      (table $t0 4 16 funcref)
      (table $t1 2 funcref)
      (global $depth (mut i32) (i32.const 0))
      (global $n (mut i64) (i64.const 0x4000000000000000))
      (elem (table $t0) (i32.const 0) func $a $b)
      (elem (table $t1) (i32.const 1) func $b)
      (elem $p func $a $b)
      (elem declare func $c)
      (data (i32.const 64) "original")
      (data $pd "passive bytes")
      (func $a (type $t) (i64.add (local.get 0) (i64.const 1)))
      (func $b (type $t) (i64.add (local.get 0) (i64.const 2)))
      (func $c (type $t) (local.get 0))
      (func $rec (param i32) (result i32)
        (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
        (i32.add (call $rec (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
      (func $nest (param $k i32) (result i32) (local $i i32)
        (if (result i32) (local.get $k)
          (then (i32.add (call $nest (i32.sub (local.get $k) (i32.const 1))) (i32.const 1)))
          (else
            (memory.init $pd (i32.const 200) (i32.const 0) (i32.const 13))
            (table.init $t0 $p (i32.const 2) (i32.const 0) (i32.const 2))
            (drop (table.grow $t0 (ref.func $c) (i32.const 1)))
            (loop $l
              (table.set $t1 (i32.const 0) (select (result funcref) (ref.func $a) (ref.func $b) (i32.and (local.get $i) (i32.const 1))))
              (global.set $n (call_indirect $t1 (type $t) (global.get $n) (i32.and (local.get $i) (i32.const 1))))
              (i32.store (i32.const 1000) (i32.or (local.get $i) (i32.const 0x01010101)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 30000))))
            (call $rec (i32.const 0)))))
      (func (export "run") (result i32) (call $nest (i32.const 300))))`);
    const x86 = compile(bytes, 'x86-64');
    const whole = run('x86-64', x86, ['--invoke', 'run', '--suspend-at-check', NEVER]);
    expect(whole.stderr).toMatch(/^trap: call stack exhausted\n/);
    const depth = globalOf(x86, whole, 0);
    const total = whole.checks!;
    expect(depth).toBeGreaterThan(100000n);

    // generation g is suspended at check 1000 of its run (the first after 2000); arm64 runs
    // generations 13, 14 and 27 (x86-64 → arm64 → arm64 → x86-64, and once more)
    const onArm = new Set(HAVE_ARM ? [13, 14, 27] : []);
    const archOf = (g: number): Arch => (onArm.has(g) ? 'arm64' : 'x86-64');
    let image = x86;
    let passed = 0;
    const sizes: string[] = [];
    for (let g = 0; g < 40; g++) {
      const at = g === 0 ? 2000 : 1000;
      const h = hop(archOf(g), image, at, archOf(g + 1), g === 0 ? ['--invoke', 'run'] : []);
      passed += at;
      image = h.image;
      const s = readSnapshot(h.snapshot);
      // at the entry check of $a or $b (checks alternate with the loop's), $nest × 301, run
      expect(s.frames.map((f) => f.site)).toEqual([0, 3, ...Array(300).fill(1), 1]);
      const m = decodeModule(s.module);
      // the module's own 4 element segments (now declarative or passive), one per table
      expect(m.elements.map((e) => e.mode)).toEqual(['declarative', 'declarative', 'passive', 'declarative', 'active', 'active']);
      expect(m.elements.filter((e) => e.mode === 'active').map((e) => e.table)).toEqual([0, 1]);
      // the module's own 2 data segments (emptied or kept), then memory: 3 runs
      expect(m.data.map((d) => d.mode)).toEqual(['passive', 'passive', 'active', 'active', 'active']);
      const img = readImage(image);
      const program = img.modules!.find((p) => p.name === 'main')!;
      sizes.push(`snapshot ${h.snapshot.length}, image ${image.length}, module ${program.bytes.length}, text ${img.text.length}`);
    }
    // the same bytes from the first generation to the 40th (arm64 images have their own text)
    const x86Sizes = sizes.filter((_, g) => archOf(g + 1) === 'x86-64');
    expect(new Set(x86Sizes).size).toBe(1);
    const snapshotSizes = sizes.map((s) => s.replace(/, image.*/, ''));
    expect(new Set(snapshotSizes).size).toBe(1);
    // and the stack: the rest of the run passes the checks that were left, the recursion below
    // the rebuilt 301 frames stops at the same call as in the uninterrupted run
    const end = run(archOf(40), image, ['--suspend-at-check', NEVER]);
    expect(end.stderr).toMatch(/^trap: call stack exhausted\n/);
    expect(end.checks).toBe(total - passed);
    expect(globalOf(image, end, 0)).toBe(depth);
  }, 900000);
});

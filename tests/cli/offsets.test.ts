/**
 * Issue 14: one wasm offset per frame, in the coordinates of the module the user compiled, through
 * the real bins on both arches. A trap's innermost frame is at the trapping instruction (a load
 * out of bounds, a SIMD load or store out of bounds, a division by zero, `unreachable`, a call_indirect of a null entry), not at the
 * function's start; a suspended frame is at its loop, the same offset in the suspend message, in
 * gate-inspect of the snapshot and in gate-inspect of the image resumed from it. The expected
 * offsets come from wasm-objdump's disassembly of the module compiled.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { wat } from '../e2e/helpers';

const root = join(__dirname, '../..');
const bin = (tool: string): string => join(root, 'packages/cli/bin', `${tool}.js`);
const haveArm = existsSync(join(root, 'packages/loader-c/build/gate-run-aarch64')) && spawnSync('qemu-aarch64', ['--version']).status === 0;
const arches = (haveArm ? ['x86-64', 'arm64'] : ['x86-64']).map((a) => [a]);
const dir = mkdtempSync(join(tmpdir(), 'wagc-offsets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
jest.setTimeout(300000);

function run(tool: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin(tool), ...args], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** wasm-objdump's offset of the `nth` instruction `mnemonic` in function `func`. */
function offsetOf(wasmFile: string, func: string, mnemonic: string, nth = 0): number {
  const d = spawnSync('wasm-objdump', ['-d', join(dir, wasmFile)], { encoding: 'utf8' });
  expect(d.status).toBe(0);
  let inFunc = false;
  const found: number[] = [];
  for (const line of d.stdout.split('\n')) {
    const head = /^[0-9a-f]+ func\[\d+\] <(.*)>:$/.exec(line);
    if (head) { inFunc = head[1] === func; continue; }
    const m = /^ ([0-9a-f]+):[^|]*\| *(\S+)/.exec(line);
    if (inFunc && m && m[2] === mnemonic) found.push(parseInt(m[1], 16));
  }
  expect(found.length).toBeGreaterThan(nth);
  return found[nth];
}

const TRAPS = `(module
  (type $t (func (result i32)))
  (memory 1)
  (table 2 funcref)
  (func $oob (export "oob") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add
    local.get 0 i32.load
    local.get 0 i32.const 70000 i32.add i32.load
    i32.add i32.add)
  (func $div (export "div") (param i32) (result i32)
    local.get 0 i32.const 3 i32.div_u
    local.get 0 i32.const 0 i32.div_u
    i32.add)
  (func $unreach (export "unreach") (param i32) (result i32)
    local.get 0 if (result i32) unreachable else local.get 0 end)
  (func $callnull (export "callnull") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add drop
    i32.const 1 call_indirect (type $t))
  (func $vload (export "vload") (param i32) (result i32)
    local.get 0 v128.load
    local.get 0 i32.const 70000 i32.add v128.load
    i32x4.add i32x4.extract_lane 0)
  (func $vstore (export "vstore") (param i32) (result i32)
    local.get 0 local.get 0 i32x4.splat v128.store
    local.get 0 i32.const 70000 i32.add local.get 0 i32x4.splat v128.store
    i32.const 0)
  (func $vlane (export "vlane") (param i32) (result i32)
    local.get 0 i32.const 70000 i32.add
    local.get 0 i32x4.splat
    v128.load32_lane 1
    i32x4.extract_lane 1)
  (func (export "_start")
    i32.const 1 call $unreach drop))`;

const LOOP = `(module
  (func $spin (param i32) (result i32)
    (local i32)
    (loop $l
      local.get 1 i32.const 1 i32.add local.set 1
      local.get 1 local.get 0 i32.ne br_if $l)
    local.get 1)
  (func (export "_start")
    i32.const 2000000000 call $spin drop))`;

beforeAll(async () => {
  writeFileSync(join(dir, 'traps.wasm'), await wat(TRAPS));
  writeFileSync(join(dir, 'loop.wasm'), await wat(LOOP));
  // wasm-objdump names functions from the name section: the wat's ids, and the loader uses them too
  for (const [arch] of arches) {
    expect(run('wagc', ['traps.wasm', '--arch', arch, '-o', `traps-${arch}.img`]).status).toBe(0);
    expect(run('wagc', ['loop.wasm', '--arch', arch, '-o', `loop-${arch}.img`]).status).toBe(0);
  }
});

describe.each(arches)('%s: a trap is reported at the trapping instruction', (arch) => {
  const cases: [string, string, string, string, number][] = [
    // export, function name, trap message, instruction, which occurrence
    ['oob', 'oob', 'out of bounds memory access', 'i32.load', 1],
    ['div', 'div', 'integer divide by zero', 'i32.div_u', 1],
    ['unreach', 'unreach', 'unreachable', 'unreachable', 0],
    ['callnull', 'callnull', 'uninitialized element', 'call_indirect', 0],
    ['vload', 'vload', 'out of bounds memory access', 'v128.load', 1],
    ['vstore', 'vstore', 'out of bounds memory access', 'v128.store', 1],
    ['vlane', 'vlane', 'out of bounds memory access', 'v128.load32_lane', 0],
  ];
  test.each(cases)('%s', (exp, func, message, mnemonic, nth) => {
    const r = run('gate-run', [`traps-${arch}.img`, '--invoke', exp, '--', '4']);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe(`trap: ${message}`);
    expect(lines[1]).toBe(`  at ${func} (wasm offset 0x${offsetOf('traps.wasm', func, mnemonic, nth).toString(16)})`);
    expect(r.status).toBe(134);
  });

  test('the caller of a trapping function is at its call', () => {
    const r = run('gate-run', [`traps-${arch}.img`]);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe('trap: unreachable');
    expect(lines[1]).toBe(`  at unreach (wasm offset 0x${offsetOf('traps.wasm', 'unreach', 'unreachable').toString(16)})`);
    expect(lines[2]).toMatch(new RegExp(`^ {2}at _start \\(wasm offset 0x${offsetOf('traps.wasm', '_start', 'call').toString(16)}\\)$`));
  });
});

describe.each(arches)('%s: a suspended frame has one offset everywhere', (arch) => {
  test('the suspend message, gate-inspect of the snapshot, gate-inspect of the resumed image', () => {
    const loop = `0x${offsetOf('loop.wasm', 'spin', 'loop').toString(16)}`;
    const call = `0x${offsetOf('loop.wasm', '_start', 'call').toString(16)}`;
    const snap = `snap-${arch}.wasm`;
    const r = run('gate-run', [`loop-${arch}.img`, '--suspend-after', '200', '--snapshot', snap]);
    expect(r.status).toBe(3);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe('suspended');
    expect(lines[1]).toBe(`  at spin (wasm offset ${loop})`);
    expect(lines[2]).toBe(`  at _start (wasm offset ${call})`);
    const inspected = run('gate-inspect', [snap]);
    expect(inspected.status).toBe(0);
    expect(inspected.stdout).toMatch(new RegExp(`#0 {2}spin {2}site \\d+ \\(wasm offset ${loop}\\)`));
    expect(inspected.stdout).toMatch(new RegExp(`#1 {2}_start {2}site \\d+ \\(wasm offset ${call}\\)`));
    for (const to of arches.map((a) => a[0])) {
      expect(run('wagc', [snap, '--arch', to, '-o', `resumed-${arch}-${to}.img`]).status).toBe(0);
      const image = run('gate-inspect', [`resumed-${arch}-${to}.img`]);
      expect(image.stdout).toMatch(new RegExp(`#0 {2}spin {2}site \\d+ \\(wasm offset ${loop}\\)`));
      expect(image.stdout).toMatch(new RegExp(`#1 {2}_start {2}site \\d+ \\(wasm offset ${call}\\)`));
    }
  });
});

/**
 * The snapshot paths of the CLIs: what each end state leaves, what wagc accepts back, and that
 * snapshots are modules V8 and wabt accept.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { readSnapshot } from '@wagc/snapshot-format';
import { snapshotOf } from '@wagc/cli';
import { loaderPath } from '@wagc/loader-c';
import { decodeModule } from '@wagc/frontend';
import { wat } from '../e2e/helpers';

const root = resolve(__dirname, '../..');
const node = (bin: string, args: string[], input = '') =>
  spawnSync('node', [join(root, 'packages/cli/bin', bin), ...args], { encoding: 'utf8', input, timeout: 120000 });

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'wagc-snapcli-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const imports = `(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))`;

async function image(name: string, text: string): Promise<string> {
  const wasm = join(dir, `${name}.wasm`);
  writeFileSync(wasm, await wat(text));
  const img = join(dir, `${name}.img`);
  const r = node('wagc.js', [wasm, '-o', img]);
  expect(r.stderr).toBe('');
  return img;
}

describe('snapshots through the CLIs', () => {
  test('a halted instance keeps its exports: --invoke calls them with the state the run left', async () => {
    const img = await image('counter', `(module (memory (export "memory") 1)
      (global $n (mut i64) (i64.const 0))
      (func (export "_start") (global.set $n (i64.const 40)) (i64.store (i32.const 64) (i64.const 2)))
      (func (export "next") (param $by i64) (result i64)
        (global.set $n (i64.add (global.get $n) (i64.add (local.get $by) (i64.load (i32.const 64)))))
        (global.get $n))
      (func (export "parts") (param $x f64) (result i64 f64 i32 f32)
        (global.get $n) (f64.mul (local.get $x) (f64.const 0.5)) (i32.const -7) (f32.const 1.25)))`);
    const snap = join(dir, 'counter.snapshot.wasm');
    const r = node('gate-run.js', [img, '--snapshot', snap]);
    expect(r.status).toBe(0);
    const s = readSnapshot(readFileSync(snap));
    expect(s.state).toBe('halted');
    expect(s.frames).toHaveLength(0);
    expect(WebAssembly.validate(readFileSync(snap))).toBe(true);
    for (const arch of ['x86-64', 'arm64']) {
      const out = join(dir, `counter.${arch}.img`);
      expect(node('wagc.js', [snap, '-o', out, '--arch', arch]).status).toBe(0);
      // nothing runs without --invoke: the entry already returned
      const idle = node('gate-run.js', [out]);
      expect(idle.stdout).toBe('');
      expect(idle.status).toBe(0);
      const inv = node('gate-run.js', [out, '--invoke', 'next', '--', '100']);
      expect(inv.stderr).toBe('');
      expect(inv.stdout).toBe('142\n');
      expect(inv.status).toBe(0);
      // several results (returned in memory), one a line
      const parts = node('gate-run.js', [out, '--invoke', 'parts', '--', '3']);
      expect(parts.stderr).toBe('');
      expect(parts.stdout).toBe('40\n1.5\n-7\n1.25\n');
    }
  }, 120000);

  test('references survive: tables grown and set, a dropped segment, funcref globals and a funcref local live at the suspension', async () => {
    const text = `(module
      (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
      (memory (export "memory") 1)
      (type $v (func (result i32)))
      (table $t 1 10 funcref)
      (table $e 2 externref)
      (global $g (mut funcref) (ref.null func))
      (elem $p funcref (ref.func $seven) (ref.func $nine))
      (func $seven (result i32) (i32.const 7))
      (func $nine (result i32) (i32.const 9))
      (func $now (result i64)
        (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 64))) (i64.load (i32.const 64)))
      (func (export "_start") (local $f funcref) (local $until i64)
        (drop (table.grow $t (ref.null func) (i32.const 3)))
        (table.init $t $p (i32.const 2) (i32.const 0) (i32.const 2))
        (elem.drop $p)
        (global.set $g (table.get $t (i32.const 3)))
        (local.set $f (table.get $t (i32.const 2)))
        ;; 2 s of realtime, to be suspended with $f live in the frame; resumed later, it is over
        (local.set $until (i64.add (call $now) (i64.const 2000000000)))
        (loop $l (br_if $l (i64.lt_u (call $now) (local.get $until))))
        (table.set $t (i32.const 0) (local.get $f)))
      (func (export "probe") (result i32)
        (i32.add (i32.mul (table.size $t) (i32.const 1000))
          (i32.add (i32.mul (call_indirect $t (type $v) (i32.const 0)) (i32.const 100))
            (i32.add (i32.mul (call_indirect $t (type $v) (i32.const 3)) (i32.const 10))
              (i32.add (ref.is_null (global.get $g)) (ref.is_null (table.get $e (i32.const 1))))))))
      (func (export "reinit") (result i32)
        (table.init $t $p (i32.const 0) (i32.const 0) (i32.const 1)) (i32.const 0)))`;
    const img = await image('refs', text);
    const snap = join(dir, 'refs.suspended.wasm');
    const r = node('gate-run.js', [img, '--suspend-after', '200', '--snapshot', snap]);
    expect(r.status).toBe(3);
    const s = readSnapshot(readFileSync(snap));
    expect(s.state).toBe('suspended');
    // the frame of _start holds $f: the portable word of $seven (function 1, after the import)
    const start = s.frames[s.frames.length - 1];
    expect(start.slots[0]).toEqual({ type: 0x70, bits: 2n });
    expect(s.globals[0]).toEqual({ type: 0x70, mutable: true, bits: 3n });
    expect(WebAssembly.validate(readFileSync(snap))).toBe(true);
    for (const arch of ['arm64', 'x86-64']) {
      const out = join(dir, `refs.${arch}.img`);
      expect(node('wagc.js', [snap, '-o', out, '--arch', arch]).stderr).toBe('');
      const halted = join(dir, `refs.${arch}.halted.wasm`);
      const run = node('gate-run.js', [out, '--snapshot', halted]);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      // resumed on `arch`, halted there, and its exports called on the other arch: the table
      // has 4 entries, [0] = $seven (set from $f after the resume), [3] = $nine, $g non-null,
      // externrefs null; the dropped segment stays dropped
      const other = arch === 'arm64' ? 'x86-64' : 'arm64';
      const back = join(dir, `refs.${arch}.back.img`);
      expect(node('wagc.js', [halted, '-o', back, '--arch', other]).stderr).toBe('');
      expect(node('gate-run.js', [back, '--invoke', 'probe']).stdout).toBe(`${4000 + 700 + 90 + 0 + 1}\n`);
      const reinit = node('gate-run.js', [back, '--invoke', 'reinit']);
      expect(reinit.stderr).toMatch(/out of bounds table access/);
      expect(reinit.status).toBe(134);
    }
  }, 240000);

  test('trapped and exited instances record why, and refuse to resume', async () => {
    const trap = await image('trap', `(module (memory (export "memory") 1)
      (func (export "_start") (drop (i32.div_u (i32.const 1) (i32.const 0)))))`);
    const ts = join(dir, 'trap.snapshot.wasm');
    expect(node('gate-run.js', [trap, '--snapshot', ts]).status).toBe(134);
    const t = readSnapshot(readFileSync(ts));
    expect(t.state).toBe('trapped');
    expect(t.trapId).toBe(2);
    const tw = node('wagc.js', [ts, '-o', join(dir, 'x.img')]);
    expect(tw.status).toBe(1);
    expect(tw.stderr).toMatch(/^wagc: error: .*trapped instance.*cannot continue\n$/);

    const exit = await image('exit', `(module ${imports} (memory (export "memory") 1)
      (func (export "_start") (call $exit (i32.const 7))))`);
    const es = join(dir, 'exit.snapshot.wasm');
    expect(node('gate-run.js', [exit, '--snapshot', es]).status).toBe(7);
    const e = readSnapshot(readFileSync(es));
    expect(e.state).toBe('exited');
    expect(e.exitStatus).toBe(7);
    const ew = node('wagc.js', [es, '-o', join(dir, 'y.img')]);
    expect(ew.status).toBe(1);
    expect(ew.stderr).toMatch(/exited instance/);
  }, 120000);

  test('a call suspended under --invoke prints its result when it ends on the other arch', async () => {
    // sum of i·i for i < n, in a loop whose header is a check
    const img = await image('sum', `(module (memory (export "memory") 1)
      (func (export "sum") (param $n i64) (result i64) (local $i i64) (local $s i64)
        (block $done (loop $l
          (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
          (local.set $s (i64.add (local.get $s) (i64.mul (local.get $i) (local.get $i))))
          (local.set $i (i64.add (local.get $i) (i64.const 1)))
          (br $l)))
        (local.get $s)))`);
    const whole = node('gate-run.js', [img, '--invoke', 'sum', '--', '1000']);
    expect(whole.stdout).toBe('332833500\n');
    // the loader's test option: suspended at the 400th check (the entry, then the loop header
    // with i = 0 … 398): i = 398, s = 0² + … + 397²
    const state = join(dir, 'sum.state');
    const r = spawnSync(loaderPath('x86-64'), [img, '--invoke', 'sum', '--state-out', state, '--suspend-at-check', '400', '--', '1000'], { encoding: 'utf8' });
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('');
    const snap = join(dir, 'sum.snapshot.wasm');
    writeFileSync(snap, snapshotOf(readFileSync(img), readFileSync(state)));
    expect(readSnapshot(readFileSync(snap)).frames[0].slots.map((s) => s.bits)).toEqual([1000n, 398n, BigInt((397 * 398 * 795) / 6)]);
    for (const arch of ['x86-64', 'arm64']) {
      const out = join(dir, `sum.${arch}.img`);
      expect(node('wagc.js', [snap, '-o', out, '--arch', arch]).status).toBe(0);
      const resumed = node('gate-run.js', [out]);
      expect(resumed.stderr).toBe('');
      expect(resumed.stdout).toBe('332833500\n');
      expect(resumed.status).toBe(0);
    }
  }, 120000);

  test('a corrupted snapshot is one line from wagc, never an image', async () => {
    const img = await image('spin', `(module (memory (export "memory") 1)
      (func (export "_start") (local $i i32) (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l))))`);
    const snap = join(dir, 'spin.snapshot.wasm');
    const r = node('gate-run.js', [img, '--suspend-after', '100', '--snapshot', snap]);
    expect(r.status).toBe(3);
    const good = readFileSync(snap);
    expect(WebAssembly.validate(good)).toBe(true);
    expect(new WebAssembly.Module(good)).toBeDefined();
    expect(WebAssembly.Module.exports(new WebAssembly.Module(good))).toEqual([]);
    // truncations and byte flips: each a one-line error (exit 1) or, if still a valid snapshot, an image
    let refused = 0;
    for (let k = 0; k < 16; k++) {
      const bad = Buffer.from(good);
      if (k % 2) bad[Math.floor((k * 7919) % bad.length)] ^= 0x5a;
      const cut = k % 2 ? bad : bad.subarray(0, Math.floor((bad.length * k) / 16));
      const p = join(dir, `bad${k}.wasm`);
      writeFileSync(p, cut);
      const w = node('wagc.js', [p, '-o', join(dir, `bad${k}.img`)]);
      expect([0, 1]).toContain(w.status);
      if (w.status === 1) {
        refused++;
        expect(w.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      }
    }
    expect(refused).toBeGreaterThan(8);
  }, 300000);

  test('a dropped data segment is instance state: the snapshot keeps it dropped, the other one intact', async () => {
    // memory.init of the kept segment prints 8 of its bytes; of the dropped one, 0 bytes pass and 1 traps
    const img = await image('segments', `(module ${imports}
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data $keep "kept: passive!\\n")
      (data $gone "dropped bytes")
      (data (i32.const 2000) "active")
      (func $write (param $at i32) (param $len i32)
        (i32.store (i32.const 200) (local.get $at))
        (i32.store (i32.const 204) (local.get $len))
        (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 208))))
      (func (export "_start") (local $i i32)
        (data.drop $gone)
        (loop $l
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 200000000))))
        (memory.init $keep (i32.const 3000) (i32.const 0) (i32.const 15))
        (call $write (i32.const 3000) (i32.const 15))
        (memory.init $gone (i32.const 3000) (i32.const 0) (i32.const 0))
        (call $write (i32.const 2000) (i32.const 6))
        (memory.init $gone (i32.const 3000) (i32.const 0) (i32.const 1))
        (call $exit (i32.const 9))))`);
    const want = node('gate-run.js', [img]);
    expect(want.stdout).toBe('kept: passive!\nactive');
    expect(want.stderr).toMatch(/^trap: out of bounds memory access\n/);
    expect(want.status).toBe(134);
    const snap = join(dir, 'segments.snapshot.wasm');
    let s = null;
    for (let after = 40; after < 2000 && !s; after *= 2) {
      const r = node('gate-run.js', [img, '--suspend-after', String(after), '--snapshot', snap]);
      expect(r.status).toBe(3);
      const got = readSnapshot(readFileSync(snap));
      if (got.frames[0].site !== 0) s = got; // suspended in the loop, after the drop
    }
    expect(s).not.toBeNull();
    expect(WebAssembly.validate(readFileSync(snap))).toBe(true);
    // the originals keep their indices: the kept segment as it was, the dropped and the active one empty
    const data = decodeModule(readFileSync(snap)).data;
    const bytes = readFileSync(snap);
    expect(data.slice(0, 3).map((d) => [d.mode, Buffer.from(bytes.subarray(d.start, d.end)).toString()]))
      .toEqual([['passive', 'kept: passive!\n'], ['passive', ''], ['passive', '']]);
    for (const arch of ['x86-64', 'arm64']) {
      const out = join(dir, `segments.${arch}.img`);
      expect(node('wagc.js', [snap, '-o', out, '--arch', arch]).status).toBe(0);
      const r = node('gate-run.js', [out]);
      expect(r.stdout).toBe(want.stdout);
      expect(r.stderr).toMatch(/^trap: out of bounds memory access\n/);
      expect(r.status).toBe(134);
    }
  }, 300000);
});

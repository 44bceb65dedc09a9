/**
 * Issue 6, adversarial programs: each must end with the right trap or a clean exit, and the host
 * must be untouched (the loader exits with a status, never dies of a signal; nothing is left in
 * the working directory). On both arches where it makes sense; the ARM64 loader runs under
 * qemu-aarch64, with smaller sizes where the emulator makes a case slow.
 *
 * - accesses at and across the end of memory for every load and store width, with offset 0 and
 *   the maximal offset 2^32-1 (index + offset up to 2^33-2), before and after memory.grow, up to
 *   a 4 GiB memory; a store that traps across the end writes nothing;
 * - memory.grow to the limit (declared maximum, or 65536 pages) and beyond: -1, no crash;
 * - call_indirect out of the table, into a null entry, with the wrong type;
 * - deep recursion with large frames (32 KiB, and one frame larger than the whole stack): call
 *   stack exhausted, the globals (in the vmctx below the stack) intact, the instance usable after;
 * - an infinite loop (and a read blocked on stdin) stopped by --timeout: exit 124, one line;
 * - gigabytes to stdout through a pipe; one fd_write whose iovecs add up to 5 GiB (nwritten is a
 *   u32); a closed pipe (EPIPE reaches the program; no SIGPIPE) and a closed stdout (EBADF).
 */
import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { compileProgram, type Arch } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { loaderPath } from '@wagc/loader-c';
import { LoaderProcess } from '../../conformance/src/loader';
import { nameHex } from '../../conformance/src/values';
import { wat } from '../e2e/helpers';

const root = join(__dirname, '../..');
const gateRun = join(root, 'packages/cli/bin/gate-run.js');
const HAVE_ARM = existsSync(loaderPath('arm64')) && spawnSync('qemu-aarch64', ['--version']).status === 0;
const ARCHES: Arch[] = HAVE_ARM ? ['x86-64', 'arm64'] : ['x86-64'];
const PAGE = 65536;

const dir = mkdtempSync(join(tmpdir(), 'wagc-adversarial-'));
/** The working directory of every run: it must stay empty (no core, no stray snapshot). */
const cwd = join(dir, 'cwd');
mkdirSync(cwd);
afterAll(() => {
  expect(readdirSync(cwd)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

async function image(name: string, text: string, arch: Arch, wasi = false): Promise<string> {
  const bytes = await wat(text);
  const modules = wasi ? [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }] : [{ name: 'main', bytes }];
  const path = join(dir, `${name}-${arch}.img`);
  writeFileSync(path, compileProgram({ modules, arch }));
  return path;
}

function batch(img: string, arch: Arch): LoaderProcess {
  return new LoaderProcess(loaderPath(arch), img, arch === 'arm64' ? ['qemu-aarch64'] : []);
}

/** `invoke` through the batch protocol: "ok", "ok <16 hex digits>" or "trap <id> <message>". */
async function invoke(p: LoaderProcess, name: string, ...args: bigint[]): Promise<string> {
  const line = `invoke ${nameHex(name)}${args.map((a) => ' ' + BigInt.asUintN(64, a).toString(16)).join('')}`;
  const r = await p.request(line, 60000);
  if (r === null) throw new Error(`loader gone at ${name}(${args.join(', ')}): ${p.stderr}`);
  return r;
}
const OOB = 'trap 5 out of bounds memory access';
const i32 = (v: number): string => `ok ${(BigInt.asUintN(32, BigInt(v))).toString(16).padStart(16, '0')}`;

/** gate-run (the CLI) on an image; qemu for arm64 comes from gate-run itself. */
function gateRunSync(img: string, args: string[], opts: { input?: string; timeout?: number } = {}) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [gateRun, img, ...args], { encoding: 'utf8', cwd, input: opts.input ?? '', timeout: opts.timeout ?? 120000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

/* ---- memory bounds ---------------------------------------------------------------------------- */

const LOADS: [string, string, number][] = [
  ['i32.load', 'i32', 4], ['i64.load', 'i64', 8], ['f32.load', 'f32', 4], ['f64.load', 'f64', 8],
  ['i32.load8_s', 'i32', 1], ['i32.load8_u', 'i32', 1], ['i32.load16_s', 'i32', 2], ['i32.load16_u', 'i32', 2],
  ['i64.load8_s', 'i64', 1], ['i64.load8_u', 'i64', 1], ['i64.load16_s', 'i64', 2], ['i64.load16_u', 'i64', 2],
  ['i64.load32_s', 'i64', 4], ['i64.load32_u', 'i64', 4],
];
const STORES: [string, string, number][] = [
  ['i32.store', '(i32.const 0x5a5a5a5a)', 4], ['i64.store', '(i64.const 0x5a5a5a5a5a5a5a5a)', 8],
  ['f32.store', '(f32.reinterpret_i32 (i32.const 0x5a5a5a5a))', 4], ['f64.store', '(f64.reinterpret_i64 (i64.const 0x5a5a5a5a5a5a5a5a))', 8],
  ['i32.store8', '(i32.const 0x5a)', 1], ['i32.store16', '(i32.const 0x5a5a)', 2],
  ['i64.store8', '(i64.const 0x5a)', 1], ['i64.store16', '(i64.const 0x5a5a)', 2], ['i64.store32', '(i64.const 0x5a5a5a5a)', 4],
];
const MAX_OFFSET = 0xffffffff;

const BOUNDS = `(module
  (memory 1)
  ${LOADS.map(([op, t]) => `
  (func (export "${op}") (param i32) (result ${t}) (${op} (local.get 0)))
  (func (export "${op} max") (param i32) (result ${t}) (${op} offset=${MAX_OFFSET} (local.get 0)))`).join('')}
  ${STORES.map(([op, v]) => `
  (func (export "${op}") (param i32) (${op} (local.get 0) ${v}))
  (func (export "${op} max") (param i32) (${op} offset=${MAX_OFFSET} (local.get 0) ${v}))`).join('')}
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "clear") (param i32) (i64.store (local.get 0) (i64.const 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))`;

/** An address an i32 argument can hold (at 4 GiB of memory, the end itself is not one). */
const isI32 = (a: bigint): boolean => a <= 0xffffffffn;

/** Every width at the end of a memory of `size` bytes; the bytes below the end must not change. */
async function checkEnd(p: LoaderProcess, size: number): Promise<void> {
  const end = BigInt(size);
  for (const [op, , w] of LOADS) {
    const W = BigInt(w);
    expect([op, await invoke(p, op, end - W)]).toEqual([op, expect.stringMatching(/^ok /)]);
    // across the end, at the end, far beyond, and with the maximal offset
    for (const a of [end - W + 1n, end, end + 1n, 0xffffffffn].filter(isI32)) {
      expect([op, a, await invoke(p, op, a)]).toEqual([op, a, a + W <= end ? expect.stringMatching(/^ok /) : OOB]);
    }
    if (w > 1) expect([op, await invoke(p, op, end - 1n)]).toEqual([op, OOB]);
    for (const a of [0n, end, 0xffffffffn].filter(isI32)) {
      // index + offset: 2^32-1 + a, beyond any memory but a 4 GiB one at a = 0 for one byte
      const inBounds = a + BigInt(MAX_OFFSET) + W <= end;
      expect([`${op} max`, a, await invoke(p, `${op} max`, a)]).toEqual([`${op} max`, a, inBounds ? expect.stringMatching(/^ok /) : OOB]);
    }
  }
  for (const [op, , w] of STORES) {
    const W = BigInt(w);
    await invoke(p, 'clear', end - 8n);
    for (const a of [end - W + 1n, end, 0xffffffffn].filter((a) => isI32(a) && a + W > end)) expect([op, a, await invoke(p, op, a)]).toEqual([op, a, OOB]);
    // the store that trapped across the end wrote none of its bytes below it
    for (let b = end - 8n; b < end; b++) expect([op, b, await invoke(p, 'peek', b)]).toEqual([op, b, i32(0)]);
    expect(await invoke(p, op, end - W)).toBe('ok');
    expect(await invoke(p, 'peek', end - 1n)).toBe(i32(0x5a));
    for (const a of [0n, 0xffffffffn]) {
      const inBounds = a + BigInt(MAX_OFFSET) + W <= end;
      expect([`${op} max`, a, await invoke(p, `${op} max`, a)]).toEqual([`${op} max`, a, inBounds ? 'ok' : OOB]);
    }
  }
}

describe.each(ARCHES)('memory bounds (%s)', (arch) => {
  let p: LoaderProcess;
  beforeAll(async () => {
    p = batch(await image('bounds', BOUNDS, arch), arch);
    expect(await p.next(60000)).toBe('ready');
  });
  afterAll(() => p.kill());

  test('every width at and across the end of one page, offset 0 and 2^32-1', async () => {
    await checkEnd(p, PAGE);
  });

  test('after memory.grow the end moves: the old end is in bounds, the new one traps', async () => {
    expect(await invoke(p, 'grow', 1n)).toBe(i32(1));
    expect(await invoke(p, 'i64.load', BigInt(PAGE))).toMatch(/^ok /);
    await checkEnd(p, 2 * PAGE);
  });

  test('memory.grow to 65536 pages (4 GiB), then beyond: -1; the top bytes work, one past traps', async () => {
    const size = Number(BigInt('0x' + (await invoke(p, 'size')).slice(3)));
    expect(size).toBeGreaterThan(0);
    expect(await invoke(p, 'grow', BigInt(65537 - size))).toBe(i32(-1));
    expect(await invoke(p, 'grow', 0xffffffffn)).toBe(i32(-1));
    expect(await invoke(p, 'grow', 0x80000000n)).toBe(i32(-1));
    expect(await invoke(p, 'grow', BigInt(65536 - size))).toBe(i32(size));
    expect(await invoke(p, 'size')).toBe(i32(65536));
    expect(await invoke(p, 'grow', 1n)).toBe(i32(-1));
    expect(await invoke(p, 'grow', 0n)).toBe(i32(65536));
    await checkEnd(p, 65536 * PAGE);
    expect(await invoke(p, 'size')).toBe(i32(65536));
  });
});

describe.each(ARCHES)('memory.grow against a declared maximum (%s)', (arch) => {
  test('to the maximum, then -1 for one more page and for 2^32-1; size unchanged', async () => {
    const p = batch(await image('grow-max', `(module (memory 1 10)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "size") (result i32) (memory.size))
      (func (export "last") (result i32) (i32.store (i32.const ${10 * PAGE - 4}) (i32.const 7)) (i32.load (i32.const ${10 * PAGE - 4}))))`, arch), arch);
    try {
      expect(await p.next(60000)).toBe('ready');
      expect(await invoke(p, 'grow', 10n)).toBe(i32(-1));
      expect(await invoke(p, 'last')).toBe(OOB);
      expect(await invoke(p, 'grow', 9n)).toBe(i32(1));
      expect(await invoke(p, 'last')).toBe(i32(7));
      for (const d of [1n, 2n, 0xffffn, 0x10000n, 0xffffffffn]) expect(await invoke(p, 'grow', d)).toBe(i32(-1));
      expect(await invoke(p, 'size')).toBe(i32(10));
    } finally {
      p.kill();
    }
  });
});

/* ---- tables ----------------------------------------------------------------------------------- */

describe.each(ARCHES)('call_indirect (%s)', (arch) => {
  test('out of range, null, wrong type: the spec traps; in range: the call', async () => {
    const p = batch(await image('table', `(module
      (type $ii (func (param i32) (result i32)))
      (type $v (func (result i32)))
      (table 3 funcref)
      (elem (i32.const 0) $inc $other)
      (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
      (func $other (type $v) (i32.const 9))
      (func (export "call") (param i32) (result i32) (call_indirect (type $ii) (i32.const 41) (local.get 0))))`, arch), arch);
    try {
      expect(await p.next(60000)).toBe('ready');
      expect(await invoke(p, 'call', 0n)).toBe(i32(42));
      expect(await invoke(p, 'call', 1n)).toBe('trap 8 indirect call type mismatch');
      expect(await invoke(p, 'call', 2n)).toBe('trap 7 uninitialized element');
      for (const k of [3n, 4n, 0x10000n, 0x7fffffffn, 0x80000000n, 0xffffffffn]) expect([k, await invoke(p, 'call', k)]).toEqual([k, 'trap 6 undefined element']);
      expect(await invoke(p, 'call', 0n)).toBe(i32(42));
    } finally {
      p.kill();
    }
  });
});

/* ---- the call stack --------------------------------------------------------------------------- */

/** 4096 i64 locals: a 32 KiB frame. `deep` recurses without end, `huge` has a 400 KiB frame. */
const RECURSION = `(module
  (global $canary (mut i64) (i64.const 0x0123456789abcdef))
  (func $deep (export "deep") (param $n i32) (result i64)
    (local ${'i64 '.repeat(4096)})
    (local.set 4096 (i64.extend_i32_u (local.get $n)))
    (i64.add (local.get 4096) (call $deep (i32.add (local.get $n) (i32.const 1)))))
  (func (export "huge") (result i64)
    (local ${'i64 '.repeat(50000 - 1)})
    (local.set 49998 (i64.const 5))
    (local.get 49998))
  (func (export "canary") (result i64) (global.get $canary))
  (func (export "_start") (drop (call $deep (i32.const 0)))))`;

describe.each(ARCHES)('deep recursion with large frames (%s)', (arch) => {
  test('call stack exhausted, the globals intact, the instance usable after', async () => {
    const p = batch(await image('recursion', RECURSION, arch), arch);
    try {
      expect(await p.next(60000)).toBe('ready');
      expect(await invoke(p, 'deep', 0n)).toBe('trap 9 call stack exhausted');
      expect(await invoke(p, 'canary')).toBe('ok 0123456789abcdef');
      expect(await invoke(p, 'deep', 0n)).toBe('trap 9 call stack exhausted');
      // a 400 KiB frame fits the default 8 MiB stack
      expect(await invoke(p, 'huge')).toBe('ok 0000000000000005');
      expect(await invoke(p, 'canary')).toBe('ok 0123456789abcdef');
    } finally {
      p.kill();
    }
  });

  test('through gate-run: exit 134, the trap and an elided stack trace; a frame larger than the whole stack traps at entry', async () => {
    const img = await image('recursion-run', RECURSION, arch);
    const r = gateRunSync(img, []);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(134);
    expect(r.stderr).toMatch(/^trap: call stack exhausted\n {2}at deep \(wasm offset 0x[0-9a-f]+\)\n/);
    expect(r.stderr).toMatch(/\n {2}\.\.\. \d+ frames \.\.\.\n/);
    const small = gateRunSync(img, ['--stack-size', '65536', '--invoke', 'huge']);
    expect(small.status).toBe(134);
    expect(small.stderr).toMatch(/^trap: call stack exhausted\n/);
  });
});

/* ---- --timeout -------------------------------------------------------------------------------- */

const LOOP = '(module (func (export "_start") (loop $forever (br $forever))))';

describe.each(ARCHES)('--timeout (%s)', (arch) => {
  test('an infinite loop without calls is stopped: one line, exit 124, on time', async () => {
    const img = await image('loop', LOOP, arch);
    const r = gateRunSync(img, ['--timeout', '1.5']);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('gate-run: timeout: the program was stopped after 1.5 s (--timeout)\n');
    expect(r.status).toBe(124);
    expect(r.ms).toBeGreaterThanOrEqual(1500);
    // gate-run's own start (node, and qemu for arm64) on a loaded machine: generous, but bounded
    expect(r.ms).toBeLessThan(1500 + 15000);
  });
});

describe('--timeout (x86-64): the other ways a run ends', () => {
  test('a program blocked reading stdin is stopped too; with --snapshot no snapshot is written', () => {
    return new Promise<void>((resolve, reject) => {
      void image('reader', `(module
        (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
        (memory 1)
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 16))
          (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))))`, 'x86-64', true).then((img) => {
        // stdin stays open: the read never returns
        const child = spawn(process.execPath, [gateRun, img, '--timeout', '0.5', '--snapshot', join(cwd, 's.wasm')], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d) => (err += d));
        child.on('exit', (status) => {
          child.stdin.end();
          try {
            expect(status).toBe(124);
            expect(err).toBe('gate-run: timeout: the program was stopped after 0.5 s (--timeout)\n');
            expect(existsSync(join(cwd, 's.wasm'))).toBe(false);
            resolve();
          } catch (e) {
            reject(e);
          }
        });
      }, reject);
    });
  });

  test('a program that ends first is not touched; bad values are usage errors', async () => {
    const img = await image('quick', '(module (func (export "_start")))', 'x86-64');
    const r = gateRunSync(img, ['--timeout', '30']);
    expect([r.status, r.stderr]).toEqual([0, '']);
    for (const bad of ['0', '-1', 'abc', '1e3x']) {
      const u = gateRunSync(img, ['--timeout', bad]);
      expect([bad, u.status]).toEqual([bad, 2]);
      expect(u.stderr).toMatch(/--timeout/);
    }
    const direct = spawnSync(loaderPath('x86-64'), [img, '--timeout', 'soon'], { encoding: 'utf8' });
    expect(direct.status).toBe(2);
    expect(direct.stderr).toBe('gate-run: error: --timeout: a positive number of seconds, not "soon" (see gate-run --help)\n');
  });
});

/* ---- lots of output --------------------------------------------------------------------------- */

/**
 * Writes a 1 MiB buffer `n` times with fd_write. With `check`, an error ends the program with the
 * WASI errno as its exit status; without, errors are ignored (as printf does) and it exits 0.
 */
const writer = (n: number, check: boolean): string => `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory 17)
  (func (export "_start") (local $i i32) (local $e i32)
    (loop $fill
      (i64.store offset=65536 (local.get $i) (i64.const 0x0a79786576616c67))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 1048576))))
    (i32.store (i32.const 0) (i32.const 65536))
    (local.set $i (i32.const ${n}))
    (loop $write
      (i32.store (i32.const 4) (i32.const 1048576))
      (local.set $e (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      ${check ? '(if (local.get $e) (then (call $proc_exit (local.get $e))))' : ''}
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $write (local.get $i)))))`;

/** Runs the loader (qemu for arm64) with stdout into `wc -c`; its status and the count. */
function throughWc(img: string, arch: Arch): { status: string; bytes: number } {
  const loader = arch === 'arm64' ? `qemu-aarch64 ${loaderPath('arm64')} --emulated` : loaderPath('x86-64');
  const r = spawnSync('bash', ['-c', `${loader} "$1" | wc -c; echo "\${PIPESTATUS[0]}"`, 'x', img], { encoding: 'utf8', cwd, timeout: 300000 });
  const [bytes, status] = r.stdout.trim().split('\n');
  return { status, bytes: Number(bytes) };
}

describe.each(ARCHES)('gigabytes to stdout (%s)', (arch) => {
  // 3 GiB natively (past 2^31 bytes); 256 MiB under qemu
  const n = arch === 'x86-64' ? 3072 : 256;
  test(`${n} MiB through a pipe to a reader that discards: every byte, exit 0`, async () => {
    const r = throughWc(await image(`writer-${n}`, writer(n, true), arch, true), arch);
    expect(r).toEqual({ status: '0', bytes: n * 1048576 });
  });

  test('into a closed pipe: EPIPE reaches the program (it exits with WASI errno 64); ignoring it, the program finishes with 0', async () => {
    for (const [check, want] of [[true, '64'], [false, '0']] as const) {
      const img = await image(`writer-closed-${check}`, writer(arch === 'x86-64' ? 2048 : 64, check), arch, true);
      const loader = arch === 'arm64' ? `qemu-aarch64 ${loaderPath('arm64')} --emulated` : loaderPath('x86-64');
      // the reader (:) is gone before the loader starts
      const r = spawnSync('bash', ['-c', `{ sleep 0.3; ${loader} "$1"; } | :; echo "\${PIPESTATUS[0]}"`, 'x', img], { encoding: 'utf8', cwd, timeout: 120000 });
      expect([check, r.stdout.trim(), r.stderr]).toEqual([check, want, '']);
    }
  });
});

describe('output edge cases (x86-64)', () => {
  test('a closed stdout: EBADF (WASI errno 8) for the program, no crash', async () => {
    const img = await image('writer-ebadf', writer(4, true), 'x86-64', true);
    const r = spawnSync('bash', ['-c', `"$1" "$2" >&-; echo "$?"`, 'x', loaderPath('x86-64'), img], { encoding: 'utf8', cwd });
    expect([r.stdout.trim(), r.stderr]).toEqual(['8', '']);
  });

  test('through the gate-run CLI into a closed pipe: the program\'s status, no "killed by SIGPIPE"', async () => {
    const img = await image('writer-cli', writer(64, true), 'x86-64', true);
    const r = spawnSync('bash', ['-c', `{ sleep 0.5; "$1" "$2" "$3"; } | :; echo "\${PIPESTATUS[0]}"`, 'x', process.execPath, gateRun, img], { encoding: 'utf8', cwd });
    expect([r.stdout.trim(), r.stderr]).toEqual(['64', '']);
  });

  test('one fd_write of five 1 GiB iovecs: nwritten (a u32) stops below 2^31, never wraps, and is what the reader got', async () => {
    // nwritten is the exit status's source: its top byte (0x7f for 0x7ffff000, Linux's largest
    // single write; 0x40 if 5 GiB had wrapped to 1 GiB)
    const img = await image('iovecs', `(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
      (memory 16385)
      (func (export "_start") (local $k i32)
        (loop $iov
          (i32.store (i32.mul (local.get $k) (i32.const 8)) (i32.const 65536))
          (i32.store offset=4 (i32.mul (local.get $k) (i32.const 8)) (i32.const 0x40000000))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $iov (i32.lt_u (local.get $k) (i32.const 5))))
        (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 5) (i32.const 100)) (then (call $proc_exit (i32.const 1))))
        (call $proc_exit (i32.shr_u (i32.load (i32.const 100)) (i32.const 24)))))`, 'x86-64', true);
    const r = throughWc(img, 'x86-64');
    // the library's cap; the kernel may write less in one call (a 64 KiB-page kernel: 0x7fff0000)
    expect(r.bytes).toBeLessThanOrEqual(0x7ffff000);
    expect(r.bytes).toBeGreaterThan(0x7f000000);
    expect(r.status).toBe(String(Math.floor(r.bytes / 2 ** 24)));
  });
});

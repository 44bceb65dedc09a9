/**
 * Issue 6: the WASI preview1 runtime library (packages/abi/wasi.wat) end to end through the
 * x86-64 loader: args and environment exactly as given (and nothing of the host's), clocks,
 * random bytes, poll_oneoff (clock timeouts, fd readiness), fd status, ENOSYS for the rest,
 * bad pointers trapping in the library, unknown imports refused at compile time, suspension
 * during a sleep; compared with node:wasi where the two should agree.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { basename, join } from 'path';
import { compileProgram, LinkError } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { loaderPath } from '@wagc/loader-c';
import { wat } from './helpers';

const root = join(__dirname, '../..');
const gateRun = join(root, 'packages/cli/bin/gate-run.js');
const dir = mkdtempSync(join(tmpdir(), 'wagc-wasi-'));
let counter = 0;

interface Run { status: number | null; stdout: string; stderr: string; ms: number }

/** Compiles a WASI program and writes its .wasm and .img; returns their paths. */
function build(bytes: Uint8Array): { wasm: string; img: string } {
  const base = join(dir, `p${counter++}`);
  writeFileSync(`${base}.wasm`, bytes);
  writeFileSync(`${base}.img`, compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }], arch: 'x86-64' }));
  return { wasm: `${base}.wasm`, img: `${base}.img` };
}

/** Runs an image under the loader: `loader IMG [--env K=V]... -- ARGS` with a host environment of its own. */
function runImage(img: string, opts: { args?: string[]; env?: string[]; input?: string; hostEnv?: Record<string, string>; loaderArgs?: string[] } = {}): Run {
  const envArgs = (opts.env ?? []).flatMap((kv) => ['--env', kv]);
  const t0 = Date.now();
  const r = spawnSync(loaderPath('x86-64'), [img, ...(opts.loaderArgs ?? []), ...envArgs, '--', ...(opts.args ?? [])], {
    encoding: 'utf8', timeout: 30000, input: opts.input ?? '', env: opts.hostEnv ?? { ...process.env, GATE_TEST_LEAK: 'must-not-be-seen' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

/** The same .wasm under node:wasi, with argv[0] = `argv0` and exactly the given environment. */
function runNode(wasm: string, argv0: string, opts: { args?: string[]; env?: string[]; input?: string } = {}): Run {
  const env = Object.fromEntries((opts.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const script = `
    const { WASI } = require('node:wasi');
    const [wasm, args, env] = JSON.parse(process.argv[1]);
    const wasi = new WASI({ version: 'preview1', args, env, returnOnExit: true });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(require('fs').readFileSync(wasm)), { wasi_snapshot_preview1: wasi.wasiImport });
    process.exitCode = wasi.start(inst);`;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--no-turbo-fast-api-calls', '--no-warnings', '-e', script, JSON.stringify([wasm, [argv0, ...(opts.args ?? [])], env])], {
    encoding: 'utf8', timeout: 30000, input: opts.input ?? '',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

const W = '"wasi_snapshot_preview1"';
/** Imports and printing helpers shared by the programs (memory 0..1023 is theirs for scratch). */
const prelude = `
  (import ${W} "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import ${W} "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import ${W} "fd_close" (func $fd_close (param i32) (result i32)))
  (import ${W} "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import ${W} "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import ${W} "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import ${W} "proc_exit" (func $proc_exit (param i32)))
  (import ${W} "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import ${W} "args_get" (func $args_get (param i32 i32) (result i32)))
  (import ${W} "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import ${W} "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import ${W} "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import ${W} "clock_res_get" (func $clock_res_get (param i32 i32) (result i32)))
  (import ${W} "random_get" (func $random_get (param i32 i32) (result i32)))
  (import ${W} "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import ${W} "sched_yield" (func $sched_yield (result i32)))
  (import ${W} "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import ${W} "sock_accept" (func $sock_accept (param i32 i32 i32) (result i32)))
  (import ${W} "fd_tell" (func $fd_tell (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; writes [p, p+n) to stdout
  (func $write (param $p i32) (param $n i32)
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (local.get $n))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $nl (i32.store8 (i32.const 12) (i32.const 10)) (call $write (i32.const 12) (i32.const 1)))
  (func $sp (i32.store8 (i32.const 12) (i32.const 32)) (call $write (i32.const 12) (i32.const 1)))
  ;; a NUL-terminated string
  (func $puts (param $p i32) (local $n i32)
    (block $e (loop $l
      (br_if $e (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $l)))
    (call $write (local.get $p) (local.get $n)))
  ;; an unsigned decimal
  (func $u64 (param $v i64) (local $at i32)
    (local.set $at (i32.const 64))
    (loop $l
      (local.set $at (i32.sub (local.get $at) (i32.const 1)))
      (i32.store8 (local.get $at) (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $l (i64.ne (local.get $v) (i64.const 0))))
    (call $write (local.get $at) (i32.sub (i32.const 64) (local.get $at))))
  (func $num (param $v i32) (call $u64 (i64.extend_i32_u (local.get $v))))
  ;; two hex digits per byte of [p, p+n)
  (func $hex (param $p i32) (param $n i32) (local $k i32) (local $b i32)
    (block $e (loop $l
      (br_if $e (i32.ge_u (local.get $k) (local.get $n)))
      (local.set $b (i32.load8_u (i32.add (local.get $p) (local.get $k))))
      (i32.store8 (i32.const 80) (i32.load8_u offset=96 (i32.shr_u (local.get $b) (i32.const 4))))
      (i32.store8 (i32.const 81) (i32.load8_u offset=96 (i32.and (local.get $b) (i32.const 15))))
      (call $write (i32.const 80) (i32.const 2))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $l))))
  (data (i32.const 96) "0123456789abcdef")
  ;; a clock subscription at $at: userdata, clock id, timeout, flags
  (func $clock_sub (param $at i32) (param $user i64) (param $id i32) (param $timeout i64) (param $flags i32)
    (memory.fill (local.get $at) (i32.const 0) (i32.const 48))
    (i64.store (local.get $at) (local.get $user))
    (i32.store offset=16 (local.get $at) (local.get $id))
    (i64.store offset=24 (local.get $at) (local.get $timeout))
    (i32.store16 offset=40 (local.get $at) (local.get $flags)))
  (func $fd_sub (param $at i32) (param $user i64) (param $tag i32) (param $fd i32)
    (memory.fill (local.get $at) (i32.const 0) (i32.const 48))
    (i64.store (local.get $at) (local.get $user))
    (i32.store8 offset=8 (local.get $at) (local.get $tag))
    (i32.store offset=16 (local.get $at) (local.get $fd)))
  ;; prints poll_oneoff's events at $out: "userdata:error:type:flags" each
  (func $events (param $out i32) (param $n i32) (local $k i32) (local $e i32)
    (call $num (local.get $n)) (call $nl)
    (block $x (loop $l
      (br_if $x (i32.ge_u (local.get $k) (local.get $n)))
      (local.set $e (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 5))))
      (call $u64 (i64.load (local.get $e))) (call $sp)
      (call $num (i32.load16_u offset=8 (local.get $e))) (call $sp)
      (call $num (i32.load8_u offset=10 (local.get $e))) (call $sp)
      (call $num (i32.load16_u offset=24 (local.get $e))) (call $nl)
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $l))))
`;

async function program(body: string): Promise<{ wasm: string; img: string }> {
  return build(await wat(`(module ${prelude} ${body})`));
}

/** Prints argc, argv-buffer size and each argument on its line, then the same for the environment. */
const printVectors = `
  (func $vec (param $sizes i32) (param $n i32) (param $bytes i32) (local $k i32)
    (call $num (local.get $n)) (call $sp) (call $num (local.get $bytes)) (call $nl)
    (block $e (loop $l
      (br_if $e (i32.ge_u (local.get $k) (local.get $n)))
      (call $puts (i32.load (i32.add (i32.const 4096) (i32.shl (local.get $k) (i32.const 2)))))
      (call $nl)
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $l))))
  (func (export "_start")
    (if (call $args_sizes_get (i32.const 200) (i32.const 204)) (then (unreachable)))
    (if (call $args_get (i32.const 4096) (i32.const 8192)) (then (unreachable)))
    (call $vec (i32.const 0) (i32.load (i32.const 200)) (i32.load (i32.const 204)))
    (if (call $environ_sizes_get (i32.const 200) (i32.const 204)) (then (unreachable)))
    (if (call $environ_get (i32.const 4096) (i32.const 8192)) (then (unreachable)))
    (call $vec (i32.const 0) (i32.load (i32.const 200)) (i32.load (i32.const 204))))`;

describe('WASI runtime library (x86-64)', () => {
  test('args and environment: exactly what gate-run was given, as node:wasi sees them', async () => {
    const p = await program(printVectors);
    const args = ['one', 'two words', '', 'ünïcødé', '--env', 'X=1'];
    const env = ['A=1', 'B=x=y', 'EMPTY=', 'PATH=/nowhere'];
    const r = runImage(p.img, { args, env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const bytes = (v: string[]): number => v.reduce((s, a) => s + Buffer.byteLength(a) + 1, 0);
    const argv = [p.img, ...args];
    expect(r.stdout).toBe([`${argv.length} ${bytes(argv)}`, ...argv, `${env.length} ${bytes(env)}`, ...env, ''].join('\n'));
    const n = runNode(p.wasm, p.img, { args, env });
    expect(n.stdout).toBe(r.stdout);
  });

  test('no host environment leaks by default', async () => {
    const p = await program(printVectors);
    const r = runImage(p.img, { hostEnv: { GATE_TEST_LEAK: 'secret', HOME: '/root', PATH: '/usr/bin' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`1 ${Buffer.byteLength(p.img) + 1}\n${p.img}\n0 0\n`);
    expect(r.stdout).not.toContain('secret');
  });

  test('gate-run passes --env (repeatable) and the arguments after -- to the program', async () => {
    const p = await program(printVectors);
    const r = spawnSync(process.execPath, [join(root, 'packages/cli/bin/gate-run.js'), p.img, '--env', 'K=V', '--env', 'L=a b', '--', 'x', '--env', 'y'], {
      encoding: 'utf8', env: { ...process.env, GATE_TEST_LEAK: 'secret' },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`4 ${Buffer.byteLength(p.img) + 1 + 2 + 6 + 2}\n${p.img}\nx\n--env\ny\n2 10\nK=V\nL=a b\n`);
    // --env K is gate-run's own K (wasmtime's meaning); a name that is missing adds nothing
    const own = spawnSync(process.execPath, [join(root, 'packages/cli/bin/gate-run.js'), p.img, '--env', 'GATE_TEST_OWN', '--env', 'GATE_TEST_ABSENT'], {
      encoding: 'utf8', env: { ...process.env, GATE_TEST_OWN: 'mine' },
    });
    expect(own.stdout).toBe(`1 ${Buffer.byteLength(p.img) + 1}\n${p.img}\n1 19\nGATE_TEST_OWN=mine\n`);
    const bad = spawnSync(process.execPath, [join(root, 'packages/cli/bin/gate-run.js'), p.img, '--env', '=V'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--env');
  });

  test('clocks: monotonic increases across a poll_oneoff sleep of about its length; realtime is now; resolutions', async () => {
    const p = await program(`
      (func (export "_start") (local $t0 i64) (local $t1 i64)
        (if (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 200)) (then (unreachable)))
        (local.set $t0 (i64.load (i32.const 200)))
        ;; a relative 300 ms sleep on the monotonic clock
        (call $clock_sub (i32.const 1024) (i64.const 77) (i32.const 1) (i64.const 300000000) (i32.const 0))
        (if (call $poll_oneoff (i32.const 1024) (i32.const 2048) (i32.const 1) (i32.const 208)) (then (unreachable)))
        (if (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 200)) (then (unreachable)))
        (local.set $t1 (i64.load (i32.const 200)))
        (call $u64 (i64.div_u (i64.sub (local.get $t1) (local.get $t0)) (i64.const 1000000))) (call $nl)
        (call $events (i32.const 2048) (i32.load (i32.const 208)))
        (if (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 200)) (then (unreachable)))
        (call $u64 (i64.div_u (i64.load (i32.const 200)) (i64.const 1000000))) (call $nl)
        (if (call $clock_res_get (i32.const 0) (i32.const 200)) (then (unreachable)))
        (call $u64 (i64.load (i32.const 200))) (call $nl)
        (if (call $clock_res_get (i32.const 1) (i32.const 200)) (then (unreachable)))
        (call $u64 (i64.load (i32.const 200))) (call $nl)
        ;; process CPU time is a clock too; 4 is no clock
        (call $num (call $clock_time_get (i32.const 2) (i64.const 1) (i32.const 200))) (call $nl)
        (call $num (call $clock_time_get (i32.const 4) (i64.const 1) (i32.const 200))) (call $nl)
        (call $num (call $clock_res_get (i32.const 9) (i32.const 200))) (call $nl))`);
    const r = runImage(p.img);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    const slept = Number(lines[0]);
    expect(slept).toBeGreaterThanOrEqual(300);
    expect(slept).toBeLessThan(3000);
    expect(lines.slice(1, 3)).toEqual(['1', '77 0 0 0']);
    expect(Math.abs(Number(lines[3]) - Date.now())).toBeLessThan(10000);
    for (const res of [lines[4], lines[5]]) {
      expect(Number(res)).toBeGreaterThan(0);
      expect(Number(res)).toBeLessThanOrEqual(1000000);
    }
    expect(lines.slice(6)).toEqual(['0', '28', '28']);
    // node:wasi: the same shape (its resolutions and times differ)
    const n = runNode(p.wasm, p.img).stdout.trim().split('\n');
    expect(n.slice(1, 3)).toEqual(lines.slice(1, 3));
    expect(n.slice(6)).toEqual(lines.slice(6));
  });

  test('random_get: bytes differ between calls and runs; large requests fill everything', async () => {
    const p = await program(`
      (func (export "_start") (local $k i32) (local $zeros i32)
        (if (call $random_get (i32.const 1024) (i32.const 32)) (then (unreachable)))
        (if (call $random_get (i32.const 1056) (i32.const 32)) (then (unreachable)))
        (call $hex (i32.const 1024) (i32.const 32)) (call $nl)
        (call $hex (i32.const 1056) (i32.const 32)) (call $nl)
        ;; 64 KiB: count zero bytes (about 256 expected)
        (if (call $random_get (i32.const 65536) (i32.const 65536)) (then (unreachable)))
        (loop $l
          (local.set $zeros (i32.add (local.get $zeros) (i32.eqz (i32.load8_u offset=65536 (local.get $k)))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $k) (i32.const 65536))))
        (call $num (local.get $zeros)) (call $nl)
        ;; zero bytes is fine
        (call $num (call $random_get (i32.const 131072) (i32.const 0))) (call $nl))`);
    const a = runImage(p.img).stdout.split('\n');
    const b = runImage(p.img).stdout.split('\n');
    expect(a[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(a[0]).not.toBe(a[1]);
    expect(a[0]).not.toBe(b[0]);
    expect(Number(a[2])).toBeGreaterThan(100);
    expect(Number(a[2])).toBeLessThan(500);
    expect(a[3]).toBe('0');
  });

  test('poll_oneoff: fd readiness before a clock, absolute deadlines, bad fds, two clocks', async () => {
    const p = await program(`
      (func (export "_start") (local $now i64)
        ;; stdin has data: readable at once although the clock says 5 s
        (call $fd_sub (i32.const 1024) (i64.const 1) (i32.const 1) (i32.const 0))
        (call $clock_sub (i32.const 1072) (i64.const 2) (i32.const 1) (i64.const 5000000000) (i32.const 0))
        (call $num (call $poll_oneoff (i32.const 1024) (i32.const 2048) (i32.const 2) (i32.const 208))) (call $nl)
        (call $events (i32.const 2048) (i32.load (i32.const 208)))
        ;; stdout is writable
        (call $fd_sub (i32.const 1024) (i64.const 3) (i32.const 2) (i32.const 1))
        (call $num (call $poll_oneoff (i32.const 1024) (i32.const 2048) (i32.const 1) (i32.const 208))) (call $nl)
        (call $events (i32.const 2048) (i32.load (i32.const 208)))
        ;; a bad fd is an EBADF event (and nothing waits)
        (call $fd_sub (i32.const 1024) (i64.const 4) (i32.const 1) (i32.const 9))
        (call $clock_sub (i32.const 1072) (i64.const 5) (i32.const 1) (i64.const 5000000000) (i32.const 0))
        (call $num (call $poll_oneoff (i32.const 1024) (i32.const 2048) (i32.const 2) (i32.const 208))) (call $nl)
        (call $events (i32.const 2048) (i32.load (i32.const 208)))
        ;; an absolute realtime deadline 200 ms ahead, and a relative 3 s one: only the first fires
        (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 200)))
        (call $clock_sub (i32.const 1024) (i64.const 6) (i32.const 0) (i64.add (i64.load (i32.const 200)) (i64.const 200000000)) (i32.const 1))
        (call $clock_sub (i32.const 1072) (i64.const 7) (i32.const 1) (i64.const 3000000000) (i32.const 0))
        (call $num (call $poll_oneoff (i32.const 1024) (i32.const 2048) (i32.const 2) (i32.const 208))) (call $nl)
        (call $events (i32.const 2048) (i32.load (i32.const 208)))
        ;; no subscriptions: EINVAL
        (call $num (call $poll_oneoff (i32.const 1024) (i32.const 2048) (i32.const 0) (i32.const 208))) (call $nl))`);
    const r = runImage(p.img, { input: 'data' });
    expect(r.stderr).toBe('');
    // the test's stdin is a socket its writer closes after the data: hung up or not yet
    const lines = r.stdout.split('\n');
    expect(lines[2]).toMatch(/^1 0 1 [01]$/);
    lines[2] = '1 0 1 x';
    expect(lines).toEqual(['0', '1', '1 0 1 x', '0', '1', '3 0 2 0', '0', '1', '4 8 1 0', '0', '1', '6 0 0 0', '28', '']);
    expect(r.ms).toBeGreaterThanOrEqual(190);
    expect(r.ms).toBeLessThan(2500);
    // node:wasi agrees where it is defined the same way (it reports a bad fd as the call's error)
    const n = runNode(p.wasm, p.img, { input: 'data' });
    const first = (s: string): string => s.split('\n').slice(0, 6).join('\n').replace(/^1 0 1 [01]$/m, '1 0 1 x');
    expect(first(n.stdout)).toBe(first(r.stdout));
  });

  test('poll_oneoff: end of input is readable with the hangup flag', async () => {
    const p = await program(`
      (func (export "_start")
        (call $fd_sub (i32.const 1024) (i64.const 9) (i32.const 1) (i32.const 0))
        (call $num (call $poll_oneoff (i32.const 1024) (i32.const 2048) (i32.const 1) (i32.const 208))) (call $nl)
        (call $events (i32.const 2048) (i32.load (i32.const 208))))`);
    // a pipe whose writer is gone (spawnSync's stdin is a socket, which never hangs up)
    const r = spawnSync('sh', ['-c', 'true | "$0" "$1"', loaderPath('x86-64'), p.img], { encoding: 'utf8' });
    expect(r.stdout).toBe('0\n1\n9 0 1 1\n');
  });

  test('fds: fdstat of stdio, ESPIPE, no preopens, fd_close then EBADF, ENOSYS for the rest', async () => {
    const p = await program(`
      (func $stat (param $fd i32)
        (i64.store (i32.const 256) (i64.const 0))
        (call $num (call $fd_fdstat_get (local.get $fd) (i32.const 256))) (call $sp)
        (call $num (i32.load8_u (i32.const 256))) (call $sp)
        (call $num (i32.load16_u (i32.const 258))) (call $nl))
      (func (export "_start")
        (call $stat (i32.const 0)) (call $stat (i32.const 1)) (call $stat (i32.const 2)) (call $stat (i32.const 3))
        (call $num (call $fd_seek (i32.const 1) (i64.const 0) (i32.const 1) (i32.const 256))) (call $nl)
        (call $num (call $fd_seek (i32.const 7) (i64.const 0) (i32.const 1) (i32.const 256))) (call $nl)
        (call $num (call $fd_prestat_get (i32.const 3) (i32.const 256))) (call $nl)
        (call $num (call $path_open (i32.const 3) (i32.const 0) (i32.const 300) (i32.const 1) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 256))) (call $nl)
        (call $num (call $sock_accept (i32.const 0) (i32.const 0) (i32.const 256))) (call $nl)
        (call $num (call $fd_tell (i32.const 1) (i32.const 256))) (call $nl)
        (call $num (call $sched_yield)) (call $nl)
        (call $num (call $fd_close (i32.const 0))) (call $nl)
        (call $num (call $fd_close (i32.const 0))) (call $nl)
        (call $num (call $fd_fdstat_get (i32.const 0) (i32.const 256))) (call $nl)
        (call $num (call $fd_read (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 256))) (call $nl)
        (call $num (call $fd_close (i32.const 1)))
        (i32.store (i32.const 0) (i32.const 96))
        (i32.store (i32.const 4) (i32.const 1))
        ;; stdout is gone: the status says what fd_write answered
        (call $proc_exit (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))`);
    const r = runImage(p.img);
    // pipes are stream sockets to node:wasi (libuv) and to this runtime
    // path_open on fd 3 without --dir: EBADF (no preopen there); fd_tell of stdout: ESPIPE
    expect(r.stdout).toBe(['0 6 0', '0 6 0', '0 6 0', '8 0 0', '70', '8', '8', '8', '52', '70', '0', '0', '8', '8', '8', ''].join('\n'));
    expect(r.status).toBe(8);
    const n = runNode(p.wasm, p.img);
    // node:wasi: the same results and filetypes (its fdflags of a socket and its fd_seek
    // answer, ENOTCAPABLE for lack of the right, differ)
    const typeOf = (out: string): string[] => out.split('\n').slice(0, 4).map((l) => l.split(' ').slice(0, 2).join(' '));
    expect(typeOf(n.stdout)).toEqual(typeOf(r.stdout));
  });

  const traps: [string, string][] = [
    ['fd_write iovec array past the end', '(drop (call $fd_write (i32.const 1) (i32.const 131068) (i32.const 1) (i32.const 8)))'],
    ['fd_write buffer past the end', '(i32.store (i32.const 16) (i32.const 131000)) (i32.store (i32.const 20) (i32.const 100)) (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))'],
    ['fd_write buffer wrapping past 4 GiB', '(i32.store (i32.const 16) (i32.const -16)) (i32.store (i32.const 20) (i32.const 32)) (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))'],
    ['fd_write iovec count past 4 GiB', '(drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 0x20000001) (i32.const 8)))'],
    ['fd_read result pointer', '(drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 0) (i32.const 131070)))'],
    ['args_get argv array', '(drop (call $args_get (i32.const 131070) (i32.const 1024)))'],
    ['args_get buffer', '(drop (call $args_get (i32.const 1024) (i32.const 131071)))'],
    ['environ_sizes_get', '(drop (call $environ_sizes_get (i32.const 0) (i32.const -4)))'],
    ['clock_time_get', '(drop (call $clock_time_get (i32.const 1) (i64.const 0) (i32.const 131065)))'],
    ['random_get', '(drop (call $random_get (i32.const 131000) (i32.const 1000)))'],
    ['random_get wrapping', '(drop (call $random_get (i32.const -16) (i32.const 32)))'],
    ['poll_oneoff subscriptions', '(drop (call $poll_oneoff (i32.const 131000) (i32.const 1024) (i32.const 2) (i32.const 16)))'],
    ['poll_oneoff events', '(drop (call $poll_oneoff (i32.const 1024) (i32.const 131050) (i32.const 1) (i32.const 16)))'],
    ['fd_fdstat_get', '(drop (call $fd_fdstat_get (i32.const 1) (i32.const 131060)))'],
  ];
  test.each(traps)('a bad pointer traps in the library, before the host: %s', async (_name, call) => {
    // stdout first gets "A" through a good write; a bad call must add nothing to it
    const p = await program(`
      (data (i32.const 300) "A")
      (func $bad ${call})
      (func (export "_start")
        (call $write (i32.const 300) (i32.const 1))
        (call $bad)
        (call $write (i32.const 300) (i32.const 1)))`);
    const r = runImage(p.img, { env: ['A=1'], args: ['x'] });
    expect(r.stdout).toBe('A');
    expect(r.status).toBe(134);
    expect(r.stderr).toContain('trap: out of bounds memory access');
    expect(r.stderr).toContain('at bad (');
    expect(r.stderr).toContain('at wasi_snapshot_preview1.');
  });

  test('an import the library does not provide is a compile error naming it', async () => {
    const link = async (imports: string): Promise<string> => {
      const bytes = await wat(`(module ${imports} (memory (export "memory") 1) (func (export "_start")))`);
      try {
        compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }], arch: 'x86-64' });
      } catch (e) {
        expect(e).toBeInstanceOf(LinkError);
        return (e as Error).message;
      }
      throw new Error('linked');
    };
    expect(await link('(import "env" "frob" (func (param i32)))')).toBe('unknown import env.frob (func (param i32)): no module "env" is linked (linked: "wasi_snapshot_preview1")');
    expect(await link(`(import ${W} "fd_frobnicate" (func (result i32)))`)).toBe('unknown import wasi_snapshot_preview1.fd_frobnicate (func (result i32)): module "wasi_snapshot_preview1" has no export "fd_frobnicate"');
    expect(await link(`(import ${W} "fd_write" (func (param i32) (result i32)))`)).toBe(
      'incompatible import type for wasi_snapshot_preview1.fd_write: imported as func (param i32) (result i32), provided as func (param i32 i32 i32 i32) (result i32)');
    // and the CLI says so in one line
    const bytes = await wat('(module (import "env" "frob" (func)) (func (export "_start")))');
    const input = join(dir, 'unknown.wasm');
    writeFileSync(input, bytes);
    const r = spawnSync(process.execPath, [join(root, 'packages/cli/bin/wagc.js'), input, '-o', join(dir, 'unknown.img')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('unknown import env.frob');
  });

  test('every preview1 function links with its exact signature (node:wasi\'s list)', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { WASI } = require('node:wasi');
    const names = Object.keys(new WASI({ version: 'preview1' }).wasiImport).sort();
    const exported = WebAssembly.Module.exports(new WebAssembly.Module(new Uint8Array(wasiModule()))).map((e) => e.name).sort();
    expect(exported).toEqual(names);
  });

  test('a suspend request during a poll_oneoff sleep suspends at once; the resumed program sleeps again and finishes', async () => {
    const p = await program(`
      (data (i32.const 300) "before\\nafter\\n")
      (func (export "_start")
        (call $write (i32.const 300) (i32.const 7))
        (call $clock_sub (i32.const 1024) (i64.const 1) (i32.const 1) (i64.const 4000000000) (i32.const 0))
        (drop (call $poll_oneoff (i32.const 1024) (i32.const 2048) (i32.const 1) (i32.const 208)))
        (call $write (i32.const 307) (i32.const 6)))`);
    const snap = join(dir, 'sleep.snapshot.wasm');
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [gateRun, p.img, '--suspend-after', '200', '--snapshot', snap], { encoding: 'utf8' });
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('before\n');
    // far less than the 4 s sleep, even with node's start-up on a loaded machine
    expect(Date.now() - t0).toBeLessThan(3500);
    const resumed = join(dir, 'sleep.resumed.img');
    const c = spawnSync(process.execPath, [join(root, 'packages/cli/bin/wagc.js'), snap, '-o', resumed], { encoding: 'utf8' });
    expect(c.stderr).toBe('');
    const t1 = Date.now();
    const s = spawnSync(process.execPath, [gateRun, resumed], { encoding: 'utf8' });
    expect(s.stdout).toBe('after\n');
    expect(s.status).toBe(0);
    // a relative timeout restarts at its full length
    expect(Date.now() - t1).toBeGreaterThanOrEqual(4000);
  });

  test('a suspend request during the start function waits for it to return, so the resumed program still runs _start', async () => {
    // a snapshot records the stack being resumed and no call still to come: suspended inside the
    // start function, the resumed program would return from it and never run _start
    const p = await program(`
      (data (i32.const 300) "start done\\n_start ran\\n")
      (func $init (local $i i32)
        (loop $l
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 1500000000))))
        (call $write (i32.const 300) (i32.const 11)))
      (start $init)
      (func (export "_start") (call $write (i32.const 311) (i32.const 11)))`);
    const snap = join(dir, 'start.snapshot.wasm');
    const r = spawnSync(process.execPath, [gateRun, p.img, '--suspend-after', '100', '--snapshot', snap], { encoding: 'utf8' });
    expect(r.stderr).toContain('suspension deferred until the start function returns');
    expect(r.stdout).toBe('start done\n');
    expect(r.status).toBe(3);
    const resumed = join(dir, 'start.resumed.img');
    const c = spawnSync(process.execPath, [join(root, 'packages/cli/bin/wagc.js'), snap, '-o', resumed], { encoding: 'utf8' });
    expect(c.stderr).toBe('');
    const s = spawnSync(process.execPath, [gateRun, resumed], { encoding: 'utf8' });
    expect(s.stdout).toBe('_start ran\n');
    expect(s.status).toBe(0);
  });
});

/* A C program (wasi-libc, clang --target=wasm32-wasi) run by gate-run and by node:wasi. */
const cSource = join(__dirname, 'wasi-c/env-clock.c');
const haveArm = existsSync(join(root, 'packages/loader-c/build/gate-run-aarch64')) && spawnSync('qemu-aarch64', ['--version']).status === 0;
const haveClang = spawnSync('clang', ['--version']).status === 0 && existsSync('/usr/include/wasm32-wasi/stdio.h');
(haveClang ? describe : describe.skip)('a wasi-libc C program: gate-run prints what node:wasi prints', () => {
  test('printf, args, environment, clocks, random, sleep, stdin', () => {
    const wasm = join(dir, 'env-clock.wasm');
    const cc = spawnSync('clang', ['--target=wasm32-wasi', '-O2', cSource, '-o', wasm], { encoding: 'utf8' });
    expect(cc.stderr).toBe('');
    const p = build(new Uint8Array(readFileSync(wasm)));
    const opts = { args: ['alpha', 'beta gamma', '42'], env: ['GREETING=hello', 'N=3'], input: 'line one\nline two\n' };
    const r = runImage(p.img, opts);
    const n = runNode(p.wasm, p.img, opts);
    expect(r.stderr).toBe(n.stderr);
    expect(r.stdout).toBe(n.stdout);
    expect(r.status).toBe(n.status);
    expect(r.stdout).toContain('GREETING=hello');
    expect(r.stdout).toContain('slept >= 25 ms: yes');
    // the arguments make it exit with 3, which gate-run must not take for a suspension
    expect(r.status).toBe(3);
    const viaCli = spawnSync(process.execPath, [gateRun, p.img, '--env', 'GREETING=hello', '--env', 'N=3', '--', ...opts.args], { encoding: 'utf8', input: opts.input, cwd: dir });
    expect(viaCli.stdout).toBe(n.stdout);
    expect(viaCli.stderr).toBe('to stderr\n');
    expect(viaCli.status).toBe(3);
    expect(existsSync(join(dir, `${basename(p.img, '.img')}.snapshot.wasm`))).toBe(false);
  });

  (haveArm ? test : test.skip)('the same on ARM64 (qemu-aarch64)', () => {
    const wasm = join(dir, 'env-clock-arm.wasm');
    const cc = spawnSync('clang', ['--target=wasm32-wasi', '-O2', cSource, '-o', wasm], { encoding: 'utf8' });
    expect(cc.stderr).toBe('');
    const img = join(dir, 'env-clock-arm.img');
    const c = spawnSync(process.execPath, [join(root, 'packages/cli/bin/wagc.js'), wasm, '-o', img, '--arch', 'arm64'], { encoding: 'utf8' });
    expect(c.stderr).toBe('');
    const opts = { args: ['alpha', 'beta gamma', '42'], env: ['GREETING=hello', 'N=3'], input: 'line one\nline two\n' };
    const r = spawnSync(process.execPath, [gateRun, img, '--env', 'GREETING=hello', '--env', 'N=3', '--', ...opts.args], { encoding: 'utf8', input: opts.input, cwd: dir });
    const n = runNode(wasm, img, opts);
    expect(r.stdout).toBe(n.stdout);
    expect(r.stderr).toBe(n.stderr);
    expect(r.status).toBe(n.status);
  });
});

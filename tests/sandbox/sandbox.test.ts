/**
 * The loader's sandbox (docs/sandbox.md): the seccomp whitelist (asserted: widening it is a visible
 * change), forbidden system calls and mprotect with PROT_EXEC killed by SIGSYS (through the test
 * build's GATE_RUN_TEST_SANDBOX_TRY hook), fds closed, rlimits, namespaces and their report, and
 * the loader under qemu-user (no seccomp there: it runs only with --emulated).
 */
import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { compileProgram } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { loaderPath } from '@wagc/loader-c';
import { wat } from '../e2e/helpers';

const X86 = loaderPath('x86-64');
const X86_TEST = join(dirname(X86), 'gate-run-x86_64-test');
const A64 = loaderPath('arm64');
const NATIVE_X86 = process.arch === 'x64';
const HAVE_QEMU = spawnSync('qemu-aarch64', ['--version']).status === 0;

/** The whitelist, in the loader's order. Changing it is changing the sandbox: say why in docs/sandbox.md. */
const PLAIN = ['read', 'write', 'close', 'ppoll', 'clock_gettime', 'clock_getres', 'getrandom', 'sched_yield', 'rt_sigreturn', 'rt_sigprocmask', 'exit_group', 'exit'];
const CONDITIONAL = [
  'mprotect: prot PROT_READ|PROT_WRITE, addr in the first 4 GiB of a linear memory reservation, len <= 4 GiB',
  'rt_sigaction: signal SIGSEGV, SIGBUS, SIGFPE or SIGILL',
];
/** x86-64 also has poll (glibc's poll() uses it there; aarch64 has only ppoll). */
const X86_WHITELIST = [...PLAIN.slice(0, 3), 'poll', ...PLAIN.slice(3), ...CONDITIONAL];
const A64_WHITELIST = [...PLAIN, ...CONDITIONAL];
/** What --dir adds, and only --dir (docs/sandbox.md, "Files"); Landlock confines their paths. */
const DIR_ADDITIONS = ['openat', 'newfstatat', 'readlinkat', 'fstatfs', 'lseek', 'getdents64', 'mkdirat', 'unlinkat', 'renameat2', 'fsync', 'fdatasync', 'ftruncate']
  .map((n) => `${n} (--dir)`);

const HELLO = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello, world\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 13))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
/** No WASI: an export the batch protocol calls, and a memory that grows (mprotect under the filter). */
const GROW = `(module
  (memory 0)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "poke") (param i32) (result i32) (i32.store (local.get 0) (i32.const 7)) (i32.load (local.get 0))))`;

const dir = mkdtempSync(join(tmpdir(), 'wagc-sandbox-'));
const images: Record<string, string> = {};

beforeAll(async () => {
  for (const arch of ['x86-64', 'arm64'] as const) {
    const hello = compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes: await wat(HELLO) }], arch });
    writeFileSync((images[`hello-${arch}`] = join(dir, `hello-${arch}.img`)), hello);
    const grow = compileProgram({ modules: [{ name: 'main', bytes: await wat(GROW) }], arch });
    writeFileSync((images[`grow-${arch}`] = join(dir, `grow-${arch}.img`)), grow);
  }
});

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, input = '') {
  const { GATE_SANDBOX_REPORT: _drop, ...base } = process.env;
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 30000, input, env: { ...base, ...env } });
}

const nativeX86 = NATIVE_X86 ? describe : describe.skip;

nativeX86('seccomp whitelist (x86-64)', () => {
  test('the loader prints exactly the expected whitelist', () => {
    const r = run(X86, ['--seccomp-whitelist']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(X86_WHITELIST);
  });

  test('with --dir, the whitelist is the same plus the file calls', () => {
    const r = run(X86, ['--dir', `${dir}::/d`, '--seccomp-whitelist']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([...X86_WHITELIST, ...DIR_ADDITIONS]);
  });

  test('with --dir, openat outside the preopen is refused by Landlock (EACCES), not SIGSYS; the program runs', () => {
    const r = run(X86_TEST, [images['hello-x86-64'], '--dir', `${dir}::/d`], { GATE_RUN_TEST_SANDBOX_TRY: 'openat' });
    expect(r).toMatchObject({ status: 0, stdout: 'hello, world\n', stderr: 'gate-run: test: openat returned -1 (Permission denied)\n' });
    // while socket and getpid stay forbidden
    for (const what of ['socket', 'getpid']) {
      expect(run(X86_TEST, [images['hello-x86-64'], '--dir', `${dir}::/d`], { GATE_RUN_TEST_SANDBOX_TRY: what }).signal).toBe('SIGSYS');
    }
  });

  test('with --dir, the report names Landlock and the fd budget', () => {
    const r = run(X86, [images['hello-x86-64'], '--dir', `${dir}::/d`, '--sandbox-report']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/rlimits NOFILE=\d+ CORE=0; no_new_privs, seccomp filter installed, Landlock \(ABI \d+\) on 1 directory\n$/);
  });

  test('a program runs under the filter, and /proc shows it with no_new_privs', () => {
    const r = run(X86, [images['hello-x86-64']]);
    expect(r).toMatchObject({ status: 0, stdout: 'hello, world\n', stderr: '' });
  });

  test.each(['openat', 'socket', 'getpid'])('a forbidden system call (%s) kills the loader with SIGSYS', (what) => {
    const r = run(X86_TEST, [images['hello-x86-64']], { GATE_RUN_TEST_SANDBOX_TRY: what });
    expect(r.signal).toBe('SIGSYS');
    expect(r.stdout).toBe('');
  });

  test.each([
    ['mprotect-exec', 'PROT_READ|PROT_EXEC on linear memory'],
    ['mprotect-rwx', 'PROT_READ|PROT_WRITE|PROT_EXEC on linear memory'],
    ['mprotect-text', 'PROT_READ|PROT_WRITE on the text'],
    ['mprotect-past', 'RW beyond the first 4 GiB of the reservation'],
    ['mprotect-long', 'RW of more than 4 GiB'],
    ['sigaction-usr1', 'rt_sigaction of SIGUSR1'],
  ])('%s (%s) kills the loader with SIGSYS', (what) => {
    const r = run(X86_TEST, [images['hello-x86-64']], { GATE_RUN_TEST_SANDBOX_TRY: what });
    expect(r.signal).toBe('SIGSYS');
  });

  test.each(['mprotect-memory', 'sigaction-segv'])('the allowed shape %s passes the filter', (what) => {
    const r = run(X86_TEST, [images['hello-x86-64']], { GATE_RUN_TEST_SANDBOX_TRY: what });
    expect(r).toMatchObject({ status: 0, stdout: 'hello, world\n', stderr: `gate-run: test: ${what} returned 0\n` });
  });

  test('memory.grow (an mprotect) works under the filter: all 4 GiB at once, then beyond the maximum', () => {
    const r = run(X86, [images['grow-x86-64'], '--batch'], {}, 'invoke 67726f77 10000\ninvoke 706f6b65 fffffffc\ninvoke 67726f77 1\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`ready\nok ${'0'.padStart(16, '0')}\nok ${'7'.padStart(16, '0')}\nok ${'ffffffff'.padStart(16, '0')}\n`);
  });

  test('--emulated on a real kernel still installs the filter', () => {
    const r = run(X86_TEST, [images['hello-x86-64'], '--emulated'], { GATE_RUN_TEST_SANDBOX_TRY: 'openat' });
    expect(r.signal).toBe('SIGSYS');
  });

  test('a --state-out file stays writable under the filter', () => {
    const state = join(dir, 'state');
    const r = run(X86, [images['hello-x86-64'], '--state-out', state]);
    expect(r.status).toBe(0);
    expect(readFileSync(state).subarray(0, 8).toString()).toBe('WAGCSTAT');
  });
});

/** Starts the loader in batch mode with an extra pipe as fd 3; resolves once it answered `ready`. */
function startIdle(args: string[] = []) {
  const child = spawn(X86, [images['grow-x86-64'], '--batch', ...args], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
  let fd3Closed = false;
  const extra = child.stdio[3] as NodeJS.ReadableStream;
  extra.on('end', () => { fd3Closed = true; });
  extra.on('close', () => { fd3Closed = true; });
  extra.resume();
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    });
    child.on('exit', () => reject(new Error(`loader exited: ${err}`)));
  });
  return { child, ready, fd3Closed: () => fd3Closed, stderr: () => err };
}

nativeX86('the running loader, seen from /proc (x86-64)', () => {
  test('fds closed, rlimits, no_new_privs, seccomp filter mode, namespaces', async () => {
    const idle = startIdle();
    await idle.ready;
    const pid = idle.child.pid!;
    try {
      // the inherited fd 3 is closed (the parent sees the end of the pipe), and only 0-2 remain
      await new Promise((r) => setTimeout(r, 50));
      expect(idle.fd3Closed()).toBe(true);
      const fds = spawnSync('ls', [`/proc/${pid}/fd`], { encoding: 'utf8' }).stdout.trim().split(/\s+/).sort();
      expect(fds).toEqual(['0', '1', '2']);
      const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
      expect(limits).toMatch(/^Max open files\s+3\s+3\s/m);
      expect(limits).toMatch(/^Max core file size\s+0\s+0\s/m);
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
      expect(status).toMatch(/^Seccomp:\s+2$/m); // SECCOMP_MODE_FILTER
      // each namespace the loader reported as entered differs from ours
      const r = run(X86, [images['hello-x86-64'], '--sandbox-report']);
      const entered = /namespaces entered: ([a-z ]+);/.exec(r.stderr)![1].split(' ').filter((n) => n !== 'none');
      const file: Record<string, string> = { user: 'user', mount: 'mnt', net: 'net', ipc: 'ipc', uts: 'uts' };
      for (const ns of entered) expect(readlinkSync(`/proc/${pid}/ns/${file[ns]}`)).not.toBe(readlinkSync(`/proc/self/ns/${file[ns]}`));
      expect(readlinkSync(`/proc/${pid}/ns/pid`)).toBe(readlinkSync('/proc/self/ns/pid'));
      expect(idle.stderr()).toBe('');
    } finally {
      idle.child.stdin!.end();
    }
  });

  test('--sandbox-report (or GATE_SANDBOX_REPORT=1) names every namespace not entered, in one line each, and sums up', () => {
    for (const [args, env] of [[['--sandbox-report'], {}], [[], { GATE_SANDBOX_REPORT: '1' }]] as const) {
      const r = run(X86, [images['hello-x86-64'], ...args], env);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('hello, world\n');
      const lines = r.stderr.trim().split('\n');
      const summary = lines[lines.length - 1];
      // NOFILE: the highest fd + 1, fd 3 the snapshot memfd and 4 the snapshot helper's socket (docs/image-format.md, "Loader")
      const m = /^gate-run: sandbox: namespaces entered: ([a-z ]+); not entered: ([a-z ]+); rlimits NOFILE=5 CORE=0; no_new_privs, seccomp filter installed$/.exec(summary);
      expect(m).not.toBeNull();
      const entered = m![1] === 'none' ? [] : m![1].split(' ');
      const missed = m![2].split(' ');
      expect([...entered, ...missed].sort()).toEqual(['ipc', 'mount', 'net', 'pid', 'user', 'uts']);
      for (const ns of missed) expect(lines.filter((l) => l.startsWith(`gate-run: sandbox: namespace ${ns} not entered: `))).toHaveLength(1);
      expect(lines).toHaveLength(missed.length + 1);
      // as root on this kernel every namespace but pid (skipped: it needs a fork) is entered
      if (process.getuid?.() === 0) expect(missed).toEqual(['pid']);
    }
  });

  test('without the report, stderr stays empty', () => {
    const r = run(X86, [images['hello-x86-64']]);
    expect(r.stderr).toBe('');
  });
});

const withQemu = NATIVE_X86 && HAVE_QEMU && existsSync(A64) ? describe : describe.skip;

withQemu('the aarch64 loader under qemu-user (which cannot apply seccomp)', () => {
  test('prints the same --dir additions', () => {
    const r = run('qemu-aarch64', [A64, '--dir', `${dir}::/d`, '--seccomp-whitelist']);
    expect(r.stdout.trim().split('\n')).toEqual([...A64_WHITELIST, ...DIR_ADDITIONS]);
  });

  test('prints the same whitelist, less poll', () => {
    const r = run('qemu-aarch64', [A64, '--seccomp-whitelist']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(A64_WHITELIST);
  });

  test('without --emulated it refuses to run unconfined: one line, status 2', () => {
    const r = run('qemu-aarch64', [A64, images['hello-arm64']]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^gate-run: sandbox: cannot install the seccomp filter \(seccomp: .*\): refusing to run unconfined \(--emulated allows it under qemu-user, which cannot filter system calls\)\n$/);
  });

  test('with --emulated it runs, quietly, and the report says it is unconfined by seccomp', () => {
    const quiet = run('qemu-aarch64', [A64, images['hello-arm64'], '--emulated']);
    expect(quiet).toMatchObject({ status: 0, stdout: 'hello, world\n', stderr: '' });
    const r = run('qemu-aarch64', [A64, images['hello-arm64'], '--emulated', '--sandbox-report']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^gate-run: sandbox: no seccomp filter under emulation \(.*\): the program runs unconfined by seccomp$/m);
    expect(r.stderr).toMatch(/; no seccomp filter\n$/);
  });

  test('the gate-run CLI passes --emulated (and --sandbox-report) to the loader under qemu', () => {
    const cli = join(__dirname, '..', '..', 'packages', 'cli', 'bin', 'gate-run.js');
    if (!existsSync(join(__dirname, '..', '..', 'packages', 'cli', 'dist', 'gate-run.js'))) throw new Error('packages/cli not built: npx tsc -b');
    const r = run(process.execPath, [cli, images['hello-arm64'], '--sandbox-report']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('hello, world\n');
    expect(r.stderr).toMatch(/no seccomp filter under emulation/);
  });
});

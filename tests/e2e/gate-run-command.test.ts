/**
 * Issue 14: the gate-run command is the static loader (packages/cli/bin/gate-run links to it),
 * run here exactly as a user's shell runs it: its command line (options before or after the
 * image, the program's arguments after it, --env K, --dir DIR, --version, --help), signals
 * reaching the program with nothing left behind, and where the snapshot goes (checked before the
 * program starts; atomic for a regular file, written through a FIFO or a symlink, never replacing
 * them).
 */
import { spawn, spawnSync } from 'child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { compileProgram } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { readSnapshot } from '@wagc/snapshot-format';
import { wat } from './helpers';

const root = join(__dirname, '../..');
const gateRun = join(root, 'packages/cli/bin/gate-run');
const dir = mkdtempSync(join(tmpdir(), 'wagc-gate-run-'));

/** _start exits with argc + 10 × the number of environment variables; `add` adds. */
const counter = `(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $envs (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory 1)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "_start")
    (drop (call $args (i32.const 0) (i32.const 4)))
    (drop (call $envs (i32.const 8) (i32.const 12)))
    (call $exit (i32.add (i32.load (i32.const 0)) (i32.mul (i32.load (i32.const 8)) (i32.const 10))))))`;

/** Waits on stdin forever (a blocked read), exits 0 at its end. */
const waiter = `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 16))
    (loop $l (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 32)))
      (br_if $l (i32.ne (i32.load (i32.const 32)) (i32.const 0))))))`;

const images: Record<string, string> = {};
beforeAll(async () => {
  for (const [name, text] of Object.entries({ counter, waiter })) {
    const bytes = await wat(text);
    images[name] = join(dir, `${name}.img`);
    writeFileSync(images[name], compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }], arch: 'x86-64' }));
  }
});

function run(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(gateRun, args, { encoding: 'utf8', timeout: 30000, cwd: opts.cwd ?? dir, env: { ...(opts.env ?? process.env), NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the gate-run command is the loader', () => {
  test('the bin is the static loader, not node', () => {
    const head = readFileSync(gateRun).subarray(0, 4);
    expect(Buffer.from(head).toString('latin1')).toBe('\x7fELF');
  });

  test('--version and --help exit 0', () => {
    expect(run(['--version'])).toEqual({ status: 0, stdout: `gate-run ${(JSON.parse(readFileSync(join(root, 'packages/loader-c/package.json'), 'utf8')) as { version: string }).version}\n`, stderr: '' });
    const h = run(['--help']);
    expect(h.status).toBe(0);
    for (const flag of ['--snapshot', '--suspend-after', '--env', '--dir', '--invoke', '--timeout', '--version']) expect(h.stdout).toContain(flag);
  });
});

describe('gate-run\'s command line', () => {
  // exit status = argc + 10 × environment variables; argv[0] is the image
  test.each([
    [['IMG'], 1],
    [['IMG', 'foo', 'bar'], 3],
    [['--env', 'A=1', 'IMG', 'foo'], 12],
    [['IMG', '--env', 'A=1', '--env=B=2', 'foo'], 22],
    [['IMG', 'foo', '--env', 'A=1'], 4], // after the first program argument, everything is the program's
    [['--env=A=1', '--', 'IMG', '--env', 'x'], 13],
    [['IMG', '--', '--env', 'x'], 3],
    [['IMG', '-5', 'x'], 3], // a negative number is an argument
  ])('%j', (args, status) => {
    const r = run(args.map((a) => (a === 'IMG' ? images.counter : a)));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(status);
  });

  test('--env K passes gate-run\'s own K, and only that', () => {
    const env = { ...process.env, GATE_TEST_OWN: 'x' };
    expect(run([images.counter, '--env', 'GATE_TEST_OWN'], { env }).status).toBe(11);
    expect(run([images.counter, '--env', 'GATE_TEST_MISSING'], { env }).status).toBe(1);
  });

  test('--invoke EXPORT IMAGE ARGS prints the results', () => {
    const r = run(['--invoke', 'add', images.counter, '2', '40']);
    expect(r).toEqual({ status: 0, stdout: '42\n', stderr: '' });
    expect(run([images.counter, '--invoke=add', '--', '-2', '40']).stdout).toBe('38\n');
  });

  test('--dir DIR is DIR::DIR; bad usage is one line and status 2', () => {
    const missing = join(dir, 'none');
    expect(run([images.counter, '--dir', missing]).stderr).toBe(`gate-run: --dir ${missing}::${missing}: cannot open ${missing}: No such file or directory\n`);
    for (const [args, message] of [
      [[], 'expected one image'],
      [['--bogus', images.counter], 'Unknown argument: --bogus'],
      [[images.counter, '--timeout'], 'Not enough arguments following: timeout'],
      [['--help=1'], '--help takes no value'],
      [[images.counter, '--snapshot', 'a', '--snapshot', 'b'], '--snapshot given more than once'],
    ] as [string[], string][]) {
      expect(run(args)).toEqual({ status: 2, stdout: '', stderr: `gate-run: error: ${message} (see gate-run --help)\n` });
    }
  });
});

/** Starts the waiter through the real bin; resolves once its loader has entered the program (it blocks in read). */
function startWaiter(args: string[], cwd: string): { child: ReturnType<typeof spawn>; ended: Promise<{ status: number | null; signal: string | null; stderr: string }> } {
  const child = spawn(gateRun, [images.waiter, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
  const ended = new Promise<{ status: number | null; signal: string | null; stderr: string }>((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stderr })));
  return { child, ended };
}

/** The children of `pid` (its snapshot helper), from /proc. */
function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function settle(pid: number): Promise<void> {
  // the loader is blocked in the program's read once its helper exists and its stat says sleeping
  for (let k = 0; k < 400; k++) {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (children(pid).length === 1 && / S /.test(st)) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('signals reach the program; nothing is left behind', () => {
  test.each(['SIGTERM', 'SIGINT', 'SIGKILL'] as const)('%s ends gate-run, its helper and leaves no file', async (signal) => {
    const cwd = mkdtempSync(join(dir, 'sig-'));
    const { child, ended } = startWaiter(['--snapshot', join(cwd, 'out.wasm')], cwd);
    await settle(child.pid!);
    const helper = children(child.pid!);
    expect(helper).toHaveLength(1);
    child.kill(signal);
    const r = await ended;
    expect(r.signal).toBe(signal);
    for (let k = 0; k < 200 && existsSync(`/proc/${helper[0]}/stat`) && !/ Z /.test(readFileSync(`/proc/${helper[0]}/stat`, 'utf8')); k++) await new Promise((res) => setTimeout(res, 25));
    expect(existsSync(`/proc/${helper[0]}/stat`) && !/ Z /.test(readFileSync(`/proc/${helper[0]}/stat`, 'utf8'))).toBe(false);
    expect(readdirSync(cwd)).toEqual([]);
  });

  test('SIGQUIT suspends: the snapshot, written by the loader, at ./IMAGE-NAME.snapshot.wasm', async () => {
    const cwd = mkdtempSync(join(dir, 'quit-'));
    const { child, ended } = startWaiter([], cwd);
    await settle(child.pid!);
    child.kill('SIGQUIT');
    const r = await ended;
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('gate-run: suspended; snapshot written to waiter.snapshot.wasm');
    expect(readdirSync(cwd)).toEqual(['waiter.snapshot.wasm']);
    expect(readSnapshot(readFileSync(join(cwd, 'waiter.snapshot.wasm'))).state).toBe('suspended');
  });
});

describe('--snapshot FILE', () => {
  test('a bad path is refused before the program starts', () => {
    for (const [path, why] of [
      [join(dir, 'no-such-dir', 's.wasm'), `directory ${join(dir, 'no-such-dir')}: No such file or directory`],
      [dir, 'is a directory'],
      [join(images.counter, 's.wasm'), 'Not a directory'],
    ]) {
      const r = run([images.counter, '--snapshot', path]);
      expect(r).toEqual({ status: 2, stdout: '', stderr: `gate-run: error: --snapshot ${path}: ${why}\n` });
    }
    expect(run([images.counter, '--snapshot', images.counter]).stderr).toBe(`gate-run: error: --snapshot ${images.counter} is the image itself, which gate-run never overwrites\n`);
  });

  test('a regular file is replaced whole, with no temporary file left', () => {
    const cwd = mkdtempSync(join(dir, 'reg-'));
    writeFileSync(join(cwd, 's.wasm'), 'old');
    expect(run([images.counter, '--snapshot', 's.wasm'], { cwd }).status).toBe(1);
    expect(readdirSync(cwd)).toEqual(['s.wasm']);
    expect(readSnapshot(readFileSync(join(cwd, 's.wasm'))).state).toBe('exited');
  });

  test('a symlink is written through: the link stays, its target gets the snapshot', () => {
    const cwd = mkdtempSync(join(dir, 'link-'));
    symlinkSync('target.wasm', join(cwd, 'link.wasm'));
    expect(run([images.counter, '--snapshot', 'link.wasm'], { cwd }).status).toBe(1);
    expect(lstatSync(join(cwd, 'link.wasm')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(cwd, 'link.wasm'))).toBe('target.wasm');
    expect(readSnapshot(readFileSync(join(cwd, 'target.wasm'))).state).toBe('exited');
  });

  test('a FIFO is written through, never replaced', async () => {
    const cwd = mkdtempSync(join(dir, 'fifo-'));
    const fifo = join(cwd, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    reader.stdout!.on('data', (d: Buffer) => chunks.push(d));
    const read = new Promise((r) => reader.on('close', r));
    const r = spawn(gateRun, [images.counter, '--snapshot', fifo], { cwd, stdio: 'ignore' });
    const status = await new Promise((res) => r.on('close', res));
    await read;
    expect(status).toBe(1);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readSnapshot(Buffer.concat(chunks)).state).toBe('exited');
  });
});

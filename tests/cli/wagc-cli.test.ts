/**
 * Issue 14, through the real bins: `wagc --trap-unknown-imports` (a call of an import nothing links
 * traps naming it, at the call in the caller), `--preload NAME=LIB.wasm`, where `-o` writes (a
 * regular file atomically; a device, a FIFO or a symlink's target written through, never replaced;
 * "-" stdout; a directory refused in one line), `--version`, and bad input in one line.
 */
import { spawn, spawnSync } from 'child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { wat } from '../e2e/helpers';

const root = join(__dirname, '../..');
const bin = (tool: string): string => join(root, 'packages/cli/bin', `${tool}.js`);
const haveArm = existsSync(join(root, 'packages/loader-c/build/gate-run-aarch64')) && spawnSync('qemu-aarch64', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'wagc-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(tool: string, args: string[], opts: { cwd?: string } = {}): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [bin(tool), ...args], { cwd: opts.cwd ?? dir, maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

const MAIN = `(module
  (import "env" "missing" (func $missing (param i32) (result i32)))
  (import "lib" "add1" (func $add1 (param i32) (result i32)))
  (func $callit (param i32) (result i32) local.get 0 call $missing)
  (func (export "_start")
    i32.const 41 call $add1 i32.const 42 i32.ne if unreachable end
    i32.const 1 call $callit drop))`;
const LIB = '(module (func (export "add1") (param i32) (result i32) local.get 0 i32.const 1 i32.add))';

let mainWasm: Uint8Array;
beforeAll(async () => {
  mainWasm = await wat(MAIN);
  writeFileSync(join(dir, 'main.wasm'), mainWasm);
  writeFileSync(join(dir, 'lib.wasm'), await wat(LIB));
  writeFileSync(join(dir, 'junk.wasm'), Buffer.from('\0asm\x01\0\0\0\x01\x05\x01\x60\x00'));
});

/** The offset of `local.get 0; call 0` in $callit's body, plus 2: the call instruction. */
function callOffset(bytes: Uint8Array): number {
  const at = Buffer.from(bytes).indexOf(Buffer.from([0x20, 0x00, 0x10, 0x00, 0x0b]));
  expect(at).toBeGreaterThan(0);
  return at + 2;
}

describe('--trap-unknown-imports and --preload', () => {
  test('an import nothing links is refused without --trap-unknown-imports, naming it', () => {
    const r = run('wagc', ['main.wasm', '--preload', 'lib=lib.wasm', '-o', 'strict.img']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^wagc: error: main\.wasm: LinkError: unknown import env\.missing .*\n$/);
    expect(existsSync(join(dir, 'strict.img'))).toBe(false);
  });

  test('without --preload the library\'s import is unknown too', () => {
    const r = run('wagc', ['main.wasm', '--trap-unknown-imports', '-o', 'nolib.img']);
    expect(r.status).toBe(0);
    // lib.add1 is a trapping stub now: the first call traps naming it
    const g = spawnSync(process.execPath, [bin('gate-run'), 'nolib.img'], { cwd: dir });
    expect(g.stderr.toString()).toMatch(/^trap: unknown import lib\.add1 called\n/);
  });

  test.each((haveArm ? ['x86-64', 'arm64'] : ['x86-64']).map((a) => [a]))('%s: the stub traps naming the import, at the call', (arch) => {
    const img = `main-${arch}.img`;
    const r = run('wagc', ['main.wasm', '--arch', arch, '--preload', 'lib=lib.wasm', '--trap-unknown-imports', '-o', img]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const g = spawnSync(process.execPath, [bin('gate-run'), img], { cwd: dir });
    const lines = g.stderr.toString().split('\n');
    expect(lines[0]).toBe('trap: unknown import env.missing called');
    // the innermost frame is the caller, at its call instruction; then its caller
    expect(lines[1]).toBe(`  at callit (wasm offset 0x${callOffset(mainWasm).toString(16)})`);
    expect(lines[2]).toMatch(/^ {2}at _start \(wasm offset 0x[0-9a-f]+\)$/);
    expect(g.status).toBe(134);
  });

  test('a malformed --preload is a usage error', () => {
    expect(run('wagc', ['main.wasm', '--preload', 'lib', '-o', 'x.img']).stderr).toBe('wagc: error: --preload lib: expected NAME=LIB.wasm (see wagc --help)\n');
    const r = run('wagc', ['main.wasm', '--preload', 'lib=nope.wasm', '-o', 'x.img']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('wagc: error: nope.wasm: no such file\n');
  });
});

describe('-o', () => {
  const args = ['main.wasm', '--preload', 'lib=lib.wasm', '--trap-unknown-imports'];
  let reference: Buffer;
  beforeAll(() => {
    expect(run('wagc', [...args, '-o', 'ref.img']).status).toBe(0);
    reference = readFileSync(join(dir, 'ref.img'));
  });

  test('"-" writes the image to stdout', () => {
    const r = run('wagc', [...args, '-o', '-']);
    expect(r.status).toBe(0);
    expect(r.stdout.equals(reference)).toBe(true);
  });

  test('a character device is written through, not replaced (/dev/null)', () => {
    const before = statSync('/dev/null');
    const r = run('wagc', [...args, '-o', '/dev/null']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const after = statSync('/dev/null');
    expect(after.isCharacterDevice()).toBe(true);
    expect(after.rdev).toBe(before.rdev);
  });

  test('a FIFO is written through: its reader gets the image', async () => {
    const fifo = join(dir, 'out.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn('cat', [fifo]);
    const chunks: Buffer[] = [];
    reader.stdout.on('data', (c: Buffer) => chunks.push(c));
    const done = new Promise<void>((res) => reader.on('close', () => res()));
    const w = spawn(process.execPath, [bin('wagc'), ...args, '-o', fifo], { cwd: dir });
    const status = await new Promise<number | null>((res) => w.on('close', (code) => res(code)));
    await done;
    expect(status).toBe(0);
    expect(Buffer.concat(chunks).equals(reference)).toBe(true);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  test('a symlink stays: its target gets the image', () => {
    symlinkSync('target.img', join(dir, 'link.img'));
    expect(run('wagc', [...args, '-o', 'link.img']).status).toBe(0);
    expect(lstatSync(join(dir, 'link.img')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, 'link.img'))).toBe('target.img');
    expect(readFileSync(join(dir, 'target.img')).equals(reference)).toBe(true);
    // written again through the link: still a link
    expect(run('wagc', [...args, '-o', 'link.img']).status).toBe(0);
    expect(lstatSync(join(dir, 'link.img')).isSymbolicLink()).toBe(true);
  });

  test('a directory is refused in one line', () => {
    const r = run('wagc', [...args, '-o', '.']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('wagc: error: .: cannot write: is a directory\n');
  });
});

describe('--version and bad input', () => {
  test.each([['wagc'], ['gate-inspect']])('%s --version', (tool) => {
    const r = run(tool, ['--version']);
    const version = (JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')) as { version: string }).version;
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe(`${tool} ${version}\n`);
  });

  test('a truncated module: one line with the location, no stack trace, no output file', () => {
    const r = run('wagc', ['junk.wasm', '-o', 'junk.img']);
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/^wagc: error: junk\.wasm: CompileError: .*offset \d+/);
    expect(existsSync(join(dir, 'junk.img'))).toBe(false);
  });

  test('no -o: a usage error', () => {
    const r = run('wagc', ['main.wasm']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('wagc: error: missing -o OUT.img (the image to write; "-" for stdout) (see wagc --help)\n');
  });
});

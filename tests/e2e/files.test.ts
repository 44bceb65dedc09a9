/**
 * Issue 7: `gate-run --dir HOST::GUEST` preopens and the WASI path functions (packages/abi/wasi.wat,
 * packages/loader-c/src/files.c). A wasi-libc C program reads, writes, seeks, truncates, stats,
 * makes and lists directories, renames and unlinks on a preopened directory, on x86-64 and on
 * ARM64 (qemu), and prints what it sees: the same as node:wasi with the same preopen, except where
 * node:wasi lets a path out (asserted on its own below). Paths that try to leave the preopen
 * (.., absolute, symlinks out) are refused; a file outside stays unread and untouched.
 * Suspension while a file is open waits for its close (docs/snapshot-format.md, "Open files").
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const root = join(__dirname, '../..');
const wagc = join(root, 'packages/cli/bin/wagc.js');
const gateRun = join(root, 'packages/cli/bin/gate-run.js');
const dir = mkdtempSync(join(tmpdir(), 'wagc-files-'));
const haveClang = spawnSync('clang', ['--version']).status === 0 && existsSync('/usr/include/wasm32-wasi/stdio.h');
const haveArm = existsSync(join(root, 'packages/loader-c/build/gate-run-aarch64')) && spawnSync('qemu-aarch64', ['--version']).status === 0;

function compileC(name: string): string {
  const wasm = join(dir, `${name}.wasm`);
  const cc = spawnSync('clang', ['--target=wasm32-wasi', '-O2', join(__dirname, `wasi-c/${name}.c`), '-o', wasm], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(cc.stderr);
  return wasm;
}

function compileImage(wasm: string, arch: 'x86-64' | 'arm64'): string {
  const img = wasm.replace(/\.wasm$/, `-${arch}.img`);
  const c = spawnSync(process.execPath, [wagc, wasm, '-o', img, '--arch', arch], { encoding: 'utf8' });
  if (c.status !== 0) throw new Error(c.stderr);
  return img;
}

/** A fresh directory tree: d/ (the preopen) with in.txt, sub2/, symlinks in and out; outside.txt beside it. */
function fixture(name: string): { top: string; pre: string } {
  const top = join(dir, name);
  const pre = join(top, 'd');
  mkdirSync(join(pre, 'sub2'), { recursive: true });
  writeFileSync(join(pre, 'in.txt'), 'hello\n');
  writeFileSync(join(top, 'outside.txt'), 'secret\n');
  symlinkSync('in.txt', join(pre, 'link-in'));
  symlinkSync('../outside.txt', join(pre, 'link-out'));
  symlinkSync('/etc/hostname', join(pre, 'abs-out'));
  return { top, pre };
}

function gate(img: string, args: string[], opts: { cwd?: string } = {}) {
  return spawnSync(process.execPath, [gateRun, img, ...args], { encoding: 'utf8', timeout: 60000, cwd: opts.cwd ?? dir });
}

function node(wasm: string, preopens: Record<string, string>, args: string[]) {
  const script = `
    const { WASI } = require('node:wasi');
    const [wasm, preopens, args] = JSON.parse(process.argv[1]);
    const wasi = new WASI({ version: 'preview1', args: ['prog', ...args], env: {}, preopens, returnOnExit: true });
    process.exitCode = wasi.start(new WebAssembly.Instance(new WebAssembly.Module(require('fs').readFileSync(wasm)), wasi.getImportObject()));`;
  return spawnSync(process.execPath, ['--no-turbo-fast-api-calls', '--no-warnings', '-e', script, JSON.stringify([wasm, preopens, args])], { encoding: 'utf8', timeout: 60000 });
}

/**
 * Lines where node:wasi (uvwasi) is not the oracle: it opens a symlink's target when told not to
 * follow it (so `link-out` unfollowed would leave the preopen), answers ENOENT where a path
 * leaves the preopen, and EINVAL for an empty path. gate-run answers ELOOP (O_NOFOLLOW),
 * ENOTCAPABLE, as the spec intends, and ENOENT, as POSIX does for an empty path.
 */
const OURS: Record<string, string> = {
  'path_open(link-in, follow 0)': 'Symbolic link loop',
  'path_open(link-out, follow 1)': 'Capabilities insufficient',
  'path_open(abs-out, follow 1)': 'Capabilities insufficient',
  'path_open(../outside.txt, follow 1)': 'Capabilities insufficient',
  'path_open(/etc/hostname, follow 1)': 'Capabilities insufficient',
  'path_open(, follow 1)': 'No such file or directory',
};

function split(out: string): { common: string[]; ours: Record<string, string> } {
  const common: string[] = [];
  const ours: Record<string, string> = {};
  for (const line of out.trimEnd().split('\n')) {
    const k = line.slice(0, line.indexOf('):') + 1 || line.indexOf(':'));
    if (k in OURS) ours[k] = line.slice(k.length + 2);
    else common.push(line);
  }
  return { common, ours };
}

(haveClang ? describe : describe.skip)('--dir preopens: a wasi-libc program on a preopened directory', () => {
  let wasm: string;
  let expected: string[];
  beforeAll(() => {
    wasm = compileC('files');
    const f = fixture('node');
    const n = node(wasm, { '/o': f.pre }, ['/o']);
    expect(n.stderr).toBe('');
    expect(n.status).toBe(0);
    expected = split(n.stdout).common;
  });

  const cases: ['x86-64' | 'arm64', boolean][] = [['x86-64', true], ['arm64', haveArm]];
  for (const [arch, have] of cases) {
    (have ? test : test.skip)(`${arch}: prints what node:wasi prints; paths out of the preopen refused`, () => {
      const img = compileImage(wasm, arch);
      const f = fixture(`gate-${arch}`);
      const r = gate(img, ['--dir', `${f.pre}::/o`, '--', '/o']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const { common, ours } = split(r.stdout);
      expect(common).toEqual(expected);
      expect(ours).toEqual(OURS);
      // what the program left: its files gone again, the outside file as it was
      expect(readdirSync(f.pre).sort()).toEqual(['abs-out', 'in.txt', 'link-in', 'link-out', 'sub2']);
      expect(readFileSync(join(f.top, 'outside.txt'), 'utf8')).toBe('secret\n');
      expect(r.stdout).not.toContain('secret');
    });
  }

  test('without --dir the program has no directory (as node:wasi without preopens)', () => {
    const img = compileImage(wasm, 'x86-64');
    const r = gate(img, ['--', '/o']);
    const n = node(wasm, {}, ['/o']);
    expect(r.stdout).toBe(n.stdout);
    expect(r.stdout).toBe('fopen in.txt: Capabilities insufficient\n');
    expect(r.status).toBe(1);
  });

  test('a --dir that cannot be opened, or is not HOST::GUEST: one line, status 2', () => {
    const img = compileImage(wasm, 'x86-64');
    const missing = join(dir, 'no-such-dir');
    const r = gate(img, ['--dir', `${missing}::/o`]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`gate-run: --dir ${missing}::/o: cannot open ${missing}: No such file or directory\n`);
    // --dir DIR is DIR::DIR (wasmtime's meaning)
    const same = gate(img, ['--dir', missing]);
    expect(same.status).toBe(2);
    expect(same.stderr).toBe(`gate-run: --dir ${missing}::${missing}: cannot open ${missing}: No such file or directory\n`);
    for (const bad of [`${missing}::`, '::/o']) {
      const u = gate(img, ['--dir', bad]);
      expect(u.status).toBe(2);
      expect(u.stderr).toBe(`gate-run: error: --dir: expected HOST::GUEST, got "${bad}" (see gate-run --help)\n`);
    }
  });
});

(haveClang ? describe : describe.skip)('suspension while a file is open waits for its close', () => {
  const cases: ['x86-64' | 'arm64', 'x86-64' | 'arm64', boolean][] = [['x86-64', 'arm64', haveArm], ['arm64', 'x86-64', haveArm]];
  for (const [from, to, have] of cases) {
    (have ? test : test.skip)(`${from}: deferred until fclose, then suspended; resumed on ${to} it finishes`, () => {
      const wasm = compileC('suspend-open');
      const img = compileImage(wasm, from);
      const pre = join(dir, `suspend-${from}`);
      mkdirSync(pre);
      const snap = join(dir, `suspend-${from}.snapshot.wasm`);
      // the request comes 150 ms into the 1.5 s the file stays open
      const r = gate(img, ['--dir', `${pre}::/o`, '--suspend-after', '150', '--snapshot', snap, '--', '/o', '1500']);
      expect(r.stderr).toMatch(/^gate-run: suspension deferred until the program closes its files \(fd 4 is open\): a snapshot records no open files\nsuspended\n/);
      expect(r.status).toBe(3);
      expect(r.stdout).toBe('');
      // suspended after the close: the file is whole
      expect(readFileSync(join(pre, 'f.txt'), 'utf8')).toBe('ab');
      const resumed = join(dir, `suspend-${from}-resumed.img`);
      const c = spawnSync(process.execPath, [wagc, snap, '-o', resumed, '--arch', to], { encoding: 'utf8' });
      expect(c.stderr).toBe('');
      const s = gate(resumed, ['--dir', `${pre}::/o`]);
      expect(s.stdout).toBe('done\n');
      expect(s.status).toBe(0);
    });
  }
});

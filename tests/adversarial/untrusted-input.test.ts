/**
 * Issue 11: snapshots are untrusted input, and the sandbox's edges. One block per numbered
 * finding of the issue, each rebuilt as an attacker would and run through the real bins
 * (packages/cli/bin) on both arches where it applies (arm64 under qemu-aarch64: no seccomp and
 * no Landlock there, the loader's own checks alone).
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { compileProgram, readImage, type Arch } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { snapshotOf } from '@wagc/cli';
import { memoryPages, readSnapshot, restoreModule, writeSnapshot, type Frame } from '@wagc/snapshot-format';
import { loaderPath } from '@wagc/loader-c';
import { wat } from '../e2e/helpers';

const root = resolve(__dirname, '../..');
const bin = (name: string): string => join(root, 'packages/cli/bin', `${name}.js`);
const LAUNCH = join(root, 'packages/loader-c/build/gate-run-launch');
const ARCHES: Arch[] = ['x86-64', 'arm64'];
const haveArm = existsSync(loaderPath('arm64')) && (process.arch === 'arm64' || !spawnSync('qemu-aarch64', ['--version']).error);

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'wagc-untrusted-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function node(name: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [bin(name), ...args], { encoding: 'utf8', timeout: 120000, cwd: opts.cwd ?? dir, env: { ...process.env, NO_COLOR: '1', ...opts.env } });
}

/** The loader itself (arm64 under qemu-aarch64 on other hosts), with the test build's hooks on x86-64 when asked. */
function loader(arch: Arch, args: string[], opts: { env?: NodeJS.ProcessEnv; test?: boolean } = {}): SpawnSyncReturns<string> {
  const path = arch === 'x86-64' && opts.test ? `${loaderPath('x86-64')}-test` : loaderPath(arch);
  const foreign = arch === 'arm64' && process.arch !== 'arm64';
  const [cmd, argv] = foreign ? ['qemu-aarch64', [path, '--emulated', ...args]] : [path, args];
  return spawnSync(cmd, argv, { encoding: 'utf8', timeout: 120000, env: opts.env ?? {} });
}

function needArm(): void {
  if (!haveArm) throw new Error('the aarch64 loader and qemu-aarch64 are needed (bash scripts/setup.sh)');
}

let n = 0;
async function file(text: string): Promise<string> {
  const p = join(dir, `m${n++}.wasm`);
  writeFileSync(p, await wat(text));
  return p;
}

function compile(wasm: string, arch: Arch = 'x86-64'): string {
  const img = wasm.replace(/\.wasm$/, `.${arch}.img`);
  const r = node('wagc', [wasm, '-o', img, '--arch', arch]);
  if (r.status !== 0) throw new Error(r.stderr);
  return img;
}

/** The bytes of a string as a WAT string literal (every byte escaped). */
const watString = (s: string): string => `"${Array.from(Buffer.from(s), (b) => `\\${b.toString(16).padStart(2, '0')}`).join('')}"`;

// ---- 1. a crafted snapshot runs native code ------------------------------------------------

/** The issue's program: $a stores $getref's funcref and calls through it; $b returns an i64. */
const attack = (i64: bigint): string => `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (type $v (func (result i32)))
  (table $t 2 funcref)
  (elem (i32.const 1) $target)
  (data $shell "\\cc\\cc\\cc\\cc\\0f\\05\\c3")
  (func $target (result i32) (i32.const 42))
  (func $getref (result funcref) (local $i i32)
    (loop $l (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 3))))
    (ref.func $target))
  (func $b (result i64) (local $i i32)
    (loop $l (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 3))))
    (i64.const ${i64}))
  (func $a
    (table.set $t (i32.const 0) (call $getref))
    (call $exit (call_indirect (type $v) (i32.const 0))))
  (func (export "_start") (call $a) (data.drop $shell)))`;
const GETREF = 2, B = 3;

/** A real snapshot of the program suspended in $getref's loop, and its innermost frame replaced. */
async function crafted(i64: bigint, change: (frames: Frame[]) => Frame[]): Promise<{ evil: string; snap: Uint8Array }> {
  const wasm = await file(attack(i64));
  const img = compile(wasm);
  const state = join(dir, `st${n++}`);
  // checks: _start, $a, $getref's entry, then its loop
  const r = loader('x86-64', [img, '--suspend-at-check', '4', '--state-out', state]);
  expect(r.status).toBe(3);
  const snap = snapshotOf(readFileSync(img), readFileSync(state));
  const s = readSnapshot(snap);
  expect(s.frames.map((f) => [f.func, f.site])).toEqual([[GETREF, 1], [4, 1], [5, 1]]);
  const evil = writeSnapshot({
    module: snap, state: 'suspended', arch: 'x86-64', memory: { pages: s.memory!.pages, pageMap: memoryPages(s) },
    globals: s.globals.map((g) => g.bits), frames: change(s.frames),
  });
  const out = join(dir, `evil${n++}.wasm`);
  writeFileSync(out, evil);
  return { evil: out, snap: evil };
}

/** The type word of $v (= $target's) in this link: the table holds $target at 1. */
async function typeWord(): Promise<bigint> {
  const img = readImage(readFileSync(compile(await file(attack(0n)))));
  return img.tables!.tables[0].entries![1] & 0xffffffffn;
}

describe('1. a crafted snapshot never runs native code', () => {
  test('the issue\'s attack (a frame of $b, returning an i64, where $getref returned a funcref) is refused by wagc: one line, exit 1; gate-inspect agrees', async () => {
    const { evil } = await crafted(0x7fff000000000014n, (f) => [{ func: B, site: 1, slots: [{ type: 0x7f, bits: 1n }] }, ...f.slice(1)]);
    for (const arch of ARCHES) {
      const r = node('wagc', [evil, '-o', join(dir, 'evil.img'), '--arch', arch]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^wagc: error: .*evil\d+\.wasm: bad snapshot: R5: frame 0 \(function 3 "b", site 1\): the call at frame 1 \(function 4 "a", site 1\) calls function 2, not this one\n$/);
      expect(existsSync(join(dir, 'evil.img'))).toBe(false);
    }
    const i = node('gate-inspect', [evil, '--json']);
    expect(JSON.parse(i.stdout).resumable).toMatch(/^R5: /);
    expect(node('gate-inspect', [evil]).stdout).toMatch(/resumable +no: R5: /);
  }, 300000);

  test('a snapshot with its outermost frame dropped, or a frame duplicated, is refused too', async () => {
    const dropped = (await crafted(1n, (f) => f.slice(0, -1))).evil;
    expect(node('wagc', [dropped, '-o', join(dir, 'x.img')]).stderr).toMatch(/bad snapshot: R6: frame 1 \(function 4 "a", site 1\): the outermost frame must be an exported function/);
    const duplicated = (await crafted(1n, (f) => [f[0], f[1], f[1], f[2]])).evil;
    expect(node('wagc', [duplicated, '-o', join(dir, 'x.img')]).stderr).toMatch(/bad snapshot: R5: frame 1 .*calls function 2, not this one/);
  }, 300000);

  test('with the validator bypassed (the library API), call_indirect still only calls a linked function of the expected type: a trap, on both arches', async () => {
    const word = await typeWord();
    const cases: [bigint, RegExp][] = [
      [(0x20000n << 32n) | word, /^trap: undefined element\n/], // past the function table (was: into passive data)
      [(0x10000000n << 32n) | word, /^trap: undefined element\n/],
      [(5n << 32n) | word, /^trap: indirect call type mismatch\n/], // a real function of another type, the word claiming $v
    ];
    for (const [i64, trap] of cases) {
      const { snap } = await crafted(i64, (f) => [{ func: B, site: 1, slots: [{ type: 0x7f, bits: 1n }] }, ...f.slice(1)]);
      const s = readSnapshot(snap);
      const frames = s.frames.map((f) => ({ module: 1, func: f.func, site: f.site, types: Uint8Array.from(f.slots, (x) => x.type), slots: BigUint64Array.from(f.slots, (x) => x.bits) }));
      for (const arch of ARCHES) {
        if (arch === 'arm64') needArm();
        // no resume.check: the linker checks sites and slot types only, not callers and callees
        const image = compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes: restoreModule(s) }], arch, resume: { state: 'suspended', frames } });
        const path = join(dir, `bypass${n++}.img`);
        writeFileSync(path, image);
        const r = loader(arch, [path]);
        expect([arch, r.status, r.signal]).toEqual([arch, 134, null]);
        expect(r.stderr).toMatch(trap);
      }
    }
  }, 600000);

  test('passive data, the function table and every byte a module chose are mapped readable, never executable', async () => {
    const img = compile(await file(attack(1n)));
    const image = readImage(readFileSync(img));
    // the segment's bytes are in the read-only data section, not in the text
    const shell = Buffer.from([0xcc, 0xcc, 0xcc, 0xcc, 0x0f, 0x05, 0xc3]);
    expect(Buffer.from(image.rodata!).indexOf(shell)).toBeGreaterThan(0);
    expect(Buffer.from(image.text).indexOf(shell)).toBe(-1);
    const r = loader('x86-64', [img], { test: true, env: { GATE_RUN_TEST_MAPS: '1' } });
    expect(r.status).toBe(42);
    const maps = r.stderr.split('\n').filter((l) => l.startsWith('gate-run: test: text+'));
    const rodataAt = Math.ceil(image.text.length / 65536) * 65536;
    expect(maps).toContainEqual(expect.stringMatching(/^gate-run: test: text\+0x0\.\.0x[0-9a-f]+ r-xp$/));
    expect(maps).toContainEqual(`gate-run: test: text+0x${rodataAt.toString(16)}..0x${(rodataAt + Math.ceil(image.rodata!.length / 4096) * 4096).toString(16)} r--p`);
    // nothing executable at or past the read-only data
    for (const m of maps) {
      const [lo] = /0x([0-9a-f]+)\.\./.exec(m)!.slice(1).map((h) => parseInt(h, 16));
      if (lo >= rodataAt) expect(m).not.toMatch(/x.$/);
    }
  }, 120000);

  test('the loaders are static-pie (placed at a random address) and keep nothing of the host environment', async () => {
    for (const arch of ARCHES) {
      const b = readFileSync(loaderPath(arch));
      expect(b.readUInt16LE(16)).toBe(3); // ET_DYN
      const phoff = Number(b.readBigUInt64LE(32)), phentsize = b.readUInt16LE(54), phnum = b.readUInt16LE(56);
      expect(Array.from({ length: phnum }, (_, k) => b.readUInt32LE(phoff + k * phentsize))).not.toContain(3); // PT_INTERP
    }
    // the environment strings the kernel put in the loader's memory are zero while the program runs
    const img = compile(await file(`(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1) (data (i32.const 16) "ready\\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 6))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (i32.store (i32.const 4) (i32.const 1))
        (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))))`));
    const secret = 'GATE_TEST_SECRET=hunter2-' + n;
    const child = spawn(loaderPath('x86-64'), [img], { env: { GATE_TEST_SECRET: secret.slice(17), PATH: '/usr/bin' }, stdio: ['pipe', 'pipe', 'pipe'] });
    const environ = await new Promise<string>((ok) => {
      child.stdout.once('data', () => {
        const e = readFileSync(`/proc/${child.pid}/environ`, 'latin1');
        child.stdin.end('x');
        ok(e);
      });
    });
    await new Promise((ok) => child.on('close', ok));
    expect(environ).not.toContain('hunter2');
    expect(environ).not.toContain('PATH=');
    expect(environ.replace(/\0/g, '')).toBe('');
  }, 120000);
});

// ---- 2. a preopen that reaches procfs -------------------------------------------------------

/** A WASI program that opens PATH beneath preopen fd 3 and copies it to stdout; exit 100 + errno if it cannot. */
const cat = (path: string, directory = false): string => `(module
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) ${watString(path)})
  (func (export "_start") (local $fd i32) (local $e i32) (local $n i32)
    (local.set $e (call $open (i32.const 3) (i32.const 1) (i32.const 1024) (i32.const ${Buffer.byteLength(path)}) ${directory ? '(i32.const 2) (i64.const 0x4000) (i64.const 0)' : '(i32.const 0) (i64.const -1) (i64.const -1)'} (i32.const 0) (i32.const 0)))
    (if (local.get $e) (then (call $exit (i32.add (i32.const 100) (local.get $e)))))
    (local.set $fd (i32.load (i32.const 0)))
    (loop $l
      (i32.store (i32.const 16) (i32.const 4096)) (i32.store (i32.const 20) (i32.const 8192))
      (local.set $e (call $read (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 24)))
      (if (local.get $e) (then (call $exit (i32.add (i32.const 200) (local.get $e)))))
      (local.set $n (i32.load (i32.const 24)))
      (if (i32.eqz (local.get $n)) (then (call $exit (i32.const 0))))
      (i32.store (i32.const 32) (i32.const 4096)) (i32.store (i32.const 36) (local.get $n))
      (drop (call $write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 40)))
      (br $l))))`;
const ENOTCAPABLE = 76;

describe('2. preopens never reach procfs, sysfs, other pseudo file systems or devices', () => {
  test.each(ARCHES)('%s: --dir /proc, /sys, /proc/self are refused; beneath --dir / nothing of /proc, /sys, /dev opens; ordinary files do', async (arch) => {
    if (arch === 'arm64') needArm();
    const run = async (path: string, pre: string, directory = false): Promise<SpawnSyncReturns<string>> => node('gate-run', [compile(await file(cat(path, directory)), arch), '--dir', pre]);
    for (const pre of ['/proc::/proc', '/sys::/sys', '/proc/self::/self']) {
      const r = await run('self/environ', pre);
      expect([pre, r.status]).toEqual([pre, 2]);
      expect(r.stderr).toMatch(/^gate-run: --dir \/(proc|sys)\S*::\/\w+: \/\S+ is on a (proc|sysfs) file system, which shows the host's kernel and processes, not files: refused\n$/);
      expect(r.stdout).toBe('');
    }
    for (const path of ['proc/self/environ', 'proc/self/mem', 'proc/1/environ', 'sys/kernel/hostname', 'dev/null', 'dev/pts/ptmx']) {
      const r = await run(path, '/::/');
      expect([path, r.status, r.stdout]).toEqual([path, 100 + ENOTCAPABLE, '']);
    }
    // the mount point itself, opened as a directory (its fd would list the host's processes)
    for (const path of ['proc', 'sys', 'proc/']) {
      const r = await run(path, '/::/', true);
      expect([path, r.status, r.stdout]).toEqual([path, 100 + ENOTCAPABLE, '']);
    }
    expect((await run('etc', '/::/', true)).status).toBe(231); // opened; reading a directory is WASI's EISDIR (31)
    const hosts = await run('etc/hostname', '/::/');
    expect([hosts.status, hosts.stdout]).toEqual([0, readFileSync('/etc/hostname', 'utf8')]);
  }, 600000);
});

// ---- 3. SIGQUIT windows ----------------------------------------------------------------------

describe('3. SIGQUIT never kills the loader or gate-run', () => {
  const LOOP = `(module (memory (export "memory") 1)
    (func (export "_start") (local $i i32) (loop $l (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 1000))))))`;

  test('the loader blocks SIGQUIT at its first instruction (its ELF entry is gate_entry)', () => {
    for (const path of [loaderPath('x86-64'), loaderPath('arm64'), LAUNCH]) {
      const nm = spawnSync(path.includes('aarch64') ? 'aarch64-linux-gnu-nm' : 'nm', [path], { encoding: 'utf8' });
      const entry = /^([0-9a-f]+) T gate_entry$/m.exec(nm.stdout);
      expect(entry).not.toBeNull();
      expect(readFileSync(path).readBigUInt64LE(24)).toBe(BigInt(`0x${entry![1]}`));
    }
  });

  test.each(ARCHES)('%s: a request pending before the loader starts is kept and honoured at the first check', async (arch) => {
    if (arch === 'arm64') needArm();
    const img = compile(await file(LOOP), arch);
    const state = join(dir, `pend${n++}`);
    const foreign = arch === 'arm64' && process.arch !== 'arm64';
    const argv = [...(foreign ? ['qemu-aarch64', loaderPath('arm64'), '--emulated'] : [loaderPath(arch)]), img, '--state-out', state];
    // blocked and pending when the loader is executed (env --block-signal, coreutils 8.31+)
    const r = spawnSync('env', ['--block-signal=QUIT', 'sh', '-c', 'kill -QUIT $$; exec "$@"', 'sh', ...argv], { encoding: 'utf8', timeout: 120000 });
    expect([r.status, r.signal]).toEqual([3, null]);
    expect(r.stderr).toMatch(/^suspended\n {2}at _start/);
    const s = readSnapshot(snapshotOf(readFileSync(img), readFileSync(state)));
    expect(s.frames.map((f) => f.site)).toEqual([0]); // the first check: _start's entry
  }, 120000);

  test('gate-run: a request that came before its listener (GATE_RUN_EARLY_QUIT) suspends the program at its first check', async () => {
    const img = compile(await file(LOOP));
    const r = node('gate-run', [img, '--snapshot', join(dir, 'early.wasm')], { env: { GATE_RUN_EARLY_QUIT: '1' } });
    expect(r.status).toBe(3);
    expect(readSnapshot(readFileSync(join(dir, 'early.wasm'))).frames.map((f) => f.site)).toEqual([0]);
  }, 120000);

  describe('gate-run-launch, which bin/gate-run.js runs node under', () => {
    /** A stand-in for node: a shell script given the launcher's pipe and told how to behave. */
    function fake(script: string): string {
      const p = join(dir, `fake${n++}.sh`);
      writeFileSync(p, `#!/bin/sh\n${script}\n`);
      chmodSync(p, 0o755);
      return p;
    }
    test('node killed by SIGQUIT while starting (before it listens) is started again, with the request', () => {
      const marker = join(dir, `started${n++}`);
      // first run: dies of SIGQUIT before writing R; second: reports what it was given
      const f = fake(`if [ ! -e ${marker} ]; then touch ${marker}; kill -QUIT $$; exit 3; fi
printf R >&$GATE_RUN_LAUNCHER_FD; echo "early=$GATE_RUN_EARLY_QUIT"; printf 'E7\\n' >&$GATE_RUN_LAUNCHER_FD; exit 7`);
      const r = spawnSync(LAUNCH, ['sh', f], { encoding: 'utf8', timeout: 60000 });
      expect([r.status, r.signal, r.stdout]).toEqual([7, null, 'early=1\n']);
    });
    test('node killed by SIGQUIT while exiting (after E<status>) exits with that status', () => {
      const f = fake(`printf R >&$GATE_RUN_LAUNCHER_FD; printf 'E42\\n' >&$GATE_RUN_LAUNCHER_FD; kill -QUIT $$; exit 3`);
      const r = spawnSync(LAUNCH, ['sh', f], { encoding: 'utf8', timeout: 60000 });
      expect([r.status, r.signal]).toEqual([42, null]);
    });
    test('a SIGQUIT sent to the launcher reaches node once it listens; other deaths are passed on', async () => {
      const f = fake(`trap 'echo got-quit; exit 9' QUIT; printf R >&$GATE_RUN_LAUNCHER_FD; echo listening; while :; do sleep 0.05; done`);
      const child = spawn(LAUNCH, ['sh', f], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      await new Promise<void>((ok) => child.stdout.on('data', (d) => { out += d; if (out.includes('listening')) ok(); }));
      child.kill('SIGQUIT');
      const [status, signal] = await new Promise<[number | null, string | null]>((ok) => child.on('close', (s, g) => ok([s, g])));
      expect([status, signal, out]).toEqual([9, null, 'listening\ngot-quit\n']);
      const killed = spawnSync(LAUNCH, ['sh', fake('kill -TERM $$')], { encoding: 'utf8', timeout: 60000 });
      expect(killed.signal).toBe('SIGTERM');
    });
    test('bin/gate-run.js run as a program goes through the launcher and keeps the program\'s status', async () => {
      const img = compile(await file(`(module (import "wasi_snapshot_preview1" "proc_exit" (func $e (param i32))) (memory (export "memory") 1) (func (export "_start") (call $e (i32.const 5))))`));
      const r = spawnSync(bin('gate-run'), [img], { encoding: 'utf8', timeout: 120000, cwd: dir });
      expect([r.status, r.signal, r.stderr]).toEqual([5, null, '']);
    });
  });
});

// ---- 4. corrupt images: fuzz/src/images.test.ts (x86-64 and arm64) -------------------------

// ---- 5. names reach the terminal raw --------------------------------------------------------

describe('5. control characters in names are escaped in every message and listing', () => {
  const NAME = '\x1b]0;pwned\x07\x1b[2J\rwagc: compiled OK\u009b31m';
  // eslint-disable-next-line no-control-regex
  const RAW = /[\x00-\x08\x0a-\x1f\x7f]|\xc2[\x80-\x9f]|[\u0080-\u009f]/;
  const noRaw = (s: string): string => s.replace(/\n/g, '');

  test('wagc errors', async () => {
    const wasm = await file(`(module (import "env" ${watString(NAME)} (func)) (func (export "_start")))`);
    const r = node('wagc', [wasm, '-o', join(dir, 'x.img')]);
    expect(r.status).toBe(1);
    expect(noRaw(r.stderr)).not.toMatch(RAW);
    expect(r.stderr).toContain('unknown import env.\\x1b]0;pwned\\x07\\x1b[2J\\x0dwagc: compiled OK\\x9b31m (func)');
    expect(r.stderr.split('\n')).toHaveLength(2);
  });

  test.each(ARCHES)('%s: gate-run\'s stack traces, gate-inspect\'s text; its JSON keeps the name', async (arch) => {
    if (arch === 'arm64') needArm();
    const wasm = await file(`(module (memory (export "memory") 1)
      (func (export ${watString(NAME)}) unreachable) (func (export "_start") (call 0)))`);
    const img = compile(wasm, arch);
    const snap = join(dir, `named${n++}.wasm`);
    const r = node('gate-run', [img, '--snapshot', snap]);
    expect(r.status).toBe(134);
    expect(noRaw(r.stderr)).not.toMatch(RAW);
    expect(r.stderr).toContain('  at \\x1b]0;pwned\\x07\\x1b[2J\\x0dwagc: compiled OK\\xc2\\x9b31m (wasm offset');
    for (const f of [img, snap]) {
      const t = node('gate-inspect', [f]);
      expect(t.status).toBe(0);
      expect(noRaw(t.stdout)).not.toMatch(RAW);
      expect(t.stdout).toContain('\\x1b]0;pwned');
      const j = node('gate-inspect', [f, '--json']);
      expect(JSON.stringify(JSON.parse(j.stdout))).toContain(JSON.stringify(NAME).slice(1, -1));
    }
  }, 120000);
});

// ---- 6. amplification and limits -------------------------------------------------------------

describe('6. limits for a service that compiles and runs untrusted code', () => {
  test('a 50-byte module with a table of 10,000,000 entries makes a small image, which runs', async () => {
    const wasm = await file('(module (memory (export "memory") 1) (table 10000000 funcref) (func (export "_start")))');
    expect(statSync(wasm).size).toBeLessThan(80);
    const img = compile(wasm);
    expect(statSync(img).size).toBeLessThan(1 << 20);
    expect(node('gate-run', [img]).status).toBe(0);
  }, 120000);

  test('one-byte data segments on 3000 distinct pages: holes in the image and in the loader, not bytes', async () => {
    let text = '(module (memory (export "memory") 3000) (func (export "_start") (if (i32.ne (i32.load8_u (i32.const 0x1000100)) (i32.const 7)) (then unreachable)))';
    for (let k = 0; k < 3000; k++) text += `(data (i32.const ${k * 65536 + (k % 60000)}) "\\07")`;
    const img = compile(await file(`${text})`));
    const st = statSync(img);
    expect(st.size).toBeGreaterThan(3000 * 65536); // the pages' offsets
    expect(st.blocks * 512).toBeLessThan(32 << 20); // their blocks: 4 KiB each, not 64
    for (const arch of ARCHES) {
      if (arch === 'arm64') needArm();
      expect(node('gate-run', [compile(img.replace(/\.x86-64\.img$/, '.wasm'), arch)]).status).toBe(0);
    }
  }, 300000);

  test('wagc refuses an image past its limit (holes included) in one line; --max-image-size lowers it', async () => {
    // 65,536 one-byte segments on distinct pages would be a 4 GiB image
    let text = '(module (memory 65536)';
    for (let k = 0; k < 65536; k++) text += `(data (i32.const ${k * 65536}) "\\01")`;
    const wasm = await file(`${text})`);
    const r = node('wagc', [wasm, '-o', join(dir, 'huge.img')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^wagc: error: .*: CompileError: image too large \(bytes\): \d+, more than the compiler limit of 2147483648\n$/);
    expect(existsSync(join(dir, 'huge.img'))).toBe(false);
    const small = await file('(module (memory 1) (data (i32.const 0) "x"))');
    expect(node('wagc', [small, '-o', join(dir, 's.img'), '--max-image-size', '65536']).stderr).toMatch(/image too large \(bytes\): \d+, more than the compiler limit of 65536/);
  }, 300000);

  test.each(ARCHES)('%s: --max-memory: memory.grow returns -1 past it; a memory that starts larger is refused', async (arch) => {
    if (arch === 'arm64') needArm();
    const wasm = await file(`(module (import "wasi_snapshot_preview1" "proc_exit" (func $e (param i32)))
      (memory (export "memory") 2)
      (func (export "_start")
        (if (i32.ne (memory.grow (i32.const 2)) (i32.const 2)) (then (call $e (i32.const 10))))
        (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then (call $e (i32.const 11))))
        (i32.store (i32.const 0x3fffc) (i32.const 1))
        (call $e (i32.const 0))))`);
    const img = compile(wasm, arch);
    expect(node('gate-run', [img, '--max-memory', String(4 * 65536 + 100)]).status).toBe(0);
    const r = node('gate-run', [img, '--max-memory', '65536']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('gate-run: the program\'s memory starts at 2 pages (131072 bytes), more than --max-memory allows (65536 bytes)\n');
    expect(node('gate-run', [img, '--max-memory', 'lots']).stderr).toMatch(/--max-memory: a number of bytes/);
  }, 120000);
});

// ---- 7. the CLIs ---------------------------------------------------------------------------

describe('7. the CLIs refuse what would destroy input or mislead', () => {
  let wasm: string;
  let img: string;
  beforeAll(async () => {
    wasm = await file('(module (memory (export "memory") 1) (func (export "_start")))');
    img = compile(wasm);
  });
  const usage = (r: SpawnSyncReturns<string>, re: RegExp): void => {
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr.split('\n')).toHaveLength(2);
  };

  test('wagc x.wasm -o x.wasm does not replace its input (nor through another path to it)', () => {
    const before = readFileSync(wasm);
    usage(node('wagc', [wasm, '-o', wasm]), /-o .* is the input itself: wagc never replaces its input/);
    usage(node('wagc', [wasm, '-o', join(dir, '.', 'sub', '..', wasm.slice(dir.length + 1))]), /is the input itself/);
    expect(readFileSync(wasm)).toEqual(before);
  });
  test('gate-run c.img --snapshot c.img (or --instance-file c.img) does not overwrite the image', () => {
    const before = readFileSync(img);
    usage(node('gate-run', [img, '--snapshot', img]), /--snapshot .* is the image itself, which gate-run never overwrites/);
    usage(node('gate-run', [img, '--instance-file', img]), /--instance-file .* is the image itself/);
    expect(readFileSync(img)).toEqual(before);
  });
  test('-o twice, --arch without a value, x86-64 features for arm64: usage errors', () => {
    usage(node('wagc', [wasm, '-o', join(dir, 'a.img'), '-o', join(dir, 'b.img')]), /^wagc: error: -o given more than once/);
    usage(node('wagc', [wasm, '-o', join(dir, 'a.img'), '--arch']), /^wagc: error: Not enough arguments following: arch/);
    usage(node('wagc', [wasm, '-o', join(dir, 'a.img'), '--arch', 'arm64', '--cpu-features', 'popcnt']), /^wagc: error: --cpu-features popcnt: those are x86-64 features; arm64 has none/);
    expect(existsSync(join(dir, 'a.img'))).toBe(false);
  });
  test('gate-run --stack-size 0 is a usage error naming the range; --timeout 1e12 says its limit; 1e3 works', () => {
    usage(node('gate-run', [img, '--stack-size', '0']), /^gate-run: error: --stack-size: a number of bytes from 65536 \(64 KiB\) to 1073741824 \(1 GiB\), not "0"/);
    usage(node('gate-run', [img, '--timeout', '1e12']), /^gate-run: error: --timeout 1e12: at most 31536000 seconds \(a year\)/);
    expect(node('gate-run', [img, '--timeout', '1e3']).status).toBe(0);
    usage(node('gate-run', [img, '--timeout', 'soon']), /--timeout: a positive number of seconds, not "soon"/);
  });
  test('a 246-character output name works (the temporary name stays within NAME_MAX)', () => {
    const name = join(dir, `${'n'.repeat(242)}.img`);
    const r = node('wagc', [wasm, '-o', name]);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(readFileSync(name).subarray(0, 8).toString('latin1')).toBe('WAGCIMG\0');
  });
  test('gate-inspect says "resumable" only for what wagc accepts (the same validator)', async () => {
    const { evil } = await crafted(1n, (f) => [{ func: B, site: 1, slots: [{ type: 0x7f, bits: 1n }] }, ...f.slice(1)]);
    const good = (await crafted(1n, (f) => f)).evil;
    for (const [snap, ok] of [[evil, false], [good, true]] as const) {
      const resumable = JSON.parse(node('gate-inspect', [snap, '--json']).stdout).resumable;
      const compiled = node('wagc', [snap, '-o', join(dir, 'r.img')]).status === 0;
      expect([resumable === true, compiled]).toEqual([ok, ok]);
    }
  }, 300000);
});


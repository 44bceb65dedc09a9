/**
 * Issue 5's migration tests: programs suspended at random points (--suspend-after), their
 * snapshots compiled for a randomly chosen arch and resumed, again and again until they end,
 * must print and exit exactly as an uninterrupted run. ARM64 runs under qemu-aarch64.
 */
import { spawnSync, spawn } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { wat } from '../e2e/helpers';
import { PROGRAMS, SPLIT_PROGRAM } from './programs';

const root = resolve(__dirname, '../..');
const wagc = join(root, 'packages/cli/bin/wagc.js');
const gateRun = join(root, 'packages/cli/bin/gate-run.js');
const haveArm = existsSync(join(root, 'packages/loader-c/build/gate-run-aarch64')) && spawnSync('qemu-aarch64', ['--version']).status === 0;
const ARCHES = haveArm ? ['x86-64', 'arm64'] as const : ['x86-64'] as const;

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'wagc-migration-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small seeded PRNG (the seed is printed so a failure can be replayed with MIGRATION_SEED). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function compile(input: string, out: string, arch: string): void {
  const r = spawnSync('node', [wagc, input, '-o', out, '--arch', arch], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wagc ${input} --arch ${arch}: ${r.stderr}`);
}

function run(image: string, extra: string[], input = ''): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync('node', [gateRun, image, ...extra], { encoding: 'utf8', input, timeout: 120000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const seed = Number(process.env.MIGRATION_SEED ?? Date.now() % 100000);

/** True when a child of `pid` sits in read(0, …) (x86-64 syscall 0, /proc/PID/syscall). */
function blockedInRead(pid: number): boolean {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.some((k) => /^0 0x0 /.test(readFileSync(`/proc/${k}/syscall`, 'utf8')));
  } catch {
    return false;
  }
}

describe(`migration across ${ARCHES.join(' and ')} (seed ${seed})`, () => {
  const names = Object.keys(PROGRAMS).filter((n) => n !== 'stdin');

  test('suspended inside a call with more results than parameters, resumed on the other arch', async () => {
    const wasm = join(dir, 'mv-split.wasm');
    writeFileSync(wasm, await wat(SPLIT_PROGRAM));
    const img = join(dir, 'mv-split.img');
    compile(wasm, img, 'x86-64');
    const want = run(img, []);
    expect(want.status).toBe(0);
    expect(want.stdout.split('\n')).toHaveLength(3);
    // the loader's timer starts with the instance: $split's loop takes most of the run, so a
    // suspension soon after the start stops it there, its caller waiting for four results with
    // a value pending below them (later, if the machine was too slow to reach the loop yet)
    const snap = join(dir, 'mv-split.snapshot.wasm');
    let r = { stdout: '', stderr: '', status: null as number | null };
    for (let after = 30; after < 4000; after *= 2) {
      r = run(img, ['--suspend-after', String(after), '--snapshot', snap]);
      if (r.status !== 3 || /^suspended\n {2}at split /.test(r.stderr)) break;
    }
    expect(r.stderr).toMatch(/^suspended\n {2}at split [^\n]*\n {2}at _start /);
    expect(r.stdout).toBe('');
    const arch = ARCHES[ARCHES.length - 1];
    const img2 = join(dir, `mv-split.${arch}.img`);
    compile(snap, img2, arch);
    const r2 = run(img2, []);
    expect(r2.stderr).toBe('');
    expect(r2.status).toBe(0);
    expect(r2.stdout).toBe(want.stdout);
  }, 600000);
  test.each(names)('%s: suspended at random points, resumed on random arches, prints what an uninterrupted run prints', async (name) => {
    const random = rng(seed + name.length * 7919 + name.charCodeAt(0));
    const wasm = join(dir, `${name}.wasm`);
    writeFileSync(wasm, await wat(PROGRAMS[name]));
    compile(wasm, join(dir, `${name}.x86-64.img`), 'x86-64');
    // uninterrupted runs on every arch: the expected output, and how long a run takes there
    const wall: Record<string, number> = {};
    let want = { stdout: '', stderr: '', status: null as number | null };
    for (const arch of ARCHES) {
      const img = join(dir, `${name}.${arch}.img`);
      if (arch !== 'x86-64') compile(wasm, img, arch);
      const t0 = Date.now();
      const r = run(img, []);
      wall[arch] = Date.now() - t0;
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      if (arch === 'x86-64') want = r;
      else expect(r.stdout).toBe(want.stdout);
    }
    expect(want.stdout.length).toBeGreaterThan(0);

    let arch: string = ARCHES[Math.floor(random() * ARCHES.length)];
    let image = join(dir, `${name}.start.img`);
    compile(wasm, image, arch);
    let stdout = '';
    const path: string[] = [arch];
    let retries = 0;
    let firstAfter = -1;
    for (let hop = 0; hop < 12; hop++) {
      // a point inside the run (the wall time includes starting node and, for arm64, qemu)
      // (the first suspension early enough that every program migrates at least once)
      let after = hop === 0 && firstAfter >= 0 ? firstAfter : 30 + Math.floor(random() * wall[arch] * (hop < 2 ? 0.2 : 0.5));
      const snap = join(dir, `${name}.${hop}.snapshot.wasm`);
      const r = run(image, ["--suspend-after", String(after), "--snapshot", snap]);
      // eslint-disable-next-line no-console -- MIGRATION_DEBUG asks for it
      if (process.env.MIGRATION_DEBUG) console.log(name, hop, arch, after, r.status, JSON.stringify(r.stderr));
      if (hop === 0 && r.status !== 3 && after > 5 && retries++ < 6) {
        // the machine was quicker than the measured run (load varies): suspend earlier
        after = Math.max(5, after >> 1);
        hop--;
        firstAfter = after;
        continue;
      }
      stdout += r.stdout;
      if (r.status !== 3) {
        expect(r.stderr).toBe('');
        expect(r.status).toBe(want.status);
        break;
      }
      expect(r.stderr).toMatch(/^suspended\n {2}at /);
      const wv = spawnSync('wasm-validate', [snap]);
      if (!wv.error) expect(wv.status).toBe(0);
      // mostly to the other arch (always on the first hop), so chains cross both ways
      if (hop === 0 || random() < 0.75) arch = ARCHES[(ARCHES.indexOf(arch as never) + 1) % ARCHES.length];
      path.push(arch);
      image = join(dir, `${name}.${hop}.img`);
      compile(snap, image, arch);
    }
    // eslint-disable-next-line no-console -- the hops each program took
    console.log(`${name}: ${path.join(' -> ')} (uninterrupted runs: ${ARCHES.map((a) => `${a} ${wall[a]} ms`).join(', ')})`);
    expect(stdout).toBe(want.stdout);
    expect(path.length).toBeGreaterThan(1);
  }, 600000);

  test('a program blocked on stdin: suspended inside its read, the read restarts on resume', async () => {
    const wasm = join(dir, 'stdin.wasm');
    writeFileSync(wasm, await wat(PROGRAMS.stdin));
    const img = join(dir, 'stdin.img');
    compile(wasm, img, 'x86-64');
    const part1 = 'x'.repeat(5000), part2 = 'hello, world\n'.repeat(100);
    const want = run(img, [], part1 + part2);
    expect(want.status).toBe(0);
    // first run: gets part1, then blocks in a read on an open pipe until SIGQUIT
    const snap = join(dir, 'stdin.snapshot.wasm');
    const child = spawn('node', [gateRun, img, '--snapshot', snap], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.stdin.write(part1);
    // wait until the loader (gate-run's child) is blocked reading fd 0: part1 is consumed
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline && !blockedInRead(child.pid!)) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGQUIT');
    const status = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(err).toMatch(/^suspended\n/);
    expect(status).toBe(3);
    // resumed on the other arch, with the rest of the input
    const arch = ARCHES[ARCHES.length - 1];
    const img2 = join(dir, `stdin.${arch}.img`);
    compile(snap, img2, arch);
    const r = run(img2, [], part2);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(out + r.stdout).toBe(want.stdout);
  }, 300000);
});

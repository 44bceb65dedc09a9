/**
 * Start-up time and the idle footprint of an instance (issue 6).
 *   npm run bench:startup [-- --runs 40] [-- --touch 0,16] [-- --arm64] [-- --memory-only]
 *
 * 1. Start to exit: wall time of a hello world (bench/startup/hello.c, printf through wasi-libc)
 *    from spawn to exit, median of --runs, the contenders taking turns run by run:
 *    - native: the same C built with gcc -O2 -static;
 *    - gate-run: `gate-run hello.img` as a user types it, the command found on $PATH (setup.sh
 *      puts it there; else packages/cli/bin/gate-run, said so): the static loader itself (parse
 *      the command line, fork the snapshot helper, map the image, create the instance, enter the
 *      sandbox, run). Issue 14's target: at most 1.5 × native;
 *    - node + gate-run: `node packages/cli/bin/gate-run.js hello.img`, what scripts that spawn node use;
 *    - node:wasi: `node` compiling and running hello.wasm with node:wasi;
 *    - with --arm64, the arm64 image under qemu-aarch64 (emulated, not an ARM64 machine's time).
 *    Every run must print "hello, world" and exit 0.
 * 2. Idle footprint: bench/startup/idle.c touches --touch MiB of heap, prints "ready" and blocks
 *    reading stdin. Once it is ready, the resident memory of the process (/proc/PID/smaps): for
 *    gate-run split by mapping, and "beyond linear memory" = everything but the wasm memory's
 *    own resident pages, plus the private pages of its snapshot helper (its other resident pages
 *    are gate-run's own, shared); beside it the native build and node:wasi. Issue 14's target:
 *    gate-run at most 128 KiB more than native.
 */
import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync } from 'fs';
import { cpus, loadavg } from 'os';
import { join, resolve } from 'path';
import { loaderPath } from '@wagc/loader-c';
import { wagc } from '@wagc/cli';

const root = resolve(__dirname, '../..');
const srcDir = join(root, 'bench/startup');
const outDir = join(root, 'out/bench/startup');
const gateRunJs = join(root, 'packages/cli/bin/gate-run.js');

/** The gate-run command a user runs: the first on $PATH, else the CLI package's bin (the loader). */
function gateRunCommand(): { path: string; how: string } {
  for (const d of (process.env.PATH ?? '').split(':')) {
    if (d && existsSync(join(d, 'gate-run'))) return { path: join(d, 'gate-run'), how: `on the PATH: ${join(d, 'gate-run')} -> ${realpathSync(join(d, 'gate-run'))}` };
  }
  const bin = join(root, 'packages/cli/bin/gate-run');
  return { path: bin, how: `not on the PATH: ${bin} -> ${realpathSync(bin)}` };
}
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : def;
};
const runs = Number(opt('runs', '40'));
const touches = opt('touch', '0,16').split(',').filter((s) => s !== '').map(Number);
const arm64 = args.includes('--arm64');
const KIB = 1024;

const NODE_WASI = `
  const { WASI } = require('node:wasi');
  const [wasm, ...rest] = process.argv.slice(1);
  const wasi = new WASI({ version: 'preview1', args: [wasm, ...rest], env: {}, returnOnExit: true });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(require('fs').readFileSync(wasm)), { wasi_snapshot_preview1: wasi.wasiImport });
  process.exitCode = wasi.start(inst);`;
const NODE_FLAGS = ['--no-turbo-fast-api-calls', '--no-warnings'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

async function build(): Promise<{ hello: Record<string, string>; idle: Record<string, string> }> {
  mkdirSync(outDir, { recursive: true });
  const out = { hello: {} as Record<string, string>, idle: {} as Record<string, string> };
  for (const prog of ['hello', 'idle'] as const) {
    const native = join(outDir, `${prog}-native`);
    const cc = spawnSync('gcc', ['-O2', '-static', '-o', native, join(srcDir, `${prog}.c`)], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc -static ${prog}.c: ${cc.stderr}`);
    out[prog].native = native;
    out[prog].wasm = join(srcDir, `${prog}.wasm`);
    for (const arch of arm64 ? ['x86-64', 'arm64'] : ['x86-64']) {
      const img = join(outDir, `${prog}-${arch}.img`);
      if (await wagc([out[prog].wasm, '-o', img, '--arch', arch]) !== 0) throw new Error(`wagc ${prog}.wasm --arch ${arch} failed`);
      out[prog][arch] = img;
    }
  }
  return out;
}

interface Contender { name: string; cmd: string; args: string[] }

function startup(hello: Record<string, string>): void {
  const gateRun = gateRunCommand();
  console.log(`\ngate-run ${gateRun.how}`);
  const contenders: Contender[] = [
    { name: 'native (gcc -O2 -static)', cmd: hello.native, args: [] },
    { name: 'gate-run hello.img', cmd: gateRun.path, args: [hello['x86-64']] },
    { name: 'node + gate-run (bin/gate-run.js)', cmd: process.execPath, args: [gateRunJs, hello['x86-64']] },
    { name: 'node:wasi', cmd: process.execPath, args: [...NODE_FLAGS, '-e', NODE_WASI, hello.wasm] },
  ];
  if (arm64) contenders.push({ name: 'loader arm64 (qemu, EMULATED)', cmd: 'qemu-aarch64', args: [loaderPath('arm64'), '--emulated', hello.arm64] });
  const times = contenders.map(() => [] as number[]);
  // one untimed round first (page cache, node's code cache)
  for (let r = -1; r < runs; r++) {
    // a different order each round, so that drift in the machine's load falls on all alike
    const order = contenders.map((_, k) => k).sort(() => Math.random() - 0.5);
    for (const k of order) {
      const c = contenders[k];
      const t0 = now();
      const p = spawnSync(c.cmd, c.args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const ms = now() - t0;
      if (p.status !== 0 || p.stdout !== 'hello, world\n') throw new Error(`${c.name}: status ${p.status}, stdout ${JSON.stringify(p.stdout)}, stderr ${p.stderr}`);
      if (r >= 0) times[k].push(ms);
    }
  }
  console.log(`\nstart to exit, hello world (median of ${runs}; spawnSync from node to exit, ms)\n`);
  console.log(`${'contender'.padEnd(36)}${'median'.padStart(9)}${'p10'.padStart(9)}${'p90'.padStart(9)}${'× native'.padStart(10)}${'× gate-run'.padStart(11)}`);
  const med = times.map(median);
  contenders.forEach((c, k) => {
    console.log(`${c.name.padEnd(36)}${med[k].toFixed(2).padStart(9)}${pct(times[k], 0.1).toFixed(2).padStart(9)}${pct(times[k], 0.9).toFixed(2).padStart(9)}` +
      `${(med[k] / med[0]).toFixed(2).padStart(10)}${(med[k] / med[1]).toFixed(2).padStart(11)}`);
  });
  const ratio = med[1] / med[0];
  console.log(`\ngate-run / native ${ratio.toFixed(2)}× (target ≤ 1.5×: ${ratio <= 1.5 ? 'met' : 'NOT met'}), gate-run − native ${(med[1] - med[0]).toFixed(2)} ms, node:wasi / gate-run ${(med[3] / med[1]).toFixed(1)}×`);
}

/** Resident memory by mapping, in KiB, from /proc/PID/smaps. */
interface Mapping { name: string; perms: string; offset: number; size: number; rss: number }
function smaps(pid: number): Mapping[] {
  const out: Mapping[] = [];
  let cur: Mapping | null = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      cur = { name: head[5], perms: head[3], offset: parseInt(head[4], 16), size: (parseInt(head[2], 16) - parseInt(head[1], 16)) / KIB, rss: 0 };
      out.push(cur);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && cur) cur.rss = Number(rss[1]);
  }
  return out;
}

/**
 * The loader's mappings in classes: what is the wasm memory, and what is everything else. In the
 * instance memfd, linear memory comes first and the vmctx + stack mapping last (the highest
 * offset; docs/image-format.md); the image memfd holds the image, whose sections each start on a
 * 64 KiB boundary.
 */
function classify(m: Mapping, loader: string, stateOffset: number): string {
  if (m.name.startsWith('/memfd:gate-instance')) return m.offset < stateOffset ? 'wasm linear memory' : 'vmctx + wasm stack';
  if (m.name.startsWith('/memfd:gate-image') || m.name.endsWith('.img')) return m.perms.includes('x') ? 'text (r-x)' : 'image, read-only view';
  if (m.name === loader) return 'loader binary';
  if (m.name.startsWith('/memfd:gate-run-snapshot')) return 'snapshot memfd';
  if (m.name === '[stack]') return 'C stack';
  if (m.name === '[heap]') return 'C heap';
  return 'other anonymous (altstack, stdio buffers, vdso)';
}

/** Private resident KiB (Private_Clean + Private_Dirty) of `pid`'s children: gate-run's snapshot helper. */
function childPrivate(pid: number): number {
  let kib = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      for (const line of readFileSync(`/proc/${child}/smaps_rollup`, 'utf8').split('\n')) {
        const m = /^Private_(Clean|Dirty):\s+(\d+) kB/.exec(line);
        if (m) kib += Number(m[2]);
      }
    }
  }
  return kib;
}

/** Starts the program, waits for "ready", returns its mappings; then lets it finish. */
async function idleMappings(cmd: string, args: string[], also?: (pid: number) => void): Promise<Mapping[]> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((res, rej) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) res();
    });
    child.on('exit', (s) => rej(new Error(`${cmd} exited (${s}) before it was ready: ${out}`)));
  });
  // let the process settle into its read
  await new Promise((r) => setTimeout(r, 100));
  const maps = smaps(child.pid!);
  also?.(child.pid!);
  const done = new Promise((r) => child.on('exit', r));
  child.stdin.end();
  await done;
  return maps;
}

async function footprint(idle: Record<string, string>): Promise<void> {
  for (const touch of touches) {
    const loader = loaderPath('x86-64');
    let helper = 0;
    const l = await idleMappings(gateRunCommand().path, [idle['x86-64'], String(touch)], (pid) => { helper = childPrivate(pid); });
    const n = await idleMappings(idle.native, [String(touch)]);
    const v = await idleMappings(process.execPath, [...NODE_FLAGS, '-e', NODE_WASI, idle.wasm, String(touch)]);
    const total = (ms: Mapping[]): number => ms.reduce((s, m) => s + m.rss, 0);
    const byClass = new Map<string, number>();
    const stateOffset = Math.max(...l.filter((m) => m.name.startsWith('/memfd:gate-instance')).map((m) => m.offset));
    for (const m of l) byClass.set(classify(m, loader, stateOffset), (byClass.get(classify(m, loader, stateOffset)) ?? 0) + m.rss);
    const linear = byClass.get('wasm linear memory') ?? 0;
    console.log(`\nidle instance blocked on stdin, ${touch} MiB of heap touched (resident KiB, /proc/PID/smaps)\n`);
    for (const [k, kib] of [...byClass].sort((a, b) => b[1] - a[1])) console.log(`  loader: ${k.padEnd(48)}${String(kib).padStart(8)}`);
    console.log(`  ${'gate-run\'s snapshot helper, private pages'.padEnd(56)}${String(helper).padStart(8)}`);
    const mine = total(l) + helper;
    console.log(`  ${'gate-run total (with the helper\'s private pages)'.padEnd(56)}${String(mine).padStart(8)}`);
    console.log(`  ${'gate-run beyond its wasm linear memory'.padEnd(56)}${String(mine - linear).padStart(8)}`);
    console.log(`  ${'native (gcc -static) total'.padEnd(56)}${String(total(n)).padStart(8)}`);
    console.log(`  ${'native beyond the touched heap'.padEnd(56)}${String(total(n) - touch * KIB).padStart(8)}`);
    const over = mine - total(n);
    console.log(`  ${'gate-run − native'.padEnd(56)}${String(over).padStart(8)}   (target ≤ 128 KiB: ${over <= 128 ? 'met' : 'NOT met'})`);
    console.log(`  ${'node:wasi total'.padEnd(56)}${String(total(v)).padStart(8)}`);
    console.log(`  ${'node:wasi beyond the touched heap'.padEnd(56)}${String(total(v) - touch * KIB).padStart(8)}`);
  }
}

async function main(): Promise<void> {
  if (!existsSync(loaderPath('x86-64'))) throw new Error('no loader: npm run build first');
  const [l0] = loadavg();
  console.log(`bench:startup: ${cpus().length} CPUs, load average ${l0.toFixed(2)} at the start`);
  const built = await build();
  if (!args.includes('--memory-only')) startup(built.hello);
  await footprint(built.idle);
  console.log(`\nload average ${loadavg()[0].toFixed(2)} at the end`);
}

main().catch((e) => {
  console.error(`bench:startup: ${(e as Error).message}`);
  process.exit(1);
});

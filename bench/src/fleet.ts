/**
 * The fleet (packages/fleet, docs/fleet.md): throughput of the queue, and what a migration costs.
 *   npm run bench:fleet [-- --jobs 50] [-- --concurrency 2] [-- --runs 3] [-- --arch x86-64,arm64]
 *
 * Starts its own redis-server on a free loopback port (data in a temporary directory) and one
 * gate-worker per arch of --arch (arm64 under qemu-aarch64 on an x86-64 host), then:
 *
 * 1. jobs/s: --jobs hello-world jobs (examples/hello.wat) submitted at once to each arch's queue,
 *    from the first submit until the last has ended (after one warm-up job, so that the image is
 *    compiled and cached). Every job's output is checked; a job not `done 0` with `hello, world`
 *    is reported and the benchmark exits 1.
 * 2. migration against a local suspend + resume, --runs times each, medians: a program printing
 *    a line every few ms (bench/programs/fleet-ticker.wat) is suspended and resumed on the other
 *    arch, and the time is taken from the request (`Fleet.migrate`, or SIGQUIT to a local gate-run)
 *    until the resumed program's first new byte of output (the fleet: in the job's log in Redis;
 *    locally: on the resumed gate-run's stdout). Locally that is gate-run writing the snapshot,
 *    `wagc SNAPSHOT --arch A`, and gate-run starting the image; the fleet adds the snapshot's trip
 *    through the blob store and the queue, and the target worker's takeover.
 *
 * Nothing is asserted about times: they depend on the machine and its load. The coordinator runs
 * it on an idle machine.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { cpus, loadavg, tmpdir } from 'os';
import { join, resolve } from 'path';
import { Fleet, type Arch } from '@wagc/fleet';

const root = resolve(__dirname, '../..');
const bin = (pkg: string, name: string): string => join(root, 'packages', pkg, 'bin', `${name}.js`);
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : def;
};
const jobs = Number(opt('jobs', '50'));
const concurrency = Number(opt('concurrency', '2'));
const runs = Number(opt('runs', '3'));
const arches = opt('arch', 'x86-64,arm64').split(',').filter(Boolean) as Arch[];
for (const a of arches) if (a !== 'x86-64' && a !== 'arm64') throw new Error(`--arch: x86-64 or arm64, not ${a}`);

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
async function until<T>(what: string, fact: () => Promise<T | null | false | undefined>, ms = 300000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fact();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(5);
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');
async function wat(path: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat(path, readFileSync(path, 'utf8'));
  try {
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'wagc-bench-fleet-'));
  const children: ChildProcess[] = [];
  let fleet: Fleet | null = null;
  let failed = false;
  try {
    console.log(`fleet benchmark: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; workers: ${arches.join(', ')} at concurrency ${concurrency}`);
    const port = await freePort();
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', join(dir, 'redis.log')], { stdio: 'ignore' });
    children.push(redis);
    const url = `redis://127.0.0.1:${port}`;
    fleet = await until('redis-server', async () => Fleet.connect({ redis: url }).catch(() => null), 30000);
    for (const arch of arches) {
      children.push(spawn(process.execPath, [bin('fleet', 'gate-worker'), '--redis', url, '--arch', arch, '--name', `bench-${arch}`,
        '--concurrency', String(concurrency), '--quiet', '--work', join(dir, `work-${arch}`)], { stdio: 'inherit' }));
    }
    const f = fleet;
    await until('the workers', async () => (await f.workers()).length === arches.length && true, 60000);

    // 1. jobs per second
    const hello = await wat(join(root, 'examples/hello.wat'));
    console.log('\njobs/s through the queue (hello world, submitted at once, until the last has ended):');
    for (const arch of arches) {
      const warm = (await f.submit(hello, { arch })).id;
      await until('the warm-up job', async () => (await f.record(warm))?.state === 'done');
      const t0 = now();
      const ids = await Promise.all(Array.from({ length: jobs }, () => f.submit(hello, { arch }).then((r) => r.id)));
      const ends = await until(`${jobs} jobs`, async () => {
        const rs = await Promise.all(ids.map((id) => f.record(id)));
        return rs.every((r) => r && ['done', 'failed', 'cancelled'].includes(r.state)) ? rs : null;
      });
      const ms = now() - t0;
      let bad = 0;
      for (const r of ends) {
        if (r!.state !== 'done' || r!.exitStatus !== 0 || (await f.logs(r!.id)).toString() !== 'hello, world\n') bad++;
      }
      if (bad) failed = true;
      console.log(`  ${arch.padEnd(7)} ${jobs} jobs in ${(ms / 1000).toFixed(2)} s: ${(jobs / (ms / 1000)).toFixed(1)} jobs/s${bad ? `  (${bad} jobs WRONG)` : ''}`);
    }

    // 2. migration against a local suspend + resume
    const tickerWasm = join(dir, 'ticker.wasm');
    writeFileSync(tickerWasm, await wat(join(root, 'bench/programs/fleet-ticker.wat')));
    const pairs: [Arch, Arch][] = arches.length > 1 ? [[arches[0], arches[1]], [arches[1], arches[0]]] : [[arches[0], arches[0]]];
    console.log(`\nsuspend → resumed on the other arch, until the resumed program's first output (median of ${runs}):`);
    for (const [from, to] of pairs) {
      const local: number[] = [];
      const viaFleet: number[] = [];
      for (let k = 0; k < runs; k++) {
        local.push(await localMove(dir, tickerWasm, from, to));
        viaFleet.push(await fleetMove(f, readFileSync(tickerWasm), from, to));
      }
      console.log(`  ${from} → ${to}: local gate-run + wagc + gate-run ${median(local).toFixed(0)} ms, through the fleet ${median(viaFleet).toFixed(0)} ms`);
    }
    return failed ? 1 : 0;
  } finally {
    await fleet?.close();
    for (const c of children.reverse()) {
      c.kill('SIGTERM');
      await new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The fleet: submit on `from`, let it print, migrate to `to`, until the new run's first byte is in the log. */
async function fleetMove(f: Fleet, wasm: Uint8Array, from: Arch, to: Arch): Promise<number> {
  const { id } = await f.submit(wasm, { arch: from });
  // running, printing, and past the worker's grace before a SIGQUIT (toolchain.ts, SUSPEND_GRACE_MS)
  await until('output', async () => { const r = await f.record(id); return r?.state === 'running' && r.loaded === r.bullJob && r.stdoutBytes > 0; });
  await sleep(1500);
  const t0 = now();
  await f.migrate(id, to);
  await until('the migrated run\'s output', async () => {
    const r = await f.record(id);
    return r?.state === 'running' && r.arch === to && r.snapshotArch === from && r.stdoutBytes > r.snapshotStdout;
  });
  const ms = now() - t0;
  await f.cancel(id);
  return ms;
}

/** The same by hand: SIGQUIT to gate-run, wagc on the snapshot, gate-run on the image, until its first byte. */
async function localMove(dir: string, wasm: string, from: Arch, to: Arch): Promise<number> {
  const img = join(dir, `local-${from}.img`);
  const r = spawnSync(process.execPath, [bin('cli', 'wagc'), wasm, '-o', img, '--arch', from]);
  if (r.status !== 0) throw new Error(`wagc: ${r.stderr}`);
  const snap = join(dir, 'local.snapshot.wasm');
  const first = spawn(process.execPath, [bin('cli', 'gate-run'), img, '--snapshot', snap], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((res) => first.stdout!.once('data', res));
  first.stdout!.resume();
  await sleep(1500);
  const t0 = now();
  const exited = new Promise<number | null>((res) => first.on('exit', (code) => res(code)));
  first.kill('SIGQUIT');
  if ((await exited) !== 3) throw new Error('the local run did not suspend');
  const resumed = join(dir, `local-resumed-${to}.img`);
  const w = spawnSync(process.execPath, [bin('cli', 'wagc'), snap, '-o', resumed, '--arch', to]);
  if (w.status !== 0) throw new Error(`wagc: ${w.stderr}`);
  const second = spawn(process.execPath, [bin('cli', 'gate-run'), resumed], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((res) => second.stdout!.once('data', res));
  const ms = now() - t0;
  second.kill('SIGKILL');
  return ms;
}

main().then((code) => process.exit(code), (e) => {
  console.error(`bench:fleet: ${(e as Error).stack}`);
  process.exit(1);
});

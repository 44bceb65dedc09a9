/**
 * Issue 16: the fleet, end to end, on a real redis-server and real gate-worker processes (one
 * x86-64, one arm64 under qemu-aarch64, more where a test needs them). Programs print what they
 * compute, so every job's logs are compared with the output they must have, byte for byte.
 * Waits poll for facts (a state, a byte count); no assertion depends on how long anything takes.
 */
import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Fleet } from '../src/client';
import { Blobs, BlobError } from '../src/blobs';
import { TERMINAL, type JobRecord } from '../src/jobs';
import { fleetCli, RedisServer, root, until, WorkerProcess } from './harness';
import { EXIT7, HELLO_ARG, TRAP, tickerOutput, tickerWat, wat } from './programs';

jest.setTimeout(300000);

/** Busy-loop iterations a tick: a few tens of ms on x86-64, a few times that under qemu. */
const WORK = 20000000;
/** Blobs over this go to the shared directory: the tickers' snapshots (they carry 3000 bytes of data), not the small modules. */
const REDIS_BLOB_MAX = 2048;

let dir: string;
let blobsDir: string;
let redis: RedisServer;
let fleet: Fleet;
const workers = new Map<string, WorkerProcess>();
const wasm: Record<string, Uint8Array> = {};
const files: Record<string, string> = {};

let started = 0;
/** Starts a worker named ARCH-N (x86 at concurrency 4, arm64 at 2: qemu is slower). */
function startWorker(arch: 'x86-64' | 'arm64'): WorkerProcess {
  const name = `${arch === 'arm64' ? 'arm' : 'x86'}-${++started}`;
  const w = new WorkerProcess(name, arch, redis.url, ['--blobs', blobsDir, '--redis-blob-max', String(REDIS_BLOB_MAX), '--work', join(dir, `work-${name}`),
    '--concurrency', arch === 'arm64' ? '2' : '4']);
  workers.set(name, w);
  return w;
}

async function connected(w: WorkerProcess): Promise<WorkerProcess> {
  await until(`worker ${w.name} to connect`, async () => {
    if (w.proc.exitCode !== null) throw new Error(`worker ${w.name} exited: ${w.log}`);
    return (await fleet.workers()).some((x) => x.name === w.name);
  }, 60000);
  return w;
}

/** The running worker of `arch`, started when there is none (so that each test also runs alone, with -t). */
async function worker(arch: 'x86-64' | 'arm64'): Promise<WorkerProcess> {
  const live = [...workers.values()].find((w) => w.arch === arch && w.proc.exitCode === null && w.proc.signalCode === null);
  return connected(live ?? startWorker(arch));
}

function forget(w: WorkerProcess): void {
  workers.delete(w.name);
}

/** gate-fleet as a user of this fleet runs it: with the shared blob directory. */
function cli(...args: string[]) {
  return fleetCli(['--blobs', blobsDir, ...args], redis.url);
}

/** Everything that explains a failed wait: the job's status, events and the workers' logs. */
async function explain(id: string): Promise<string> {
  const s = await fleet.status(id).catch((e) => ({ line: String(e), events: [] as string[] }));
  return `job ${id}: ${s.line}\n${s.events.join('\n')}\n${[...workers.values()].map((w) => `--- ${w.name}\n${w.log.slice(-3000)}`).join('\n')}`;
}

async function waitFor(id: string, what: string, fact: (r: JobRecord) => boolean): Promise<JobRecord> {
  try {
    return await until(what, async () => {
      const r = await fleet.record(id);
      return r && fact(r) ? r : null;
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${await explain(id)}`);
  }
}

const ended = (id: string) => waitFor(id, `job ${id} to end`, (r) => TERMINAL.includes(r.state));
const lines = (r: JobRecord) => r.stdoutBytes > 0;
const logs = async (id: string, stream: 'stdout' | 'stderr' = 'stdout') => (await fleet.logs(id, stream)).toString();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wagc-fleet-'));
  blobsDir = join(dir, 'blobs');
  mkdirSync(blobsDir);
  redis = new RedisServer(join(dir, 'redis'));
  await redis.start();
  fleet = await Fleet.connect({ redis: redis.url, blobs: blobsDir, redisBlobMax: REDIS_BLOB_MAX });
  wasm.hello = await wat(HELLO_ARG);
  wasm.trap = await wat(TRAP);
  wasm.exit7 = await wat(EXIT7);
  wasm.ticker150 = await wat(tickerWat(150, WORK, 3000));
  wasm.ticker1000 = await wat(tickerWat(1000, WORK, 3000));
  for (const [k, v] of Object.entries(wasm)) writeFileSync((files[k] = join(dir, `${k}.wasm`)), v);
});

afterAll(async () => {
  await Promise.all([...workers.values()].map((w) => w.stop()));
  await fleet?.close();
  await redis?.stop();
  if (dir && !process.env.FLEET_KEEP) rmSync(dir, { recursive: true, force: true });
});

describe('a fleet on Redis and BullMQ', () => {
  test('a job for an arch no worker serves waits and says so; cancel takes it off the queue; a worker that comes runs the next', async () => {
    // no arm64 worker yet
    for (const w of workers.values()) if (w.arch === 'arm64') { await w.stop(); forget(w); }
    const s = await cli('submit', files.hello, '--arch', 'arm64', '--', 'nobody');
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/^\d+\n$/);
    expect(s.stderr).toContain('no arm64 worker is connected');
    const id = s.stdout.trim();
    expect((await cli('status', id)).stdout).toBe('waiting arm64: no arm64 worker is connected; it waits for one\n');
    const c = await cli('cancel', id);
    expect(c.stderr).toBe('');
    expect(c.stdout).toBe('cancelled (while queued)\n');
    expect(c.status).toBe(0);
    expect((await fleet.queues.get('arm64').getJobCounts('waiting')).waiting).toBe(0);

    const { id: id2 } = await fleet.submit(wasm.hello, { arch: 'arm64', args: ['arm'] });
    const arm = startWorker('arm64');
    const r = await ended(id2);
    expect(r.state).toBe('done');
    expect(r.worker).toBe(arm.name);
    expect(await logs(id2)).toBe('hello arm\n');
    expect((await fleet.record(id))!.state).toBe('cancelled');
  });

  test('submit, status, logs and --json through the CLI; an exit status, a trap, a module that does not compile', async () => {
    const x86 = await worker('x86-64');
    await worker('arm64');
    const s = await cli('submit', files.hello, '--arch', 'x86-64', '--env', 'A=B', '--', 'world');
    expect(s.stderr).toBe('');
    const id = s.stdout.trim();
    await ended(id);
    expect((await cli('status', id)).stdout).toBe('done 0\n');
    expect((await cli('logs', id)).stdout).toBe('hello world\n');
    const j = JSON.parse((await cli('status', id, '--json')).stdout);
    expect(j).toMatchObject({ id, state: 'done', exitStatus: 0, arch: 'x86-64', requestedArch: 'x86-64', env: ['A=B'], args: ['world'], worker: x86.name, runs: 1, stdoutBytes: 12 });
    expect(j.events.some((e: string) => e.includes(`running on ${x86.name} (x86-64)`))).toBe(true);

    const exit7 = (await fleet.submit(wasm.exit7, { arch: 'x86-64' })).id;
    const trap = (await fleet.submit(wasm.trap, { arch: 'arm64' })).id;
    const bad = (await fleet.submit(new TextEncoder().encode('not a module'), { arch: 'x86-64', name: 'bad.wasm' })).id;
    await Promise.all([ended(exit7), ended(trap), ended(bad)]);
    expect((await cli('status', exit7)).stdout).toBe('done 7\n');
    expect(await logs(exit7)).toBe('bye\n');
    expect((await cli('status', trap)).stdout).toBe('failed trap: unreachable\n');
    expect(await logs(trap)).toBe('going\n');
    const stderr = (await cli('logs', trap, '--stderr')).stdout;
    expect(stderr).toMatch(/^trap: unreachable\n {2}at deep \(wasm offset 0x[0-9a-f]+\)\n/);
    expect(stderr).toContain('  at _start (wasm offset');
    expect((await cli('status', bad)).stdout).toBe('failed compile: CompileError: magic header not detected (at offset 0)\n');

    const none = await cli('status', '99999');
    expect(none.status).toBe(1);
    expect(none.stderr).toBe('gate-fleet: error: no job 99999\n');
    const usage = await cli('migrate', id);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^gate-fleet: error: .*to.*\(see gate-fleet --help\)\n$/);
    const ended2 = await cli('suspend', id);
    expect(ended2.status).toBe(1);
    expect(ended2.stderr).toBe(`gate-fleet: error: job ${id} has ended: done 0\n`);
  });

  test('migrates a running program x86-64 → arm64 → x86-64 mid-loop: its output is an uninterrupted run\'s, byte for byte', async () => {
    const [x86, arm] = [await worker('x86-64'), await worker('arm64')];
    // the uninterrupted run, at the same time
    const img = join(dir, 'ticker150.img');
    expect(spawnSync(process.execPath, [join(root, 'packages/cli/bin/wagc.js'), files.ticker150, '-o', img], { encoding: 'utf8' }).stderr).toBe('');
    const reference = new Promise<{ stdout: string; stderr: string }>((res) => {
      const p = spawn(process.execPath, [join(root, 'packages/cli/bin/gate-run.js'), img], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      p.stdout.on('data', (d) => { stdout += d; });
      p.stderr.on('data', (d) => { stderr += d; });
      p.on('close', () => res({ stdout, stderr }));
    });
    const { id } = await fleet.submit(wasm.ticker150, { arch: 'x86-64', name: 'ticker.wasm' });
    const follow = fleetCli(['logs', id, '--follow'], redis.url);
    await waitFor(id, 'output on x86-64', (r) => r.state === 'running' && lines(r));

    const m1 = await cli('migrate', id, '--to', 'arm64');
    expect(m1.stderr).toBe('');
    expect(m1.stdout).toBe(`running arm64 on ${arm.name}\n`);
    const onArm = await fleet.record(id);
    // the snapshot (over REDIS_BLOB_MAX) went through the shared directory
    expect(onArm!.snapshot).toMatch(/^dir:snapshot-/);
    expect(existsSync(join(blobsDir, onArm!.snapshot.split(':')[1]))).toBe(true);
    expect(onArm!.snapshotArch).toBe('x86-64');
    // output the arm64 run produced itself
    await waitFor(id, 'output on arm64', (r) => r.arch === 'arm64' && r.state === 'running' && r.stdoutBytes > r.snapshotStdout);

    const m2 = await cli('migrate', id, '--to', 'x86-64');
    expect(m2.stderr).toBe('');
    expect(m2.stdout).toBe(`running x86-64 on ${x86.name}\n`);
    const back = (await fleet.record(id))!;
    expect(back.snapshotArch).toBe('arm64');
    expect(back.snapshotStdout).toBeGreaterThan(onArm!.snapshotStdout);

    const r = await ended(id);
    expect(r.state).toBe('done');
    expect(r.migrations).toBe(2);
    const want = tickerOutput(150);
    const ref = await reference;
    expect(ref.stdout).toBe(want.stdout);
    expect(await logs(id)).toBe(ref.stdout);
    expect(await logs(id, 'stderr')).toBe(ref.stderr);
    expect((await follow).stdout).toBe(ref.stdout);
    const events = (await fleet.status(id)).events.join('\n');
    expect(events).toContain('migrating from x86-64 to arm64');
    expect(events).toContain('migrating from arm64 to x86-64');
    // a finished job's snapshot is deleted
    expect(existsSync(join(blobsDir, back.snapshot.split(':')[1]))).toBe(false);
  });

  test('checkpoints; kill -9 of the worker and its loader; another worker resumes from the checkpoint: nothing repeated, nothing lost', async () => {
    const a = await worker('x86-64');
    const { id } = await fleet.submit(wasm.ticker150, { arch: 'x86-64', checkpointEvery: 2 });
    await waitFor(id, 'a checkpoint', (r) => r.state === 'running' && r.checkpoints >= 1);
    // freeze the worker and its children, and kill them once its loader runs the program and the
    // log holds output the checkpoint does not
    let killed: JobRecord | null = null;
    while (!killed) {
      const pids = a.signalTree('SIGSTOP');
      await new Promise((res) => setTimeout(res, 300)); // writes already sent reach Redis
      const r = (await fleet.record(id))!;
      // the loader: the gate-run command (and its snapshot helper, a fork of it, of the same name)
      const loader = pids.some((p) => { try { return /^gate-run(-x86_64)?\n$/.test(readFileSync(`/proc/${p}/comm`, 'utf8')); } catch { return false; } });
      if (loader && r.state === 'running' && r.stdoutBytes > r.snapshotStdout) {
        for (const p of pids) process.kill(p, 'SIGKILL');
        killed = r;
      } else {
        expect(TERMINAL).not.toContain(r.state);
        a.signalTree('SIGCONT');
        await new Promise((res) => setTimeout(res, 200));
      }
    }
    await a.exited;
    forget(a);
    const after = (await fleet.record(id))!;
    // dead: nothing changed since
    expect(after.stdoutBytes).toBe(killed.stdoutBytes);
    expect(after.snapshotStdout).toBe(killed.snapshotStdout);
    expect(after.state).toBe('running');

    const b = startWorker('x86-64');
    const r = await ended(id);
    expect(r.state).toBe('done');
    expect(r.worker).toBe(b.name);
    expect(r.recoveries).toBe(1);
    const want = tickerOutput(150);
    expect(await logs(id)).toBe(want.stdout);
    expect(await logs(id, 'stderr')).toBe(want.stderr);
    const events = (await fleet.status(id)).events.join('\n');
    expect(events).toContain(`recovered by ${b.name} (x86-64): ${a.name}, which ran it, was lost`);
    expect(events).toContain(`${killed.stdoutBytes - killed.snapshotStdout} bytes of stdout`);
  });

  test('100 concurrent short jobs on any arch: none lost, none run twice', async () => {
    await Promise.all([worker('x86-64'), worker('arm64')]);
    // the queue jobs of these 100 only (a job of an earlier test may end meanwhile): by their data's id
    const count = async (mine: Set<string>) => {
      let completed = 0, failed = 0;
      for (const arch of ['x86-64', 'arm64'] as const) {
        const q = fleet.queues.get(arch);
        for (const j of await q.getJobs(['completed'])) if (mine.has(j.data.id)) completed++;
        for (const j of await q.getJobs(['failed'])) if (mine.has(j.data.id)) failed++;
      }
      return { completed, failed };
    };
    const ids = await Promise.all(Array.from({ length: 100 }, (_, k) => fleet.submit(wasm.hello, { args: [`job${k}`] }).then((r) => r.id)));
    expect(new Set(ids).size).toBe(100);
    await until('100 jobs to end', async () => {
      const all = await Promise.all(ids.map((id) => fleet.record(id)));
      return all.every((r) => r && TERMINAL.includes(r.state));
    }, 280000);
    const arches = new Set<string>();
    for (let k = 0; k < 100; k++) {
      const r = (await fleet.record(ids[k]))!;
      expect([r.id, r.state, r.exitStatus, r.runs]).toEqual([ids[k], 'done', 0, 1]);
      expect(await logs(ids[k])).toBe(`hello job${k}\n`);
      arches.add(r.arch);
    }
    expect([...arches].sort()).toEqual(['arm64', 'x86-64']);
    // each ran once: one completed queue job apiece (the queue marks it after the record says
    // done), none failed
    const mine = new Set(ids);
    const queued = await until('the 100 queue jobs to complete', async () => { const c = await count(mine); return c.completed + c.failed >= 100 && c; });
    expect(queued).toEqual({ completed: 100, failed: 0 });
  });

  test('suspend, resume on the other arch, cancel while running and while suspended', async () => {
    const arm = await worker('arm64');
    await worker('x86-64');
    const { id } = await fleet.submit(wasm.ticker1000, { arch: 'x86-64' });
    await waitFor(id, 'output', (r) => r.state === 'running' && lines(r));
    const s = await cli('suspend', id);
    expect(s.stderr).toBe('');
    // where it stopped: in _start, or in the runtime library's fd_write it calls
    expect(s.stdout).toMatch(/^suspended x86-64 at (_start|wasi_snapshot_preview1\.\S+) \(wasm offset 0x[0-9a-f]+\)\n$/);
    const suspended = (await fleet.record(id))!;
    expect(suspended.snapshotStdout).toBe(suspended.stdoutBytes);
    const want = tickerOutput(1000);
    expect(want.stdout.startsWith(await logs(id))).toBe(true);

    const r = await cli('resume', id, '--arch', 'arm64');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`running arm64 on ${arm.name}\n`);
    await waitFor(id, 'output on arm64', (x) => x.state === 'running' && x.stdoutBytes > suspended.stdoutBytes);
    const c = await cli('cancel', id);
    expect(c.stderr).toBe('');
    expect(c.stdout).toBe('cancelled (while running)\n');
    // gate-run, the loader and qemu are gone
    await until('the arm64 worker to have no child left', () => arm.tree().length === 1);
    const out = await logs(id);
    expect(out.endsWith('\n') && want.stdout.startsWith(out)).toBe(true);
    const gone = (await fleet.record(id))!;
    expect(gone.snapshot).toBe('');

    const { id: id2 } = await fleet.submit(wasm.ticker1000, { arch: 'arm64' });
    await waitFor(id2, 'output', (x) => x.state === 'running' && lines(x));
    expect((await cli('suspend', id2)).stdout).toMatch(/^suspended arm64 /);
    const snap = (await fleet.record(id2))!.snapshot;
    expect((await cli('cancel', id2)).stdout).toBe('cancelled (while suspended)\n');
    await expect(fleet.blobs.get(snap)).rejects.toThrow(BlobError);
  });

  test('a snapshot that fails to resume fails its job with the reason', async () => {
    await Promise.all([worker('x86-64'), worker('arm64')]);
    const suspendedJob = async (): Promise<JobRecord> => {
      const { id } = await fleet.submit(wasm.ticker1000, { arch: 'x86-64' });
      await waitFor(id, 'output', (r) => r.state === 'running' && lines(r));
      expect((await cli('suspend', id)).status).toBe(0);
      return (await fleet.record(id))!;
    };
    // a stored snapshot overwritten
    const a = await suspendedJob();
    const name = a.snapshot.split(':')[1];
    writeFileSync(join(blobsDir, name), 'garbage');
    const r1 = await cli('resume', a.id);
    expect(r1.status).toBe(1);
    expect((await cli('status', a.id)).stdout).toBe(`failed resume: blob ${name} is corrupt (its SHA-256 is not the one recorded)\n`);
    expect(r1.stderr).toContain('failed resume: blob');

    // a real snapshot that cannot continue: a trapped instance's
    const img = join(dir, 'trap.img');
    spawnSync(process.execPath, [join(root, 'packages/cli/bin/wagc.js'), files.trap, '-o', img]);
    const trapped = join(dir, 'trapped.wasm');
    expect(spawnSync(process.execPath, [join(root, 'packages/cli/bin/gate-run.js'), img, '--snapshot', trapped]).status).toBe(134);
    const b = await suspendedJob();
    const ref = await fleet.blobs.put(`snapshot-${b.id}-trapped`, readFileSync(trapped));
    await fleet.jobs.update(b.id, { states: ['suspended'] }, { snapshot: ref });
    const r2 = await cli('resume', b.id, '--arch', 'arm64');
    expect(r2.status).toBe(1);
    const failed = (await fleet.record(b.id))!;
    expect(failed.state).toBe('failed');
    expect(failed.reason).toBe('resume: bad snapshot: R1: the snapshot is of a trapped instance (trap 1): it cannot continue');
    // kept, to look at
    expect(failed.snapshot).toBe(ref);
  });

  test('Redis going away and coming back: the CLI says so, the running job finishes with all its output once', async () => {
    const b = await worker('x86-64');
    const { id } = await fleet.submit(wasm.ticker150, { arch: 'x86-64', checkpointEvery: 2 });
    await waitFor(id, 'a checkpoint', (r) => r.state === 'running' && r.checkpoints >= 1);
    await fleet.close();
    await redis.stop();
    const down = await cli('status', id);
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`^gate-fleet: error: cannot reach Redis at redis://127\\.0\\.0\\.1:${redis.port}: .*ECONNREFUSED`));
    await until('the worker to notice', () => b.log.includes('retrying'));
    await redis.restart();
    fleet = await Fleet.connect({ redis: redis.url, blobs: blobsDir, redisBlobMax: REDIS_BLOB_MAX });
    const r = await ended(id);
    expect(r.state).toBe('done');
    const want = tickerOutput(150);
    expect(await logs(id)).toBe(want.stdout);
    expect(await logs(id, 'stderr')).toBe(want.stderr);
  });

  test('a worker stopped with SIGTERM hands its running program back to the queue, suspended; another worker goes on with it', async () => {
    const b = await worker('x86-64');
    const { id } = await fleet.submit(wasm.ticker150, { arch: 'x86-64' });
    await waitFor(id, 'output', (r) => r.state === 'running' && r.worker === b.name && lines(r));
    const c = await connected(startWorker('x86-64'));
    b.proc.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    forget(b);
    const r = await ended(id);
    expect(r.state).toBe('done');
    expect(r.worker).toBe(c.name);
    expect(r.recoveries).toBe(0);
    expect(await logs(id)).toBe(tickerOutput(150).stdout);
    expect((await fleet.status(id)).events.join('\n')).toContain(`handed back to the x86-64 queue: worker ${b.name} is stopping`);
  });

  test('blobs: Redis up to the limit, the shared directory past it, refused without one; a changed blob is an error', async () => {
    const small = new Blobs(fleet.redis, fleet.keys, null, 100);
    const ref = await small.put('t-small', new Uint8Array(100).fill(1));
    expect(ref).toMatch(/^redis:t-small:[0-9a-f]{64}$/);
    expect([...(await small.get(ref))]).toEqual(new Array(100).fill(1));
    await expect(small.put('t-big', new Uint8Array(101))).rejects.toThrow('t-big is 101 bytes, over the 100 bytes kept in Redis: give --blobs DIR, a directory every worker and gate-fleet share');
    const shared = new Blobs(fleet.redis, fleet.keys, blobsDir, 100);
    const big = await shared.put('t-big', new Uint8Array(101).fill(2));
    expect(big).toMatch(/^dir:t-big:/);
    expect(readFileSync(join(blobsDir, 't-big')).length).toBe(101);
    await expect(small.get(big)).rejects.toThrow('blob t-big is in the shared blob directory, and this process was given no --blobs DIR');
    await fleet.redis.set(fleet.keys.blob('t-small'), 'changed');
    await expect(small.get(ref)).rejects.toThrow('blob t-small is corrupt');
    await shared.delete(big);
    await expect(shared.get(big)).rejects.toThrow('blob t-big cannot be read from');
  });
});

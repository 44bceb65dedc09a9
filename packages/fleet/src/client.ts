/**
 * The fleet as a library: what `gate-fleet` does, for programs and tests. Every action is a
 * record change (a Lua script) plus, where a queue is involved, a BullMQ add or remove; requests to
 * a running job are left in its record and announced on the control channel.
 */
import { basename } from 'path';
import { Blobs, sha256, DEFAULT_REDIS_BLOB_MAX } from './blobs';
import { clientConnection } from './connection';
import { ARCHES, DELETE, Jobs, Keys, TERMINAL, now, parseRecord, statusLine, type Arch, type FleetRedis, type JobRecord, type JobState, type LogStream } from './jobs';
import { Queues, runJobId } from './queues';
import type { WorkerInfo } from './worker';

export interface FleetOptions {
  redis: string;
  prefix?: string;
  blobs?: string | null;
  redisBlobMax?: number;
}

export interface SubmitOptions {
  arch?: 'any' | Arch;
  env?: string[];
  args?: string[];
  /** Seconds between checkpoints (0: none). */
  checkpointEvery?: number;
  name?: string;
}

/** An action that could not be done, with the reason a user reads. */
export class FleetError extends Error {}

export interface Status {
  record: JobRecord;
  /** What the client found besides the record (no worker for its arch, a lost worker, …). */
  note: string;
  line: string;
  events: string[];
}

export class Fleet {
  readonly keys: Keys;
  readonly jobs: Jobs;
  readonly blobs: Blobs;
  readonly queues: Queues;

  private constructor(readonly redis: FleetRedis, opts: FleetOptions) {
    this.keys = new Keys(opts.prefix ?? 'gate');
    this.jobs = new Jobs(redis, this.keys);
    this.blobs = new Blobs(redis, this.keys, opts.blobs ?? null, opts.redisBlobMax ?? DEFAULT_REDIS_BLOB_MAX);
    this.queues = new Queues(redis, this.keys.prefix);
  }

  /** Told what an action could not clean up (gate-fleet prints it on stderr). */
  warn: (text: string) => void = () => undefined;

  private async forget(ref: string): Promise<void> {
    try {
      await this.blobs.delete(ref);
    } catch (e) {
      this.warn((e as Error).message);
    }
  }

  static async connect(opts: FleetOptions): Promise<Fleet> {
    return new Fleet(await clientConnection(opts.redis), opts);
  }

  async close(): Promise<void> {
    await this.queues.close().catch(() => undefined);
    this.redis.disconnect();
  }

  /** Live workers (their heartbeat keys), by name. */
  async workers(): Promise<WorkerInfo[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', this.keys.workerPattern, 'COUNT', 200);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (!keys.length) return [];
    const values = await this.redis.mget(...keys);
    const out: WorkerInfo[] = [];
    for (const v of values) {
      try { if (v) out.push(JSON.parse(v) as WorkerInfo); } catch { /* not ours */ }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  private async servedArches(): Promise<Map<Arch, number>> {
    const m = new Map<Arch, number>();
    for (const w of await this.workers()) m.set(w.arch, (m.get(w.arch) ?? 0) + w.concurrency);
    return m;
  }

  /** `any`: the served arch with the fewest queued runs per worker slot (ties at random). */
  private async pickArch(): Promise<{ arch: Arch; warning: string }> {
    const served = await this.servedArches();
    if (!served.size) {
      const arch: Arch = process.arch === 'arm64' ? 'arm64' : 'x86-64';
      return { arch, warning: `no worker is connected; the job waits in the ${arch} queue (this host's arch)` };
    }
    let best: Arch | null = null;
    let bestLoad = Infinity;
    for (const [arch, slots] of served) {
      const c = await this.queues.get(arch).getJobCounts('waiting', 'active', 'prioritized');
      const load = (c.waiting + c.active + (c.prioritized ?? 0)) / slots + Math.random() * 1e-3;
      if (load < bestLoad) { best = arch; bestLoad = load; }
    }
    return { arch: best!, warning: '' };
  }

  async submit(module: Uint8Array, opts: SubmitOptions = {}): Promise<{ id: string; arch: Arch; warning: string }> {
    for (const kv of opts.env ?? []) if (!kv.includes('=')) throw new FleetError(`--env: expected K=V, got "${kv}"`);
    const every = opts.checkpointEvery ?? 0;
    if (!(every >= 0) || !Number.isFinite(every)) throw new FleetError('--checkpoint-every: a number of seconds ≥ 0');
    const requested = opts.arch ?? 'any';
    let arch: Arch;
    let warning = '';
    if (requested === 'any') {
      ({ arch, warning } = await this.pickArch());
    } else {
      if (!ARCHES.includes(requested)) throw new FleetError(`--arch: x86-64, arm64 or any, not "${requested}"`);
      arch = requested;
      if (!(await this.servedArches()).has(arch)) warning = `no ${arch} worker is connected; the job waits for one`;
    }
    const moduleRef = await this.blobs.put(`module-${sha256(module)}`, module);
    const id = String(await this.redis.incr(this.keys.seq));
    const bullJob = runJobId(id);
    const t = now();
    const rec: Record<string, string | number> = {
      id, state: 'waiting', requestedArch: requested, arch, name: opts.name ?? 'program.wasm', module: moduleRef, moduleBytes: module.length,
      args: JSON.stringify(opts.args ?? []), env: JSON.stringify(opts.env ?? []), checkpointEvery: every,
      createdAt: t, updatedAt: t, bullJob, runs: 0, checkpoints: 0, recoveries: 0, migrations: 0,
    };
    await this.redis.multi()
      .hset(this.keys.job(id), rec)
      .zadd(this.keys.jobs, Number(id), id)
      .rpush(this.keys.events(id), `${t} submitted (${opts.name ?? 'program.wasm'}, ${module.length} bytes) to the ${arch} queue${requested === 'any' ? ' (any arch)' : ''}`)
      .exec();
    try {
      await this.queues.add(arch, id, bullJob);
    } catch (e) {
      await this.jobs.update(id, { states: ['waiting'] }, { state: 'failed', reason: `could not be queued: ${(e as Error).message}`, endedAt: now() }).catch(() => undefined);
      throw new FleetError(`job ${id} could not be queued: ${(e as Error).message}`);
    }
    return { id, arch, warning };
  }

  async record(id: string): Promise<JobRecord | null> {
    return this.jobs.get(id);
  }

  private async need(id: string): Promise<JobRecord> {
    const r = await this.jobs.get(id);
    if (!r) throw new FleetError(`no job ${id}`);
    return r;
  }

  /**
   * The record, and what it does not say by itself: whether a worker serves its queue, whether
   * the worker running it still answers, whether BullMQ failed its run (a job that stalled too
   * often is failed by BullMQ's own check; the record is brought up to date then).
   */
  async status(id: string): Promise<Status> {
    let r = await this.need(id);
    let note = '';
    if (!TERMINAL.includes(r.state) && r.state !== 'suspended' && r.bullJob) {
      const q = this.queues.get(r.arch);
      const bullState = await q.getJobState(r.bullJob);
      if (bullState === 'failed') {
        const job = await q.getJob(r.bullJob);
        const reason = job?.failedReason ?? 'failed';
        await this.jobs.update(id, { states: [r.state], event: `BullMQ failed run ${r.bullJob}: ${reason}` },
          { state: 'failed', reason: `BullMQ: ${reason}`, endedAt: now(), owner: DELETE });
        r = await this.need(id);
      } else {
        const workers = await this.workers();
        const served = workers.some((w) => w.arch === r.arch);
        if (r.state === 'running') {
          if (!workers.some((w) => w.name === r.worker)) {
            note = `worker ${r.worker} does not answer; when its lock expires BullMQ gives the job to another ${r.arch} worker, which resumes it from ${r.snapshot ? 'its last checkpoint' : 'the start'}${served ? '' : ` (no ${r.arch} worker is connected now)`}`;
          }
        } else if (bullState === 'unknown' && r.state === 'waiting' && !(await this.recentlyChanged(r))) {
          note = `its queue entry is missing: gate-fleet resume ${id} puts it back`;
        } else if (!served) {
          note = `no ${r.arch} worker is connected; it waits for one`;
        }
      }
    }
    return { record: r, note, line: statusLine(r, note), events: await this.jobs.events(id) };
  }

  /** A record changed in the last seconds may be between its record update and its queue add. */
  private async recentlyChanged(r: JobRecord): Promise<boolean> {
    return Date.now() - Date.parse(r.updatedAt) < 10000;
  }

  /** The job's stdout or stderr from byte `from` on. */
  async logs(id: string, stream: LogStream = 'stdout', from = 0): Promise<Buffer> {
    await this.need(id);
    return this.redis.getrangeBuffer(this.keys.log(id, stream), from, -1);
  }

  async list(): Promise<JobRecord[]> {
    const ids = await this.redis.zrange(this.keys.jobs, 0, -1);
    if (!ids.length) return [];
    const m = this.redis.multi();
    for (const id of ids) m.hgetall(this.keys.job(id)).strlen(this.keys.log(id, 'stdout')).strlen(this.keys.log(id, 'stderr'));
    const res = (await m.exec())!;
    const out: JobRecord[] = [];
    for (let k = 0; k < ids.length; k++) {
      const r = parseRecord(res[3 * k][1] as Record<string, string>, { stdout: Number(res[3 * k + 1][1]), stderr: Number(res[3 * k + 2][1]) });
      if (r) out.push(r);
    }
    return out;
  }

  /** Suspends a running job (its worker stores the snapshot); a queued one is taken off its queue. */
  async suspend(id: string): Promise<JobRecord> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await this.need(id);
      if (r.state === 'suspended') return r;
      if (TERMINAL.includes(r.state)) throw new FleetError(`job ${id} has ended: ${statusLine(r)}`);
      if (r.state === 'running') {
        if ((await this.jobs.request(id, 'suspend', ['running'])).ok) return r;
        continue;
      }
      // waiting or migrating: ask first (a worker taking it meanwhile carries it out), then take it off the queue
      if (!(await this.jobs.request(id, 'suspend', ['waiting', 'migrating'])).ok) continue;
      if (await this.unqueue(r)) {
        const u = await this.jobs.update(id, { states: [r.state], event: 'suspended while queued' }, { state: 'suspended', bullJob: '', request: DELETE });
        if (u.ok) return this.need(id);
      }
      return r;
    }
    throw new FleetError(`job ${id} kept changing state; try again`);
  }

  /** Takes the job's queued run off its queue; false when a worker holds it already. */
  private async unqueue(r: JobRecord): Promise<boolean> {
    if (!r.bullJob) return true;
    const code = await this.queues.get(r.arch).remove(r.bullJob);
    if (code === 1) return true;
    return (await this.queues.get(r.arch).getJobState(r.bullJob)) === 'unknown';
  }

  /** Queues a suspended job (or one whose queue entry went missing) on `arch`, by default the arch it stopped on. */
  async resume(id: string, arch?: Arch): Promise<JobRecord> {
    const r = await this.need(id);
    let from: JobState[];
    if (r.state === 'suspended') from = ['suspended'];
    else if ((r.state === 'waiting' || r.state === 'migrating') && (!r.bullJob || (await this.queues.get(r.arch).getJobState(r.bullJob)) === 'unknown')) from = [r.state];
    else throw new FleetError(`job ${id} is not suspended: ${statusLine(r)}`);
    const target = arch ?? ((r.snapshotArch || r.arch) as Arch);
    if (!ARCHES.includes(target)) throw new FleetError(`--arch: x86-64 or arm64, not "${target}"`);
    const moving = !!r.snapshot && target !== r.snapshotArch;
    const next = runJobId(id);
    const u = await this.jobs.update(id, { states: from, event: moving ? `migrating to ${target} (from its snapshot)` : `resumed into the ${target} queue` },
      { state: moving ? 'migrating' : 'waiting', arch: target, bullJob: next, request: DELETE, requestError: DELETE, ...(moving ? { '+migrations': 1 } : {}) });
    if (!u.ok) throw new FleetError(`job ${id} changed meanwhile: ${statusLine(await this.need(id))}`);
    await this.queues.add(target, id, next);
    return this.need(id);
  }

  /** Moves a job to a worker of `to`: a running one is suspended and its snapshot queued there. */
  async migrate(id: string, to: Arch): Promise<JobRecord> {
    if (!ARCHES.includes(to)) throw new FleetError(`--to: x86-64 or arm64, not "${to}"`);
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await this.need(id);
      if (TERMINAL.includes(r.state)) throw new FleetError(`job ${id} has ended: ${statusLine(r)}`);
      if (r.state === 'suspended') return this.resume(id, to);
      if (r.state === 'running') {
        if ((await this.jobs.request(id, `migrate:${to}`, ['running'])).ok) return r;
        continue;
      }
      if (!(await this.jobs.request(id, `migrate:${to}`, ['waiting', 'migrating'])).ok) continue;
      if (await this.unqueue(r)) {
        const next = runJobId(id);
        const u = await this.jobs.update(id, { states: [r.state], event: `moved from the ${r.arch} queue to the ${to} queue` },
          { state: r.snapshot && r.snapshotArch !== to ? 'migrating' : 'waiting', arch: to, bullJob: next, request: DELETE });
        if (u.ok) {
          await this.queues.add(to, id, next);
          return this.need(id);
        }
        continue;
      }
      return r;
    }
    throw new FleetError(`job ${id} kept changing state; try again`);
  }

  async cancel(id: string): Promise<JobRecord> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await this.need(id);
      if (r.state === 'cancelled') return r;
      if (TERMINAL.includes(r.state)) throw new FleetError(`job ${id} has ended: ${statusLine(r)}`);
      if (r.state === 'suspended') {
        const u = await this.jobs.update(id, { states: ['suspended'], event: 'cancelled while suspended' }, { state: 'cancelled', reason: 'while suspended', endedAt: now(), snapshot: DELETE });
        if (!u.ok) continue;
        if (r.snapshot) await this.forget(r.snapshot);
        return this.need(id);
      }
      if (!(await this.jobs.request(id, 'cancel', [r.state])).ok) continue;
      if (r.state !== 'running' && (await this.unqueue(r))) {
        const u = await this.jobs.update(id, { states: [r.state], event: 'cancelled while queued' }, { state: 'cancelled', reason: 'while queued', endedAt: now(), request: DELETE, snapshot: DELETE });
        if (u.ok && r.snapshot) await this.forget(r.snapshot);
      }
      return this.need(id);
    }
    throw new FleetError(`job ${id} kept changing state; try again`);
  }

  /** Deletes an ended job: its record, logs, events and snapshot (modules and images are shared, and stay). */
  async remove(id: string): Promise<void> {
    const r = await this.need(id);
    if (!TERMINAL.includes(r.state)) throw new FleetError(`job ${id} has not ended (${statusLine(r)}): cancel it first`);
    if (r.snapshot) await this.forget(r.snapshot);
    await this.redis.multi().del(this.keys.job(id), this.keys.log(id, 'stdout'), this.keys.log(id, 'stderr'), this.keys.events(id)).zrem(this.keys.jobs, id).exec();
  }

  /** Polls the record until `done` says so; FleetError after `timeoutMs`. */
  async waitFor(id: string, done: (r: JobRecord) => boolean, timeoutMs: number, what: string): Promise<JobRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.need(id);
      if (done(r)) return r;
      if (Date.now() > deadline) throw new FleetError(`job ${id} is still ${statusLine(r)} after ${Math.round(timeoutMs / 1000)} s (waiting for ${what})`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }
}

export function moduleName(path: string): string {
  return basename(path);
}

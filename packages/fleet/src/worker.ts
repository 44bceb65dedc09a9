/**
 * `gate-worker`: takes runs of fleet jobs from its arch's BullMQ queue, compiles them with wagc
 * (images cached by module hash), runs them with gate-run, streams their output into the job's
 * logs, takes checkpoints, carries out suspend / migrate / cancel requests, and records how each
 * run ended (docs/fleet.md).
 */
import { Worker, type Job } from 'bullmq';
import { randomBytes } from 'crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import { hostname } from 'os';
import { join } from 'path';
import { Blobs, BlobError, mib } from './blobs';
import { workerConnection, shownUrl } from './connection';
import { Jobs, Keys, DELETE, now, type Arch, type FleetRedis, type LogStream } from './jobs';
import { Queues, runJobId, type RunData } from './queues';
import { compile, Run, toolchainId, type Outcome } from './toolchain';

export interface WorkerOptions {
  redis: string;
  arch: Arch;
  concurrency: number;
  name: string;
  prefix: string;
  blobs: string | null;
  redisBlobMax: number;
  /** BullMQ: how long a run's lock lives without renewal before the job counts as stalled. */
  lockDuration: number;
  /** BullMQ: how often this worker looks for stalled jobs. */
  stalledInterval: number;
  /** BullMQ: stalls a job survives before it fails. */
  maxStalled: number;
  /** Bytes kept per log (stdout, stderr) of a job; the rest is dropped and the record says so. */
  logLimit: number;
  work: string;
  quiet: boolean;
}

export const DEFAULTS = {
  concurrency: 1,
  prefix: 'gate',
  lockDuration: 30000,
  stalledInterval: 30000,
  maxStalled: 5,
  logLimit: 64 * 1024 * 1024,
};

/** Heartbeat period; a worker whose key is older than HEARTBEAT_TTL is taken for gone. */
const HEARTBEAT_MS = 2000;
export const HEARTBEAT_TTL_MS = 10000;
/** A running job's record is read this often for requests, besides the control channel. */
const POLL_MS = 2000;
/** Output held for Redis beyond this pauses the program's pipes until it is written. */
const BACKLOG_HIGH = 4 * 1024 * 1024;
/** A run dying of the suspend signal this many times in a row fails the job. */
const MAX_LOST = 3;

/** What a worker announces about itself (key `PREFIX:fleet:worker:NAME`, with a TTL). */
export interface WorkerInfo {
  name: string;
  arch: Arch;
  concurrency: number;
  running: string[];
  host: string;
  pid: number;
  startedAt: string;
}

export class FleetWorker {
  readonly redis: FleetRedis;
  readonly keys: Keys;
  readonly jobs: Jobs;
  readonly blobs: Blobs;
  readonly queues: Queues;
  readonly images: Images;
  private readonly sub: FleetRedis;
  private bull: Worker<RunData> | null = null;
  private readonly running = new Map<string, JobRun>();
  private heartbeat: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private readonly startedAt = now();
  private closing = false;
  readonly toolchain = toolchainId();

  constructor(readonly opts: WorkerOptions) {
    this.keys = new Keys(opts.prefix);
    this.redis = workerConnection(opts.redis);
    this.sub = workerConnection(opts.redis);
    let down = false;
    this.redis.on('error', (e: Error) => {
      if (!down) this.log(`Redis at ${shownUrl(opts.redis)}: ${e.message}; retrying (running programs go on, their output waits)`);
      down = true;
    });
    this.redis.on('ready', () => {
      if (down) this.log('Redis is back');
      down = false;
    });
    this.sub.on('error', () => undefined);
    this.jobs = new Jobs(this.redis, this.keys);
    this.blobs = new Blobs(this.redis, this.keys, opts.blobs, opts.redisBlobMax);
    this.queues = new Queues(this.redis, opts.prefix);
    this.images = new Images(this);
    mkdirSync(opts.work, { recursive: true });
  }

  log(text: string): void {
    if (!this.opts.quiet) process.stderr.write(`gate-worker ${this.opts.name} (${this.opts.arch}): ${text}\n`);
  }

  async start(): Promise<void> {
    this.sub.on('message', (_channel: string, id: string) => { void this.checkRequest(id); });
    await this.sub.subscribe(this.keys.control);
    await this.beat();
    this.heartbeat = setInterval(() => { void this.beat(); }, HEARTBEAT_MS);
    this.poll = setInterval(() => { for (const id of this.running.keys()) void this.checkRequest(id); }, POLL_MS);
    this.bull = new Worker<RunData>(this.opts.arch, (job) => this.process(job), {
      connection: this.redis,
      prefix: this.opts.prefix,
      concurrency: this.opts.concurrency,
      name: this.opts.name,
      lockDuration: this.opts.lockDuration,
      stalledInterval: this.opts.stalledInterval,
      maxStalledCount: this.opts.maxStalled,
    });
    this.bull.on('error', (e) => this.log(`BullMQ: ${e.message}`));
    this.bull.on('stalled', (bullJob) => {
      const id = String(bullJob).replace(/-[^-]*$/, '');
      this.log(`job ${id}: stalled (its worker stopped renewing its lock); back in the ${this.opts.arch} queue`);
      void this.jobs.event(id, `BullMQ: run ${bullJob} stalled (the worker running it stopped renewing its lock); it goes back to the ${this.opts.arch} queue`).catch(() => undefined);
    });
    // a run whose lock could not be renewed belongs to the queue again: stop it, another run takes over
    this.bull.on('lockRenewalFailed', (ids: string[]) => {
      for (const bullJob of ids) {
        for (const r of this.running.values()) if (r.bullJob === bullJob) r.abandon('its BullMQ lock was lost');
      }
    });
    this.bull.on('failed', (job, err) => {
      if (job) void this.recordBullFailure(job, err);
    });
    this.log(`ready: ${this.opts.concurrency} at a time from queue ${this.opts.arch} at ${shownUrl(this.opts.redis)}`);
  }

  /** Hands every running program back to its queue (suspended), then stops taking jobs. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.log(`stopping: ${this.running.size ? `suspending ${this.running.size} running job(s) back to the ${this.opts.arch} queue` : 'no job running'}`);
    for (const r of this.running.values()) r.requeue();
    if (this.bull) await this.bull.close();
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.poll) clearInterval(this.poll);
    await this.redis.del(this.keys.worker(this.opts.name)).catch(() => undefined);
    await this.queues.close();
    this.sub.disconnect();
    this.redis.disconnect();
  }

  private async beat(): Promise<void> {
    const info: WorkerInfo = {
      name: this.opts.name, arch: this.opts.arch, concurrency: this.opts.concurrency,
      running: [...this.running.keys()], host: hostname(), pid: process.pid, startedAt: this.startedAt,
    };
    await this.redis.set(this.keys.worker(this.opts.name), JSON.stringify(info), 'PX', HEARTBEAT_TTL_MS).catch(() => undefined);
  }

  private async checkRequest(id: string): Promise<void> {
    const r = this.running.get(id);
    if (!r) return;
    const req = await this.redis.hget(this.keys.job(id), 'request').catch(() => null);
    if (req) r.onRequest(req);
  }

  private async recordBullFailure(job: Job<RunData>, err: Error): Promise<void> {
    const id = job.data.id;
    await this.jobs.update(id, { states: ['waiting', 'running', 'migrating'], event: `BullMQ: run ${job.id} failed: ${err.message}` },
      { state: 'failed', reason: `worker: ${err.message}`, endedAt: now(), owner: DELETE }).catch(() => undefined);
  }

  private async process(job: Job<RunData>): Promise<string> {
    const id = job.data.id;
    const owner = `${this.opts.name}/${job.id}/${randomBytes(4).toString('hex')}`;
    const t = await this.jobs.takeover(id, job.id!, owner, this.opts.name, this.opts.arch);
    if (t.kind !== 'ok') {
      this.log(`job ${id}: run ${job.id} not started (${t.kind}${t.detail ? `: ${t.detail}` : ''})`);
      return t.kind;
    }
    this.log(`job ${id}: ${t.recovered ? 'recovering' : 'running'}`);
    const dir = mkdtempSync(join(this.opts.work, `job-${id}-`));
    const run = new JobRun(this, id, job.id!, owner, dir, { stdout: t.stdout, stderr: t.stderr }, t.recovered);
    this.running.set(id, run);
    void this.beat();
    try {
      const result = await run.execute();
      this.log(`job ${id}: ${result}`);
      return result;
    } catch (e) {
      this.log(`job ${id}: internal error: ${(e as Error).stack}`);
      await this.jobs.update(id, { owner, event: `worker ${this.opts.name}: internal error: ${(e as Error).message}` },
        { state: 'failed', reason: `worker: internal error: ${(e as Error).message}`, endedAt: now(), owner: DELETE }).catch(() => undefined);
      throw e;
    } finally {
      this.running.delete(id);
      rmSync(dir, { recursive: true, force: true });
      void this.beat();
    }
  }
}

/** Images by module and arch: a local directory, then the shared blob store, then wagc. */
class Images {
  private readonly dir: string;
  private readonly inflight = new Map<string, Promise<{ ok: true; path: string } | { ok: false; message: string }>>();
  constructor(private readonly w: FleetWorker) {
    this.dir = join(w.opts.work, 'images');
    mkdirSync(this.dir, { recursive: true });
  }

  image(moduleRef: string, arch: Arch): Promise<{ ok: true; path: string } | { ok: false; message: string }> {
    const sha = moduleRef.split(':').pop()!;
    const name = `image-${arch}-${this.w.toolchain}-${sha}`;
    let p = this.inflight.get(name);
    if (!p) {
      p = this.make(name, moduleRef, arch).finally(() => this.inflight.delete(name));
      this.inflight.set(name, p);
    }
    return p;
  }

  private async make(name: string, moduleRef: string, arch: Arch): Promise<{ ok: true; path: string } | { ok: false; message: string }> {
    const path = join(this.dir, `${name}.img`);
    if (existsSync(path)) return { ok: true, path };
    const indexKey = `${this.w.keys.prefix}:fleet:image:${name}`;
    // another worker of this arch and toolchain compiled it already
    const ref = await this.w.redis.get(indexKey);
    if (ref) {
      try {
        writeAtomic(path, await this.w.blobs.get(ref));
        return { ok: true, path };
      } catch {
        // gone or unreadable from here: compile it again
      }
    }
    let bytes: Buffer;
    try {
      bytes = await this.w.blobs.get(moduleRef);
    } catch (e) {
      return { ok: false, message: `module: ${(e as Error).message}` };
    }
    const tmp = mkdtempSync(join(this.w.opts.work, 'compile-'));
    try {
      const wasm = join(tmp, 'module.wasm');
      writeFileSync(wasm, bytes);
      const out = join(tmp, 'module.img');
      const r = await compile(wasm, out, arch);
      if (!r.ok) return r;
      const image = readFileSync(out);
      writeAtomic(path, image);
      try {
        const stored = await this.w.blobs.put(name, image);
        await this.w.redis.set(indexKey, stored);
      } catch (e) {
        if (!(e instanceof BlobError)) throw e;
        // too large for Redis and no shared directory: this worker keeps its local copy only
      }
      return { ok: true, path };
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

function writeAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

/**
 * Writes one stream of a run into its job's log, in order, one append in flight at a time
 * (later chunks are batched meanwhile). `pos` is the stream position of the next byte the
 * program produces; the append script drops what the log already has.
 */
class LogWriter {
  pos: number;
  private sent: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private busy: Promise<void> | null = null;
  private waiters: (() => void)[] = [];

  constructor(private readonly run: JobRun, private readonly stream: LogStream, start: number) {
    this.pos = start;
    this.sent = start;
  }

  /** Restarts the stream at `pos` (a run resumed from a snapshot taken there). */
  reset(pos: number): void {
    this.pos = pos;
    this.sent = pos;
  }

  write(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.pos += chunk.length;
    if (this.pendingBytes > BACKLOG_HIGH) this.run.backlog(true);
    if (!this.busy) this.busy = this.flush();
  }

  get backlog(): number { return this.pendingBytes; }

  /** Resolves when everything written so far is in Redis (or refused). */
  drain(): Promise<void> {
    if (!this.busy && !this.pending.length) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async flush(): Promise<void> {
    while (this.pending.length) {
      const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
      this.pending = [];
      const offset = this.sent;
      let r: number;
      for (;;) {
        try {
          r = await this.run.append(this.stream, offset, data);
          break;
        } catch (e) {
          this.run.w.log(`job ${this.run.id}: writing ${this.stream}: ${(e as Error).message}; retrying`);
          await new Promise((res) => setTimeout(res, 1000));
        }
      }
      this.sent += data.length;
      this.pendingBytes -= data.length;
      if (this.pendingBytes <= BACKLOG_HIGH / 4) this.run.backlog(false);
      if (r < 0) {
        this.run.abandon(r === -1 ? 'another run took the job over' : `${this.stream} log out of order (internal error)`);
        this.pending = [];
        this.pendingBytes = 0;
      }
    }
    this.busy = null;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

type Acting = 'checkpoint' | 'suspend' | 'requeue' | `migrate:${Arch}`;

/** One run of a fleet job on this worker, from takeover to the state it leaves the job in. */
class JobRun {
  private run: Run | null = null;
  /** Why the current suspension was asked for; null while none is. */
  private acting: Acting | null = null;
  private cancelled = false;
  private abandoned = '';
  private readonly out: LogWriter;
  private readonly err: LogWriter;
  private readonly snapPath: string;
  private seq = 0;

  constructor(readonly w: FleetWorker, readonly id: string, readonly bullJob: string, private readonly owner: string,
    private readonly dir: string, private readonly delivered: { stdout: number; stderr: number }, private readonly recovered: boolean) {
    this.out = new LogWriter(this, 'stdout', 0);
    this.err = new LogWriter(this, 'stderr', 0);
    this.snapPath = join(dir, 'state.snapshot.wasm');
  }

  append(stream: LogStream, offset: number, data: Buffer): Promise<number> {
    return this.w.jobs.append(this.id, this.owner, stream, offset, data, this.w.opts.logLimit);
  }

  backlog(high: boolean): void {
    if (high) this.run?.pause();
    else if (this.out.backlog + this.err.backlog <= BACKLOG_HIGH / 4) this.run?.resume();
  }

  /** Another run owns the job now (or BullMQ gave it back to the queue): stop, write nothing more. */
  abandon(why: string): void {
    if (this.abandoned) return;
    this.abandoned = why;
    this.w.log(`job ${this.id}: abandoning this run: ${why}`);
    this.run?.kill();
  }

  onRequest(req: string): void {
    if (req === 'cancel') {
      if (this.cancelled) return;
      this.cancelled = true;
      this.run?.kill();
    } else if (req === 'suspend' || /^migrate:(x86-64|arm64)$/.test(req)) {
      if (this.acting === req || this.acting === 'requeue') return;
      this.acting = req as Acting;
      this.run?.suspend();
    }
  }

  /** The worker is stopping: suspend and go back to the queue. */
  requeue(): void {
    this.acting = 'requeue';
    this.run?.suspend();
  }

  async execute(): Promise<string> {
    const rec = await this.w.jobs.get(this.id);
    if (!rec) return 'its record is gone';
    // a request left while the job was queued (the control message went to no one)
    if (rec.request) this.onRequest(rec.request);
    const arch = this.w.opts.arch;
    // the run starts from the snapshot (its stream positions are the snapshot's) or the module
    const base = rec.snapshot ? { stdout: rec.snapshotStdout, stderr: rec.snapshotStderr } : { stdout: 0, stderr: 0 };
    if (this.recovered) {
      await this.w.jobs.event(this.id, `resuming from ${rec.snapshot ? `the checkpoint of ${rec.snapshotAt}` : 'the start (no checkpoint)'}: ` +
        `${this.delivered.stdout - base.stdout} bytes of stdout and ${this.delivered.stderr - base.stderr} of stderr, delivered after it, are not repeated`);
    }
    let image: string;
    let snapshotRef = rec.snapshot;
    if (rec.snapshot) {
      const r = await this.resumeImage(rec.snapshot, null);
      if (!r.ok) return this.fail(`resume: ${r.message}`);
      image = r.path;
    } else {
      const r = await this.w.images.image(rec.module, arch);
      if (!r.ok) return this.fail(`compile: ${r.message}`);
      image = r.path;
    }
    const u = await this.w.jobs.update(this.id, { owner: this.owner }, { loaded: this.bullJob });
    if (!u.ok) return this.fenced(null);
    // the stream positions the current image starts from
    let imageBase = base;
    let lost = 0;
    for (;;) {
      if (this.abandoned) return `abandoned (${this.abandoned})`;
      if (this.cancelled) return this.finishCancelled(snapshotRef);
      this.out.reset(imageBase.stdout);
      this.err.reset(imageBase.stderr);
      const outcome = await this.runOnce(image, rec.env, rec.args, rec.checkpointEvery);
      await Promise.all([this.out.drain(), this.err.drain()]);
      if (this.abandoned) return `abandoned (${this.abandoned})`;
      if (outcome.kind === 'lost') {
        if (++lost > MAX_LOST) return this.fail('gate-run: the loader died of the suspend signal again and again before it could take it');
        await this.w.jobs.event(this.id, 'the loader died of the suspend signal before it could take it: starting the same run again (its output is not repeated)');
        continue;
      }
      lost = 0;
      if (outcome.kind === 'killed') {
        if (this.cancelled) return this.finishCancelled(snapshotRef);
        return `abandoned (${this.abandoned || 'killed'})`;
      }
      if (outcome.kind === 'exited') return this.finish('done', { exitStatus: outcome.status }, `done: exit status ${outcome.status}`, snapshotRef);
      if (outcome.kind === 'trapped') return this.fail(`trap: ${outcome.message}`);
      if (outcome.kind === 'error') return this.fail(`gate-run: ${outcome.message}`);
      // suspended: a checkpoint, a request, or a SIGQUIT from elsewhere (taken as a suspend)
      const bytes = readFileSync(this.snapPath);
      if (this.cancelled) return this.finishCancelled(snapshotRef);
      let acting: Acting = this.acting ?? 'suspend';
      this.acting = null;
      const name = `snapshot-${this.id}-${Date.now().toString(36)}-${(this.seq++).toString(36)}${randomBytes(2).toString('hex')}`;
      let ref: string;
      try {
        ref = await this.w.blobs.put(name, bytes);
      } catch (e) {
        if (!(e instanceof BlobError)) throw e;
        // the program is suspended here all the same: go on from the local file
        if (acting === 'checkpoint') {
          await this.w.jobs.event(this.id, `checkpoint not kept: ${e.message}`);
        } else {
          await this.w.jobs.update(this.id, { owner: this.owner, event: `${acting} refused: ${e.message}` }, { request: DELETE, requestError: `${acting}: ${e.message}` });
        }
        const r = await this.resumeImage(null, this.snapPath);
        if (!r.ok) return this.fail(`resume: ${r.message}`);
        image = r.path;
        imageBase = { stdout: this.out.pos, stderr: this.err.pos };
        continue;
      }
      const snap = {
        snapshot: ref, snapshotArch: arch, snapshotAt: now(), snapshotBytes: bytes.length,
        snapshotStdout: this.out.pos, snapshotStderr: this.err.pos, stack: this.lastReport,
      };
      if (acting === 'checkpoint') {
        const u = await this.w.jobs.update(this.id, { owner: this.owner, event: `checkpoint: ${mib(bytes.length)}, after ${this.out.pos} bytes of stdout` }, { ...snap, '+checkpoints': 1 });
        if (!u.ok) return this.fenced(ref);
        if (snapshotRef) await this.w.blobs.delete(snapshotRef).catch((e) => this.w.log(`job ${this.id}: ${(e as Error).message}`));
        snapshotRef = ref;
        imageBase = { stdout: this.out.pos, stderr: this.err.pos };
        // a request that came during the checkpoint is carried out from it, without resuming first
        if (this.acting) {
          acting = this.acting;
          this.acting = null;
        } else {
          const r = await this.resumeImage(null, this.snapPath);
          if (!r.ok) return this.fail(`resume: ${r.message}`);
          image = r.path;
          continue;
        }
      }
      if (acting === 'suspend') {
        const u = await this.w.jobs.update(this.id, { owner: this.owner, event: `suspended on ${this.w.opts.name} (${arch})` },
          { ...snap, state: 'suspended', owner: DELETE, bullJob: '', request: DELETE });
        if (!u.ok) return this.fenced(ref);
        if (snapshotRef && snapshotRef !== ref) await this.w.blobs.delete(snapshotRef).catch((e) => this.w.log(`job ${this.id}: ${(e as Error).message}`));
        return 'suspended';
      }
      // migrate:ARCH or requeue: the snapshot goes to a queue (another arch's, or this one's)
      const target: Arch = acting === 'requeue' ? arch : (acting.slice('migrate:'.length) as Arch);
      const next = runJobId(this.id);
      const migrating = acting !== 'requeue';
      const u1 = await this.w.jobs.update(this.id, {
        owner: this.owner,
        event: migrating ? `migrating from ${arch} to ${target}: snapshot of ${mib(bytes.length)}` : `handed back to the ${arch} queue: worker ${this.w.opts.name} is stopping`,
      }, { ...snap, state: migrating ? 'migrating' : 'waiting', arch: target, nextBullJob: next, request: DELETE, ...(migrating ? { '+migrations': 1 } : {}) });
      if (!u1.ok) return this.fenced(ref);
      if (snapshotRef && snapshotRef !== ref) await this.w.blobs.delete(snapshotRef).catch((e) => this.w.log(`job ${this.id}: ${(e as Error).message}`));
      await this.w.queues.add(target, this.id, next);
      // the target may have taken it over already; then its owner is not ours and this is refused
      await this.w.jobs.update(this.id, { owner: this.owner }, { bullJob: next, nextBullJob: DELETE, owner: DELETE });
      return migrating ? `migrated to ${target}` : 'handed back to the queue';
    }
  }

  private lastReport = '';
  /** The last image compiled from a snapshot (in the job's directory). */
  private resumed = '';

  private runOnce(image: string, env: string[], args: string[], every: number): Promise<Outcome> {
    rmSync(this.snapPath, { force: true });
    const run = new Run({ image, snapshot: this.snapPath, env, args, cwd: this.dir }, {
      stdout: (b) => this.out.write(b),
      stderr: (b) => this.err.write(b),
    });
    this.run = run;
    if (this.cancelled) run.kill();
    else if (this.acting) run.suspend();
    let timer: NodeJS.Timeout | null = null;
    if (every > 0) {
      timer = setTimeout(() => {
        if (!this.acting) {
          this.acting = 'checkpoint';
          run.suspend();
        }
      }, every * 1000);
    }
    return run.ended.then((o) => {
      if (timer) clearTimeout(timer);
      this.lastReport = run.report;
      this.run = null;
      // a checkpoint asked for just as the program ended asks for nothing any more
      if (o.kind !== 'suspended' && this.acting === 'checkpoint') this.acting = null;
      return o;
    });
  }

  /** A resumable image from a stored snapshot (`ref`) or a local file. */
  private async resumeImage(ref: string | null, file: string | null): Promise<{ ok: true; path: string } | { ok: false; message: string }> {
    const snap = join(this.dir, 'snapshot.wasm');
    if (ref) {
      try {
        writeFileSync(snap, await this.w.blobs.get(ref));
      } catch (e) {
        if (e instanceof BlobError) return { ok: false, message: e.message };
        throw e;
      }
    } else {
      copyFileSync(file!, snap);
    }
    const out = join(this.dir, `resume-${this.seq++}.img`);
    const r = await compile(snap, out, this.w.opts.arch);
    if (!r.ok) return r;
    // the image resumed before this one is done with
    if (this.resumed) rmSync(this.resumed, { force: true });
    this.resumed = out;
    return { ok: true, path: out };
  }

  private async finish(state: 'done' | 'failed', fields: Record<string, string | number>, event: string, snapshotRef: string): Promise<string> {
    const u = await this.w.jobs.update(this.id, { owner: this.owner, event }, { state, ...fields, endedAt: now(), owner: DELETE, request: DELETE });
    if (!u.ok) return this.fenced(null);
    // a finished program's checkpoint is of no more use; a failed one's is kept to look at
    if (state === 'done' && snapshotRef) {
      await this.w.blobs.delete(snapshotRef).catch((e) => this.w.log(`job ${this.id}: ${(e as Error).message}`));
      await this.w.jobs.update(this.id, {}, { snapshot: DELETE });
    }
    return state === 'done' ? `done ${fields.exitStatus}` : `failed: ${fields.reason}`;
  }

  private fail(reason: string): Promise<string> {
    return this.finish('failed', { reason }, `failed: ${reason}`, '');
  }

  private async finishCancelled(snapshotRef: string): Promise<string> {
    const u = await this.w.jobs.update(this.id, { owner: this.owner, event: 'cancelled while running' },
      { state: 'cancelled', reason: 'while running', endedAt: now(), owner: DELETE, request: DELETE });
    if (!u.ok) return this.fenced(null);
    if (snapshotRef) {
      await this.w.blobs.delete(snapshotRef).catch((e) => this.w.log(`job ${this.id}: ${(e as Error).message}`));
      await this.w.jobs.update(this.id, {}, { snapshot: DELETE });
    }
    return 'cancelled';
  }

  private async fenced(ref: string | null): Promise<string> {
    if (ref) await this.w.blobs.delete(ref).catch((e) => this.w.log(`job ${this.id}: ${(e as Error).message}`));
    return 'abandoned (another run took the job over)';
  }
}

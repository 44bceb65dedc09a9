/**
 * A fleet job's record in Redis, and every change made to it (docs/fleet.md, "Records").
 *
 * BullMQ holds the queues: one queue per arch, one BullMQ job per *run* of a fleet job (its start,
 * a resume, a migration's arrival). The fleet job itself (state, snapshot, log offsets) is a Redis
 * hash that outlives its BullMQ jobs. Changes that must not race (a worker taking the job over, a
 * log append, a state change) are small Lua scripts, so each is atomic in Redis; the worker's
 * writes carry its `owner` token and are refused once another run has taken the job over
 * (fencing: a worker presumed dead by BullMQ's stalled-job check cannot write any more).
 */
import type Redis from 'ioredis';

export type Arch = 'x86-64' | 'arm64';
export const ARCHES: readonly Arch[] = ['x86-64', 'arm64'];

export type JobState = 'waiting' | 'running' | 'suspended' | 'migrating' | 'done' | 'failed' | 'cancelled';
export const TERMINAL: readonly JobState[] = ['done', 'failed', 'cancelled'];
export type LogStream = 'stdout' | 'stderr';

/** Requests a client leaves on a job for the worker running it. */
export type Request = 'suspend' | 'cancel' | `migrate:${Arch}`;

/** Redis key names under one prefix (`--prefix`, default `gate`). BullMQ's keys are `PREFIX:ARCH:…`. */
export class Keys {
  constructor(readonly prefix: string) {}
  get seq(): string { return `${this.prefix}:fleet:seq`; }
  get jobs(): string { return `${this.prefix}:fleet:jobs`; }
  get control(): string { return `${this.prefix}:fleet:control`; }
  job(id: string): string { return `${this.prefix}:fleet:job:${id}`; }
  log(id: string, stream: LogStream): string { return `${this.prefix}:fleet:job:${id}:${stream}`; }
  events(id: string): string { return `${this.prefix}:fleet:job:${id}:events`; }
  worker(name: string): string { return `${this.prefix}:fleet:worker:${name}`; }
  get workerPattern(): string { return `${this.prefix}:fleet:worker:*`; }
  blob(name: string): string { return `${this.prefix}:fleet:blob:${name}`; }
}

/** A job record as stored (every field a string in the hash) and parsed. */
export interface JobRecord {
  id: string;
  state: JobState;
  /** Why it failed or was cancelled, or what it waits for. */
  reason: string;
  /** What the submitter asked for (`any` or an arch). */
  requestedArch: 'any' | Arch;
  /** The arch of the queue it is in, or of the worker running it. */
  arch: Arch;
  name: string;
  /** Blob reference of the module. */
  module: string;
  moduleBytes: number;
  args: string[];
  env: string[];
  /** Seconds between checkpoints, 0 for none. */
  checkpointEvery: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string;
  endedAt: string;
  /** The program's exit status (done). */
  exitStatus: number | null;
  /** The worker running it (or that ran it last). */
  worker: string;
  /** The current BullMQ job (`ID-N`), on the queue named by `arch`. */
  bullJob: string;
  /** The BullMQ job whose program is running: equal to bullJob once the worker's image is ready and gate-run started. */
  loaded: string;
  /** Runs taken over by a worker (first start, resumes, recoveries). */
  runs: number;
  /** Blob reference of the latest snapshot (a checkpoint or the suspension), '' for none. */
  snapshot: string;
  snapshotArch: string;
  snapshotAt: string;
  snapshotBytes: number;
  /** Bytes of stdout / stderr the program had delivered when the snapshot was taken. */
  snapshotStdout: number;
  snapshotStderr: number;
  /** Where it stopped, the loader's report (`at FUNC (wasm offset …)` lines). */
  stack: string;
  checkpoints: number;
  recoveries: number;
  migrations: number;
  /** A pending request for the worker, and the last one that could not be carried out. */
  request: string;
  requestError: string;
  stdoutBytes: number;
  stderrBytes: number;
  /** Output past the log limit was dropped. */
  truncated: boolean;
}

const NUM = ['moduleBytes', 'checkpointEvery', 'runs', 'snapshotBytes', 'snapshotStdout', 'snapshotStderr', 'checkpoints', 'recoveries', 'migrations'] as const;

export function parseRecord(h: Record<string, string>, lengths: { stdout: number; stderr: number }): JobRecord | null {
  if (!h.state) return null;
  const num = (k: string): number => Number(h[k] ?? 0) || 0;
  const json = (k: string): string[] => {
    try { return h[k] ? JSON.parse(h[k]) : []; } catch { return []; }
  };
  const rec = {
    id: h.id, state: h.state as JobState, reason: h.reason ?? '', requestedArch: (h.requestedArch ?? h.arch) as 'any' | Arch,
    arch: h.arch as Arch, name: h.name ?? '', module: h.module ?? '', args: json('args'), env: json('env'),
    createdAt: h.createdAt ?? '', updatedAt: h.updatedAt ?? '', startedAt: h.startedAt ?? '', endedAt: h.endedAt ?? '',
    exitStatus: h.exitStatus !== undefined && h.exitStatus !== '' ? Number(h.exitStatus) : null,
    worker: h.worker ?? '', bullJob: h.bullJob ?? '', loaded: h.loaded ?? '', snapshot: h.snapshot ?? '', snapshotArch: h.snapshotArch ?? '',
    snapshotAt: h.snapshotAt ?? '', stack: h.stack ?? '', request: h.request ?? '', requestError: h.requestError ?? '',
    stdoutBytes: lengths.stdout, stderrBytes: lengths.stderr, truncated: h.truncated === '1',
  } as Partial<JobRecord>;
  for (const k of NUM) (rec as Record<string, unknown>)[k] = num(k);
  return rec as JobRecord;
}

/** One line, starting with the state (README, "A fleet"). `note` is what the client found out besides. */
export function statusLine(r: JobRecord, note = ''): string {
  const tail = note ? `: ${note}` : '';
  switch (r.state) {
    case 'done': return `done ${r.exitStatus ?? 0}`;
    case 'failed': return `failed ${r.reason}`;
    case 'cancelled': return `cancelled${r.reason ? ` (${r.reason})` : ''}`;
    case 'running': return `running ${r.arch} on ${r.worker}${r.loaded === r.bullJob ? '' : ' (compiling)'}${tail}`;
    case 'waiting': return `waiting ${r.arch}${r.snapshot ? ' (resumes from its snapshot)' : ''}${tail}`;
    case 'migrating': return `migrating to ${r.arch}${tail}`;
    case 'suspended': return `suspended ${r.snapshotArch || r.arch}${r.stack ? ` ${r.stack.split('\n')[0].trim()}` : ''}${tail}`;
    default: return `${r.state}${tail}`;
  }
}

/**
 * The scripts. Each returns what the caller needs to decide; none calls out of Redis. `now` is
 * passed in (ISO time) so that records read the same whatever Redis's clock.
 *
 * fleetUpdate KEYS: record, events. ARGV: owner ('' = no fence), allowed states ('' = any, else
 * comma-separated), event text ('' = none), now, then field/value pairs: a value of "\0" deletes
 * the field, a field starting with "+" is incremented by the value. Returns {1, state} when
 * applied, {0, state, owner} when the fence or the state refused it ({0} for no such job).
 */
const UPDATE = `
local rec = KEYS[1]
local st = redis.call('HGET', rec, 'state')
if not st then return {0} end
local owner = redis.call('HGET', rec, 'owner') or ''
if ARGV[1] ~= '' and owner ~= ARGV[1] then return {0, st, owner} end
if ARGV[2] ~= '' then
  local ok = false
  for s in string.gmatch(ARGV[2], '[^,]+') do if s == st then ok = true end end
  if not ok then return {0, st, owner} end
end
for i = 5, #ARGV, 2 do
  local f, v = ARGV[i], ARGV[i + 1]
  if v == '\\0' then redis.call('HDEL', rec, f)
  elseif string.sub(f, 1, 1) == '+' then redis.call('HINCRBY', rec, string.sub(f, 2), v)
  else redis.call('HSET', rec, f, v) end
end
redis.call('HSET', rec, 'updatedAt', ARGV[4])
if ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[4] .. ' ' .. ARGV[3])
  redis.call('LTRIM', KEYS[2], -1000, -1)
end
return {1, redis.call('HGET', rec, 'state')}
`;

/**
 * fleetTakeover KEYS: record, events, stdout, stderr. ARGV: BullMQ job id, owner, worker, arch,
 * now. A worker starting a BullMQ job takes the fleet job over, unless it ended, was suspended,
 * or moved on to another BullMQ job (a stale one: a migration or resume enqueued a newer one).
 * A job still `running` under another owner was lost with its worker: a recovery.
 */
const TAKEOVER = `
local rec = KEYS[1]
local st = redis.call('HGET', rec, 'state')
if not st then return {'missing'} end
if st == 'done' or st == 'failed' or st == 'cancelled' then return {'gone', st} end
local cur = redis.call('HGET', rec, 'bullJob') or ''
local nxt = redis.call('HGET', rec, 'nextBullJob') or ''
if ARGV[1] ~= cur and ARGV[1] ~= nxt then return {'stale', cur} end
if st == 'suspended' then return {'stale', 'suspended'} end
local function event(text)
  redis.call('RPUSH', KEYS[2], ARGV[5] .. ' ' .. text)
  redis.call('LTRIM', KEYS[2], -1000, -1)
end
if redis.call('HGET', rec, 'request') == 'cancel' then
  redis.call('HSET', rec, 'state', 'cancelled', 'reason', 'before it ran', 'endedAt', ARGV[5], 'updatedAt', ARGV[5])
  redis.call('HDEL', rec, 'request', 'owner')
  event('cancelled before it ran')
  return {'cancelled'}
end
local recovered = st == 'running'
local previous = redis.call('HGET', rec, 'worker') or ''
redis.call('HSET', rec, 'state', 'running', 'owner', ARGV[2], 'worker', ARGV[3], 'arch', ARGV[4], 'bullJob', ARGV[1], 'nextBullJob', '', 'updatedAt', ARGV[5])
redis.call('HINCRBY', rec, 'runs', 1)
if not redis.call('HGET', rec, 'startedAt') then redis.call('HSET', rec, 'startedAt', ARGV[5]) end
if recovered then
  redis.call('HINCRBY', rec, 'recoveries', 1)
  event('recovered by ' .. ARGV[3] .. ' (' .. ARGV[4] .. '): ' .. previous .. ', which ran it, was lost')
else
  event('running on ' .. ARGV[3] .. ' (' .. ARGV[4] .. ')')
end
return {'ok', recovered and '1' or '0', tostring(redis.call('STRLEN', KEYS[3])), tostring(redis.call('STRLEN', KEYS[4]))}
`;

/**
 * fleetAppend KEYS: record, log. ARGV: owner, offset, data, limit. The data is the program's
 * output at stream position `offset`; only the bytes past the log's current end are appended
 * (a resumed or recovered run produces again what followed its snapshot: what was delivered
 * stays, nothing is repeated). Returns the log's length, -1 when fenced off, -2 for a gap (a
 * bug: the worker writes in order).
 */
const APPEND = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return -1 end
local len = redis.call('STRLEN', KEYS[2])
local off = tonumber(ARGV[2])
local data = ARGV[3]
local stop = off + #data
local limit = tonumber(ARGV[4])
if stop > limit then
  stop = limit
  redis.call('HSET', KEYS[1], 'truncated', '1')
end
if stop <= len then return len end
if off > len then return -2 end
redis.call('APPEND', KEYS[2], string.sub(data, len - off + 1, stop - off))
return stop
`;

/** ioredis with the fleet's scripts defined (EVALSHA, loaded on first use and after a restart). */
export interface FleetRedis extends Redis {
  fleetUpdate(rec: string, events: string, ...argv: (string | number)[]): Promise<[number, string?, string?]>;
  fleetTakeover(rec: string, events: string, out: string, err: string, ...argv: string[]): Promise<string[]>;
  fleetAppend(rec: string, log: string, owner: string, offset: number, data: Buffer, limit: number): Promise<number>;
}

export function defineScripts(redis: Redis): FleetRedis {
  redis.defineCommand('fleetUpdate', { numberOfKeys: 2, lua: UPDATE });
  redis.defineCommand('fleetTakeover', { numberOfKeys: 4, lua: TAKEOVER });
  redis.defineCommand('fleetAppend', { numberOfKeys: 2, lua: APPEND });
  return redis as FleetRedis;
}

/** Deletes a field in fleetUpdate's pairs. */
export const DELETE = '\0';

/** Job records and their transitions, for workers and clients alike. */
export class Jobs {
  constructor(readonly redis: FleetRedis, readonly keys: Keys) {}

  async get(id: string): Promise<JobRecord | null> {
    const [[, h], [, out], [, err]] = (await this.redis.multi()
      .hgetall(this.keys.job(id)).strlen(this.keys.log(id, 'stdout')).strlen(this.keys.log(id, 'stderr')).exec()) as [unknown, unknown][];
    return parseRecord(h as Record<string, string>, { stdout: Number(out), stderr: Number(err) });
  }

  async events(id: string): Promise<string[]> {
    return this.redis.lrange(this.keys.events(id), 0, -1);
  }

  /**
   * Applies `fields` when the fence (`owner`, '' for none) and the state (`states`, empty for any)
   * allow; returns whether it did and the state it found.
   */
  async update(id: string, opts: { owner?: string; states?: readonly JobState[]; event?: string }, fields: Record<string, string | number>): Promise<{ ok: boolean; state: string; owner: string }> {
    const pairs: (string | number)[] = [];
    for (const [k, v] of Object.entries(fields)) pairs.push(k, v);
    const r = await this.redis.fleetUpdate(this.keys.job(id), this.keys.events(id), opts.owner ?? '', (opts.states ?? []).join(','), opts.event ?? '', now(), ...pairs);
    return { ok: r[0] === 1, state: r[1] ?? '', owner: r[2] ?? '' };
  }

  async event(id: string, text: string): Promise<void> {
    await this.redis.multi().rpush(this.keys.events(id), `${now()} ${text}`).ltrim(this.keys.events(id), -1000, -1).exec();
  }

  async takeover(id: string, bullJob: string, owner: string, worker: string, arch: Arch): Promise<
    { kind: 'ok'; recovered: boolean; stdout: number; stderr: number } | { kind: 'missing' | 'gone' | 'stale' | 'cancelled'; detail: string }> {
    const r = await this.redis.fleetTakeover(this.keys.job(id), this.keys.events(id), this.keys.log(id, 'stdout'), this.keys.log(id, 'stderr'), bullJob, owner, worker, arch, now());
    if (r[0] === 'ok') return { kind: 'ok', recovered: r[1] === '1', stdout: Number(r[2]), stderr: Number(r[3]) };
    return { kind: r[0] as 'missing' | 'gone' | 'stale' | 'cancelled', detail: r[1] ?? '' };
  }

  /** Appends output at stream position `offset`: the log's new length, -1 when fenced off. */
  append(id: string, owner: string, stream: LogStream, offset: number, data: Buffer, limit: number): Promise<number> {
    return this.redis.fleetAppend(this.keys.job(id), this.keys.log(id, stream), owner, offset, data, limit);
  }

  /** Asks the worker running `id` to act (it listens on the control channel and polls). */
  async request(id: string, request: Request, states: readonly JobState[]): Promise<{ ok: boolean; state: string }> {
    const r = await this.update(id, { states, event: `request: ${request}` }, { request, requestError: DELETE });
    if (r.ok) await this.redis.publish(this.keys.control, id);
    return r;
  }
}

export function now(): string {
  return new Date().toISOString();
}

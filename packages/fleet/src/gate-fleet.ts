/**
 * `gate-fleet --redis URL COMMAND …`: submit programs to the fleet and follow, suspend, resume,
 * migrate and cancel them (README, "A fleet"). Exit status 0 when the command did what it says,
 * 1 when it could not (no such job, a job in another state, Redis unreachable, a wait that ran
 * out), 2 for bad usage.
 */
import { readFileSync } from 'fs';
import { basename } from 'path';
import yargs, { type Argv } from 'yargs';
import { Fleet, FleetError, type Status } from './client';
import { ConnectionError } from './connection';
import { ARCHES, TERMINAL, statusLine, type Arch, type JobRecord } from './jobs';
import { DEFAULT_REDIS_BLOB_MAX } from './blobs';

export class UsageError extends Error {}


export async function main(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const progArgs = dash >= 0 ? argv.slice(dash + 1) : [];
  const job = (y: Argv) => y.positional('job', { type: 'string', describe: 'job id' });
  const parser = yargs(own)
    .scriptName('gate-fleet')
    .usage('$0 --redis URL COMMAND [options]\n\nRuns wagc programs on a fleet of gate-worker hosts through Redis and BullMQ: submit, follow, suspend, resume, migrate between x86-64 and arm64, cancel (docs/fleet.md).')
    .epilogue('Exit status: 0 done; 1 not done (no such job, a job in another state, Redis not reachable, a wait that ran out), with one line on stderr; 2 bad usage.')
    .option('redis', { type: 'string', describe: 'Redis URL, e.g. redis://127.0.0.1:6390 (default: $GATE_REDIS)' })
    .option('json', { type: 'boolean', describe: 'print the full record(s) as JSON instead of a line' })
    .option('prefix', { type: 'string', default: 'gate', describe: 'key prefix of the fleet in Redis (BullMQ queues are PREFIX:ARCH)' })
    .option('blobs', { type: 'string', describe: 'the directory, shared by every worker and client, for blobs over --redis-blob-max' })
    .option('redis-blob-max', { type: 'number', default: DEFAULT_REDIS_BLOB_MAX, describe: 'larger blobs (modules, snapshots) go to --blobs DIR' })
    .option('timeout', { type: 'number', default: 600, describe: 'seconds suspend, resume, migrate and cancel wait for the job to get there' })
    .option('wait', { type: 'boolean', default: true, describe: 'suspend, resume, migrate, cancel wait until the job gets there; --no-wait returns once the request is recorded' })
    .command('submit <prog>', 'queue PROG.wasm ([--arch any|x86-64|arm64] [--env K=V]... [--checkpoint-every S] [-- ARGS...]); prints its job id alone', (y) => y
      .positional('prog', { type: 'string' })
      .option('arch', { type: 'string', default: 'any', choices: ['any', ...ARCHES], describe: 'the arch of the worker to run it' })
      .option('env', { type: 'string', array: true, describe: 'K=V: the program\'s environment (repeatable)' })
      .option('checkpoint-every', { type: 'number', default: 0, describe: 'suspend and resume it on its host every SECONDS, keeping the snapshot: a lost worker\'s job resumes from there' }))
    .command('status <job>', 'one line: the state, then the exit status or reason', job)
    .command('logs <job>', 'the program\'s stdout ([--stderr] [--follow])', (y) => job(y)
      .option('stderr', { type: 'boolean', describe: 'stderr instead of stdout' })
      .option('follow', { alias: 'f', type: 'boolean', describe: 'keep printing until the job ends' }))
    .command('suspend <job>', 'suspend it, its snapshot stored; waits until it is', job)
    .command('resume <job>', 'queue a suspended job again, on --arch A (default: where it stopped); waits until it runs', (y) => job(y).option('arch', { type: 'string', choices: [...ARCHES] }))
    .command('migrate <job>', 'suspend it and resume it on a worker of --to A; waits until it runs there', (y) => job(y).option('to', { type: 'string', choices: [...ARCHES], demandOption: true }))
    .command('cancel <job>', 'stop it for good', job)
    .command('list', 'every job, one line each')
    .command('workers', 'the workers connected now')
    .command('remove <job>', 'delete an ended job\'s record, logs and snapshot', job)
    .demandCommand(1, 1, 'gate-fleet: expected a command', 'gate-fleet: one command at a time')
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => { throw new UsageError(err ? err.message : msg); });
  const args = parser.parseSync();
  if (args.help) return 0;
  const cmd = String(args._[0]);
  if (progArgs.length && cmd !== 'submit') throw new UsageError('arguments after -- are for submit');
  const url = args.redis ?? process.env.GATE_REDIS;
  if (!url) throw new UsageError('--redis URL is required (or set GATE_REDIS)');
  let fleet: Fleet;
  try {
    fleet = await Fleet.connect({ redis: url, prefix: args.prefix, blobs: args.blobs ?? null, redisBlobMax: args['redis-blob-max'] });
  } catch (e) {
    if (e instanceof ConnectionError) return fail(e.message);
    throw e;
  }
  fleet.warn = (text) => process.stderr.write(`gate-fleet: warning: ${text}\n`);
  try {
    return await run(fleet, cmd, args as unknown as Args, progArgs);
  } catch (e) {
    if (e instanceof FleetError || e instanceof ConnectionError) return fail(e.message);
    if (/ECONNREFUSED|Connection is closed|ETIMEDOUT|ECONNRESET|max retries/i.test((e as Error).message)) return fail(`lost Redis at ${url}: ${(e as Error).message}`);
    throw e;
  } finally {
    await fleet.close();
  }
}

interface Args {
  prog: string; job: string; arch?: string; env?: string[]; 'checkpoint-every': number; stderr?: boolean; follow?: boolean;
  to: Arch; json?: boolean; timeout: number; wait: boolean;
}

function fail(message: string): number {
  process.stderr.write(`gate-fleet: error: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  return 1;
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printRecord(args: Args, s: Status | JobRecord): void {
  if (args.json) print(JSON.stringify('record' in s ? { ...s.record, note: s.note, status: s.line, events: s.events } : s));
  else print('record' in s ? s.line : statusLine(s));
}

async function run(fleet: Fleet, cmd: string, args: Args, progArgs: string[]): Promise<number> {
  const wait = args.wait !== false;
  const timeout = args.timeout * 1000;
  switch (cmd) {
    case 'submit': {
      let bytes: Buffer;
      try {
        bytes = readFileSync(args.prog);
      } catch (e) {
        return fail(`${args.prog}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
      const r = await fleet.submit(bytes, { arch: args.arch as Arch | 'any', env: args.env?.map(String), args: progArgs, checkpointEvery: args['checkpoint-every'], name: basename(args.prog) });
      if (r.warning) process.stderr.write(`gate-fleet: job ${r.id}: ${r.warning}\n`);
      if (args.json) print(JSON.stringify(await fleet.record(r.id)));
      else print(r.id);
      return 0;
    }
    case 'status':
      printRecord(args, await fleet.status(args.job));
      return 0;
    case 'logs':
      return logs(fleet, args);
    case 'list': {
      const all = await fleet.list();
      if (args.json) print(JSON.stringify(all));
      else for (const r of all) print(`${r.id}\t${r.name}\t${statusLine(r)}`);
      return 0;
    }
    case 'workers': {
      const ws = await fleet.workers();
      if (args.json) print(JSON.stringify(ws));
      else for (const w of ws) print(`${w.name}\t${w.arch}\t${w.running.length}/${w.concurrency} running${w.running.length ? ` (jobs ${w.running.join(', ')})` : ''}\t${w.host} pid ${w.pid}`);
      return 0;
    }
    case 'remove':
      await fleet.remove(args.job);
      return 0;
    case 'suspend': {
      const before = await fleet.suspend(args.job);
      if (!wait) return done(fleet, args);
      const r = await fleet.waitFor(args.job, (x) => x.state === 'suspended' || TERMINAL.includes(x.state) || requestFailed(x, before), timeout, 'it to suspend');
      return settled(args, r, r.state === 'suspended', 'suspended');
    }
    case 'resume': {
      const before = await fleet.record(args.job);
      const r0 = await fleet.resume(args.job, args.arch as Arch | undefined);
      if (!wait) return done(fleet, args);
      const r = await waitRunning(fleet, args, before ?? r0, r0.arch, timeout);
      return settled(args, r, r.state === 'running' || queuedWithoutWorker(r), 'running');
    }
    case 'migrate': {
      const before = await fleet.record(args.job);
      const r0 = await fleet.migrate(args.job, args.to);
      if (!wait) return done(fleet, args);
      const r = await waitRunning(fleet, args, before ?? r0, args.to, timeout);
      return settled(args, r, (r.state === 'running' && r.arch === args.to) || queuedWithoutWorker(r), `running on ${args.to}`);
    }
    case 'cancel': {
      await fleet.cancel(args.job);
      if (!wait) return done(fleet, args);
      const r = await fleet.waitFor(args.job, (x) => TERMINAL.includes(x.state), timeout, 'it to stop');
      return settled(args, r, r.state === 'cancelled', 'cancelled');
    }
  }
  throw new UsageError(`unknown command ${cmd}`);
}

let servedCache: Set<string> | null = null;
/** A job queued for an arch no worker serves: nothing more will happen until one connects. */
function queuedWithoutWorker(r: JobRecord): boolean {
  return (r.state === 'waiting' || r.state === 'migrating') && servedCache !== null && !servedCache.has(r.arch);
}

async function waitRunning(fleet: Fleet, args: Args, r0: JobRecord, arch: string, timeout: number): Promise<JobRecord> {
  servedCache = new Set((await fleet.workers()).map((w) => w.arch));
  return fleet.waitFor(args.job, (x) =>
    (x.state === 'running' && x.arch === arch && x.bullJob !== r0.bullJob && x.loaded === x.bullJob) || x.state === 'suspended' || TERMINAL.includes(x.state) ||
    requestFailed(x, r0) || queuedWithoutWorker(x), timeout, `it to run on ${arch}`);
}

function requestFailed(r: JobRecord, before: JobRecord): boolean {
  return !!r.requestError && r.requestError !== before.requestError;
}

async function done(fleet: Fleet, args: Args): Promise<number> {
  printRecord(args, await fleet.status(args.job));
  return 0;
}

function settled(args: Args, r: JobRecord, ok: boolean, wanted: string): number {
  if (ok) {
    printRecord(args, r);
    if (queuedWithoutWorker(r)) process.stderr.write(`gate-fleet: job ${r.id}: no ${r.arch} worker is connected; it waits for one\n`);
    return 0;
  }
  if (args.json) printRecord(args, r);
  return fail(r.requestError ? `job ${r.id}: ${r.requestError}` : `job ${r.id} is ${statusLine(r)}, not ${wanted}`);
}

async function logs(fleet: Fleet, args: Args): Promise<number> {
  const stream = args.stderr ? 'stderr' : 'stdout';
  let at = 0;
  const out = async (b: Buffer): Promise<void> => {
    if (!b.length) return;
    at += b.length;
    if (!process.stdout.write(b)) await new Promise((res) => process.stdout.once('drain', res));
  };
  if (args.json && !args.follow) {
    const b = await fleet.logs(args.job, stream);
    print(JSON.stringify({ id: args.job, stream, bytes: b.length, text: b.toString('utf8') }));
    return 0;
  }
  for (;;) {
    // the state first: output written before the job ended is all there when it has
    const rec = args.follow ? await fleet.record(args.job) : null;
    await out(await fleet.logs(args.job, stream, at));
    if (!args.follow || (rec && TERMINAL.includes(rec.state))) return 0;
    await new Promise((res) => setTimeout(res, 250));
  }
}

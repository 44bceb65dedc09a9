/**
 * `gate-worker --redis URL [--arch x86-64|arm64] [--concurrency N]`: serves one arch's queue of
 * the fleet until SIGTERM or SIGINT, which hand its running programs back to the queue
 * (suspended) before it exits; a second signal exits at once.
 */
import { existsSync } from 'fs';
import { hostname, tmpdir } from 'os';
import { join, resolve } from 'path';
import yargs from 'yargs';
import { loaderPath } from '@wagc/loader-c';
import { DEFAULT_REDIS_BLOB_MAX } from './blobs';
import { ARCHES, type Arch } from './jobs';
import { DEFAULTS, FleetWorker } from './worker';
import { UsageError } from './gate-fleet';

export async function main(argv: string[]): Promise<number> {
  const host: Arch = process.arch === 'arm64' ? 'arm64' : 'x86-64';
  const args = yargs(argv)
    .scriptName('gate-worker')
    .usage('$0 --redis URL [--arch x86-64|arm64] [--concurrency N] [--blobs DIR]\n\nRuns fleet jobs from the queue of its arch (an arm64 worker on an x86-64 host runs its programs under qemu-aarch64) until SIGTERM or SIGINT, which suspend its running programs back into the queue.')
    .option('redis', { type: 'string', describe: 'Redis URL, e.g. redis://127.0.0.1:6390 (default: $GATE_REDIS)' })
    .option('arch', { type: 'string', choices: [...ARCHES], default: host, describe: 'the queue to serve (default: this host\'s arch)' })
    .option('concurrency', { type: 'number', default: DEFAULTS.concurrency, describe: 'programs run at once' })
    .option('name', { type: 'string', describe: 'the worker\'s name in job records (default HOST-PID)' })
    .option('blobs', { type: 'string', describe: 'directory shared with every worker and client for blobs over --redis-blob-max' })
    .option('redis-blob-max', { type: 'number', default: DEFAULT_REDIS_BLOB_MAX, describe: 'blobs up to this many bytes are kept in Redis' })
    .option('prefix', { type: 'string', default: DEFAULTS.prefix, describe: 'key prefix of the fleet in Redis' })
    .option('lock-duration', { type: 'number', default: DEFAULTS.lockDuration, describe: 'ms a run\'s BullMQ lock lives unrenewed: a worker silent this long is taken for lost and its job handed on' })
    .option('stalled-interval', { type: 'number', default: DEFAULTS.stalledInterval, describe: 'ms between this worker\'s checks for stalled jobs' })
    .option('max-stalled', { type: 'number', default: DEFAULTS.maxStalled, describe: 'how many lost workers a job survives before it fails' })
    .option('log-limit', { type: 'number', default: DEFAULTS.logLimit, describe: 'bytes kept of each job\'s stdout and stderr' })
    .option('work', { type: 'string', describe: 'directory for images and runs (default: a directory in $TMPDIR)' })
    .option('quiet', { type: 'boolean', describe: 'print nothing but errors' })
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => { throw new UsageError(err ? err.message : msg); })
    .parseSync();
  if (args.help) return 0;
  const url = args.redis ?? process.env.GATE_REDIS;
  if (!url) throw new UsageError('--redis URL is required (or set GATE_REDIS)');
  const arch = args.arch as Arch;
  if (!(args.concurrency >= 1) || !Number.isInteger(args.concurrency)) throw new UsageError('--concurrency: a whole number ≥ 1');
  if (!existsSync(loaderPath(arch))) {
    process.stderr.write(`gate-worker: error: no ${arch} loader built (${loaderPath(arch)}): run npm run build${arch === 'arm64' ? ' (the arm64 loader is cross-compiled: bash scripts/setup.sh installs what it needs)' : ''}\n`);
    return 2;
  }
  if (arch !== host && !onPath(arch === 'arm64' ? 'qemu-aarch64' : 'qemu-x86_64')) {
    process.stderr.write(`gate-worker: error: an ${arch} worker on this ${host} host runs its programs under ${arch === 'arm64' ? 'qemu-aarch64' : 'qemu-x86_64'}, which is not on PATH (Debian package qemu-user)\n`);
    return 2;
  }
  const name = args.name ?? `${hostname()}-${process.pid}`;
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UsageError('--name: letters, digits, ".", "_" and "-" only');
  const worker = new FleetWorker({
    redis: url, arch, concurrency: args.concurrency, name, prefix: args.prefix, blobs: args.blobs ? resolve(args.blobs) : null,
    redisBlobMax: args['redis-blob-max'], lockDuration: args['lock-duration'], stalledInterval: args['stalled-interval'],
    maxStalled: args['max-stalled'], logLimit: args['log-limit'], work: args.work ? resolve(args.work) : join(tmpdir(), `gate-worker-${name}`),
    quiet: !!args.quiet,
  });
  await worker.start();
  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) {
        process.stderr.write(`gate-worker ${name}: stopping now\n`);
        process.exit(1);
      }
      stopping = true;
      worker.close().then(() => done(0), (e) => {
        process.stderr.write(`gate-worker ${name}: error while stopping: ${(e as Error).message}\n`);
        done(1);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, cmd)));
}

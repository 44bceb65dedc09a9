/**
 * What the fleet tests run on: a real redis-server on a loopback port chosen free at run time
 * (started and stopped here, its data in a temporary directory so it survives a restart), and
 * gate-worker processes (the built bin, as a user starts it). Waits poll for facts; nothing here
 * measures time.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { createServer, createConnection } from 'net';
import { mkdirSync, readFileSync, readdirSync } from 'fs';
import { join, resolve } from 'path';

export const root = resolve(__dirname, '../../..');
export const workerBin = join(root, 'packages/fleet/bin/gate-worker.js');
export const fleetBin = join(root, 'packages/fleet/bin/gate-fleet.js');

/** Polls `fact` until it holds (resolves its value); fails with `what` after `ms`. */
export async function until<T>(what: string, fact: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 120000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fact();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
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

function ping(port: number): Promise<boolean> {
  return new Promise((res) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    let got = '';
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (d) => { got += d.toString(); if (got.includes('\r\n')) { c.destroy(); res(got.startsWith('+PONG')); } });
    c.on('error', () => res(false));
  });
}

/** A redis-server of our own: append-only file on, so that a restart keeps every key. */
export class RedisServer {
  private proc: ChildProcess | null = null;
  port = 0;
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  get url(): string { return `redis://127.0.0.1:${this.port}`; }

  async start(): Promise<void> {
    if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error('redis-server is not installed: run bash scripts/setup.sh (Debian package redis-server)');
    for (let attempt = 0; ; attempt++) {
      if (!this.port || attempt > 0) this.port = await freePort();
      if (await this.launch()) return;
      if (attempt >= 5) throw new Error(`redis-server did not start: ${readFileSync(join(this.dir, 'redis.log'), 'utf8').slice(-2000)}`);
    }
  }

  /** Starts it again on the same port with the same data. */
  async restart(): Promise<void> {
    if (!(await this.launch())) throw new Error(`redis-server did not restart on port ${this.port}`);
  }

  private async launch(): Promise<boolean> {
    const p = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes',
      '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction', '--logfile', join(this.dir, 'redis.log')], { stdio: 'ignore' });
    this.proc = p;
    let exited = false;
    p.on('exit', () => { exited = true; });
    try {
      await until('redis-server to answer', async () => exited ? 'exited' : (await ping(this.port)) ? 'up' : null, 30000);
    } catch {
      p.kill('SIGKILL');
      return false;
    }
    return !exited;
  }

  /** Stops it (SIGTERM: it writes what it has and exits). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await gone;
    this.proc = null;
  }
}

/** A gate-worker process. Its stderr is kept (`log`) to explain a failure. */
export class WorkerProcess {
  readonly proc: ChildProcess;
  log = '';
  exited: Promise<number | null>;
  constructor(readonly name: string, readonly arch: string, redisUrl: string, extra: string[] = []) {
    this.proc = spawn(process.execPath, [workerBin, '--redis', redisUrl, '--arch', arch, '--name', name,
      // a lost worker's job is handed on within seconds, not the default 30 s
      '--lock-duration', '4000', '--stalled-interval', '1000', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc.stderr!.on('data', (d: Buffer) => { this.log += d.toString(); });
    this.exited = new Promise((r) => this.proc.on('exit', (code) => r(code)));
  }

  get pid(): number { return this.proc.pid!; }

  /** The worker and every process under it (gate-run, the loader, qemu), deepest last. */
  tree(): number[] {
    const out: number[] = [];
    const walk = (pid: number): void => {
      out.push(pid);
      let kids: string[] = [];
      try {
        for (const t of readdirSync(`/proc/${pid}/task`)) {
          kids = kids.concat(readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
        }
      } catch {
        // gone
      }
      for (const k of kids) walk(Number(k));
    };
    walk(this.pid);
    return out;
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the worker and everything it started. */
  signalTree(signal: NodeJS.Signals): number[] {
    const pids = this.tree();
    for (const p of pids) {
      try { process.kill(p, signal); } catch { /* gone */ }
    }
    return pids;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 60000);
    await this.exited;
    clearTimeout(t);
  }
}

/** `gate-fleet ARGS` as a user runs it. */
export function fleetCli(args: string[], redisUrl: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [fleetBin, '--redis', redisUrl, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (status) => res({ status, stdout, stderr }));
  });
}

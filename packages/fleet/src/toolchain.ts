/**
 * The one place that runs the project's commands: `wagc` to compile a module or a snapshot, and
 * `gate-run` to run an image (by its stable flags: --snapshot, --env, SIGQUIT to suspend, exit
 * status 3 when suspended). Everything the fleet knows about how a program is started, stopped
 * and how its end is read is here, so a change of the loader's command line touches this file only.
 */
import { spawn, type ChildProcess } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import { dirname, join } from 'path';
import { readSnapshot } from '@wagc/snapshot-format';
import type { Arch } from './jobs';

/** The workspace's CLI scripts (packages/cli/bin), found through the package, not $PATH. */
export function cliBin(name: 'wagc' | 'gate-run' | 'gate-inspect'): string {
  return join(dirname(require.resolve('@wagc/cli/package.json')), 'bin', `${name}.js`);
}

/** gate-run's exit status for a suspended program (README, "Use"). */
export const EXIT_SUSPENDED = 3;

/**
 * A SIGQUIT is sent no sooner than this after gate-run starts: until the loader has installed its
 * handler (under qemu that takes a while), the signal's default action would kill it. Should one
 * still come too early, the run ends `lost` and the worker starts it again from the same state.
 */
export const SUSPEND_GRACE_MS = 1000;

export type CompileResult = { ok: true } | { ok: false; message: string };

/** `wagc INPUT -o OUTPUT --arch ARCH`; a failure carries wagc's message (its one line, or more). */
export function compile(input: string, output: string, arch: Arch): Promise<CompileResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliBin('wagc'), input, '-o', output, '--arch', arch], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => { if (err.length < 65536) err += d.toString(); });
    child.on('error', (e) => resolve({ ok: false, message: `cannot start wagc: ${e.message}` }));
    child.on('close', (status, signal) => {
      if (status === 0) resolve({ ok: true });
      // wagc names the file it was given, a temporary one of the worker's: the message is about the job's module or snapshot
      else resolve({ ok: false, message: err.trim().replace(/^wagc: error: /gm, '').split(`${input}: `).join('').replace(/\s*\n\s*/g, '; ') || `wagc ${signal ? `killed by ${signal}` : `exited with status ${status}`}` });
    });
  });
}

/** How a run ended. */
export type Outcome =
  | { kind: 'suspended' }
  | { kind: 'exited'; status: number }
  | { kind: 'trapped'; message: string }
  /** stopped with kill() */
  | { kind: 'killed' }
  /** died of the suspend signal before it could take it (see SUSPEND_GRACE_MS) */
  | { kind: 'lost' }
  /** gate-run or the loader failed (bad image, an internal error): its message */
  | { kind: 'error'; message: string };

export interface RunSpec {
  image: string;
  /** Where gate-run writes the instance's state when it stops, however it stops. */
  snapshot: string;
  env: string[];
  args: string[];
  cwd: string;
}

export interface RunSinks {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

/**
 * One `gate-run` process: the program's stdout and stderr go to `sinks` as they come (stderr
 * without the loader's report of a suspension, which `report` gets); stdin is empty.
 */
export class Run {
  readonly ended: Promise<Outcome>;
  /** The loader's report when the program suspended: where it stopped (`at FUNC (wasm offset …)`). */
  report = '';
  private readonly child: ChildProcess;
  private readonly started = Date.now();
  private quitTimer: NodeJS.Timeout | null = null;
  private quitSent = false;
  private killed = false;
  private readonly filter = new ReportFilter();
  private tail = '';

  constructor(spec: RunSpec, private readonly sinks: RunSinks) {
    const args = [cliBin('gate-run'), spec.image, '--snapshot', spec.snapshot];
    for (const kv of spec.env) args.push('--env', kv);
    args.push('--', ...spec.args);
    // its own process group: kill() stops gate-run, the loader and qemu together
    this.child = spawn(process.execPath, args, { cwd: spec.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, NO_COLOR: '1' } });
    this.child.stdout!.on('data', (d: Buffer) => sinks.stdout(d));
    this.child.stderr!.on('data', (d: Buffer) => {
      this.tail = (this.tail + d.toString('latin1')).slice(-8192);
      const out = this.filter.push(d);
      if (out.length) sinks.stderr(out);
    });
    this.ended = new Promise((resolve) => {
      this.child.on('error', (e) => resolve({ kind: 'error', message: `cannot start gate-run: ${e.message}` }));
      this.child.on('close', (status, signal) => resolve(this.outcome(spec, status, signal)));
    });
  }

  get pid(): number | undefined { return this.child.pid; }

  /** Asks the program to suspend (SIGQUIT), no sooner than SUSPEND_GRACE_MS after it started. */
  suspend(): void {
    if (this.quitTimer || this.killed) return;
    const wait = SUSPEND_GRACE_MS - (Date.now() - this.started);
    if (wait > 0) {
      this.quitTimer = setTimeout(() => { this.quitTimer = null; this.sendQuit(); }, wait);
    } else {
      this.sendQuit();
    }
  }

  private sendQuit(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.quitSent = true;
    try { this.child.kill('SIGQUIT'); } catch { /* gone */ }
  }

  /** Stops gate-run and everything it started, at once. */
  kill(): void {
    this.killed = true;
    if (this.quitTimer) clearTimeout(this.quitTimer);
    try { process.kill(-this.child.pid!, 'SIGKILL'); } catch { /* gone */ }
  }

  /** Stops reading its output (the program blocks on a full pipe), for back-pressure. */
  pause(): void { this.child.stdout!.pause(); this.child.stderr!.pause(); }
  resume(): void { this.child.stdout!.resume(); this.child.stderr!.resume(); }

  private outcome(spec: RunSpec, status: number | null, signal: NodeJS.Signals | null): Outcome {
    if (this.quitTimer) clearTimeout(this.quitTimer);
    let state: { state: string; exitStatus: number | null } | null = null;
    if (!this.killed && existsSync(spec.snapshot) && statSync(spec.snapshot).size > 0) {
      try {
        state = readSnapshot(readFileSync(spec.snapshot));
      } catch {
        state = null;
      }
    }
    const suspended = state?.state === 'suspended';
    const rest = this.filter.end(suspended);
    if (suspended) this.report = rest.report;
    if (rest.deliver.length) this.sinks.stderr(rest.deliver);
    if (this.killed) return { kind: 'killed' };
    if (state) {
      switch (state.state) {
        case 'suspended': return { kind: 'suspended' };
        case 'halted': return { kind: 'exited', status: 0 };
        case 'exited': return { kind: 'exited', status: state.exitStatus ?? 0 };
        case 'trapped': {
          const m = /^trap: (.*)$/m.exec(this.tail);
          return { kind: 'trapped', message: m ? m[1] : 'trap' };
        }
      }
    }
    // 128 + SIGQUIT: the loader (or qemu) took the default action of a signal that came too early
    if (this.quitSent && status === 131) return { kind: 'lost' };
    const line = this.tail.split('\n').map((l) => l.trim()).filter((l) => /^(gate-run|qemu)/.test(l)).pop();
    return { kind: 'error', message: line ? line.replace(/^gate-run: (error: )?/, '') : signal ? `gate-run killed by ${signal}` : `gate-run exited with status ${status} without a snapshot` };
  }
}

/**
 * Takes the loader's report of a suspension out of stderr. When a program suspends, the loader
 * prints `suspended` and one `  at FUNC (wasm offset 0x…)` line a frame, and gate-run one
 * `gate-run: suspended; snapshot written to …` line, after the program's last byte. Lines that
 * could be that report are held back until a line that cannot be arrives (then they were the
 * program's and go out, in order) or the run ends (then they are the report if it suspended).
 */
export class ReportFilter {
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Bytes of an unfinished line that could still begin or continue the report. */
  private partial = Buffer.alloc(0);
  /** False in the middle of a line already delivered. */
  private atLineStart = true;

  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    this.partial = Buffer.alloc(0);
    while (data.length) {
      const nl = data.indexOf(10);
      if (!this.atLineStart) {
        // the rest of a line that is the program's
        const end = nl < 0 ? data.length : nl + 1;
        out.push(data.subarray(0, end));
        data = data.subarray(end);
        if (nl >= 0) this.atLineStart = true;
        continue;
      }
      if (nl < 0) {
        if (couldBeReport(data.toString('latin1'), this.heldBytes > 0)) {
          this.partial = Buffer.from(data);
        } else {
          out.push(...this.release(), data);
          this.atLineStart = false;
        }
        break;
      }
      const line = data.subarray(0, nl + 1);
      data = data.subarray(nl + 1);
      const text = line.toString('latin1');
      if (text === 'suspended\n') {
        out.push(...this.release());
        this.hold(line);
      } else if (this.heldBytes > 0 && isReportLine(text)) {
        this.hold(line);
      } else {
        out.push(...this.release(), line);
      }
    }
    return Buffer.concat(out);
  }

  /** At the end of the run: what still goes out, and the report when it suspended. */
  end(suspended: boolean): { deliver: Buffer; report: string } {
    const held = Buffer.concat([...this.held, this.partial]);
    this.held = [];
    this.heldBytes = 0;
    this.partial = Buffer.alloc(0);
    if (suspended && held.length) {
      const report = held.toString('utf8').split('\n').filter((l) => /^ {2}at /.test(l)).map((l) => l.trim()).join('\n');
      return { deliver: Buffer.alloc(0), report };
    }
    return { deliver: held, report: '' };
  }

  private hold(line: Buffer): void {
    this.held.push(Buffer.from(line));
    this.heldBytes += line.length;
  }

  private release(): Buffer[] {
    const r = this.held;
    this.held = [];
    this.heldBytes = 0;
    return r;
  }
}

function isReportLine(text: string): boolean {
  return /^ {2}at /.test(text) || text.startsWith('gate-run: suspended; ');
}

function couldBeReport(partial: string, holding: boolean): boolean {
  if ('suspended\n'.startsWith(partial)) return true;
  if (!holding) return false;
  return partial.startsWith('  at ') || '  at '.startsWith(partial) || partial.startsWith('gate-run: suspended; ') || 'gate-run: suspended; '.startsWith(partial);
}

/**
 * What identifies the compiler: a hash of the built toolchain's files (the CLI and the packages
 * it compiles with). Images cached under one id are only used by workers with the same one.
 */
export function toolchainId(): string {
  const h = createHash('sha256');
  const cliDir = dirname(require.resolve('@wagc/cli/package.json'));
  const pkgs = ['@wagc/cli', '@wagc/frontend', '@wagc/linker', '@wagc/x86-64', '@wagc/arm64', '@wagc/abi', '@wagc/snapshot-format'];
  for (const p of pkgs) {
    const dir = dirname(require.resolve(`${p}/package.json`, { paths: [cliDir] }));
    for (const sub of ['dist', 'build']) hashTree(h, join(dir, sub), `${p}/${sub}`);
  }
  return h.digest('hex').slice(0, 16);
}

function hashTree(h: ReturnType<typeof createHash>, dir: string, label: string): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const n of names) {
    const p = join(dir, n);
    const st = statSync(p);
    if (st.isDirectory()) hashTree(h, p, `${label}/${n}`);
    else if (/\.(js|wasm|json)$/.test(n) && !n.endsWith('.tsbuildinfo')) h.update(`${label}/${n}\0`).update(readFileSync(p));
  }
}

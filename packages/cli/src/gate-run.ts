/**
 * `gate-run` from node (`node packages/cli/bin/gate-run.js`, what scripts and tests that spawn
 * node use). The gate-run command itself is the static C loader (packages/loader-c, `bin/gate-run`
 * links to it): it parses the command line, runs the image and writes the snapshot with nothing in
 * between (docs/image-format.md, "Loader"). This only starts it with the same arguments, passes
 * the signals a shell would send to gate-run on to it, and ends as it ended.
 */
import { spawn } from 'child_process';
import { existsSync } from 'fs';
import { constants as osConstants } from 'os';
import { join } from 'path';
import { printError } from './output';

/** Exit statuses of gate-run besides the program's own (documented in the README). */
export const EXIT_TRAP = 134;
export const EXIT_USAGE = 2;
export const EXIT_SUSPENDED = 3;
export const EXIT_TIMEOUT = 124;

/** Where a suspended program's snapshot goes without --snapshot: beside the image's name, in the working directory. */
export function defaultSnapshotPath(image: string): string {
  const base = image.slice(image.lastIndexOf('/') + 1);
  return `${base.replace(/\.img$/, '')}.snapshot.wasm`;
}

/** The gate-run command: the host's loader under the name that dispatches other arches' images. */
export function gateRunPath(): string {
  return join(__dirname, '..', '..', 'loader-c', 'build', 'gate-run');
}

/** Where SIGQUIT goes: `early` until the loader runs, then `handler` (bin/gate-run.js). */
interface QuitHook { early: boolean; handler: (() => void) | null }

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** Runs gate-run with `argv`; resolves to its exit status (a signal that ended it is raised again). */
export async function main(argv: string[]): Promise<number> {
  // from the start: a SIGQUIT meant to suspend the program must never kill this process
  let quit = (globalThis as { gateRunQuit?: QuitHook }).gateRunQuit ?? null;
  if (!quit) {
    const hook: QuitHook = { early: false, handler: null };
    process.on('SIGQUIT', () => { if (hook.handler) hook.handler(); else hook.early = true; });
    quit = hook;
  }
  const command = gateRunPath();
  if (!existsSync(command)) {
    printError('gate-run', `no loader built (${command}); run npm run build`);
    return EXIT_USAGE;
  }
  // the loader blocks SIGQUIT from its first instruction (loader-c/src/entry.c), so one that kills
  // it came between the fork and that instruction: it is started again with the request made, and
  // the program suspends at its first check
  let early = quit.early;
  for (let attempt = 0; ; attempt++) {
    const r = await runOnce(command, early ? ['--suspend-at-check', '1', ...argv] : argv, quit);
    if (r.error) {
      printError('gate-run', `cannot start ${command}: ${r.error.message}`);
      return EXIT_USAGE;
    }
    if (r.signal === 'SIGQUIT' && attempt < 20) {
      early = true;
      continue;
    }
    if (r.signal) {
      // ended by a signal: end the same way, as the loader run directly would have
      for (const s of FORWARDED) process.removeAllListeners(s);
      process.kill(process.pid, r.signal);
      return 128 + (osConstants.signals[r.signal] ?? 0);
    }
    return r.status ?? EXIT_USAGE;
  }
}

function runOnce(command: string, args: string[], quit: QuitHook): Promise<{ status: number | null; signal: NodeJS.Signals | null; error?: Error }> {
  return new Promise((resolve) => {
    // gate-run reads only GATE_SANDBOX_REPORT and NO_COLOR of its environment, and the variables
    // --env K names: it gets ours
    const child = spawn(command, args, { stdio: 'inherit' });
    quit.handler = () => void child.kill('SIGQUIT');
    const pass: Partial<Record<NodeJS.Signals, () => void>> = {};
    for (const s of FORWARDED) {
      pass[s] = () => void child.kill(s);
      process.on(s, pass[s]!);
    }
    const done = (): void => {
      quit.handler = () => undefined;
      for (const s of FORWARDED) process.removeListener(s, pass[s]!);
    };
    child.on('error', (error) => {
      done();
      resolve({ status: null, signal: null, error });
    });
    child.on('exit', (status, signal) => {
      done();
      resolve({ status, signal });
    });
  });
}

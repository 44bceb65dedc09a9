import { spawn } from 'child_process';
import { openSync, readSync, closeSync, existsSync, accessSync, constants as fsConstants, mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { constants as osConstants, tmpdir } from 'os';
import { basename, delimiter, join } from 'path';
import yargs from 'yargs';
import { imageArch, ImageError, HEADER_SIZE, type Arch } from '@wagc/linker';
import { loaderPath } from '@wagc/loader-c';
import { printError } from './output';
import { UsageError } from './wagc';
import { writeSnapshotFile } from './snapshot';

/** Exit statuses of gate-run besides the program's own (documented in the README). */
export const EXIT_TRAP = 134;
export const EXIT_USAGE = 2;
export const EXIT_SUSPENDED = 3;
export const EXIT_TIMEOUT = 124;

/** Where a suspended program's snapshot goes without --snapshot: beside the image's name, in the working directory. */
export function defaultSnapshotPath(image: string): string {
  return `${basename(image).replace(/\.img$/, '')}.snapshot.wasm`;
}

/** `gate-run IMG [-- ARGS...]`: runs the image's `_start`; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  // from the start: a SIGQUIT meant to suspend the program must never kill gate-run itself
  // (bin/gate-run.js listens before loading anything; otherwise listen here, for good)
  quit = (globalThis as { gateRunQuit?: QuitHook }).gateRunQuit ?? null;
  if (!quit) {
    const hook: QuitHook = { early: false, handler: null };
    process.on('SIGQUIT', () => { if (hook.handler) hook.handler(); else hook.early = true; });
    quit = hook;
  }
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const progArgs = dash >= 0 ? argv.slice(dash + 1) : [];
  const args = yargs(own)
    .scriptName('gate-run')
    .usage(`$0 IMAGE [--snapshot FILE] [--suspend-after MS] [--invoke EXPORT] [--env K=V]... [--dir HOST::GUEST]... [--instance-file PATH] [--timeout SECONDS] [-- ARGS...]\n\nRuns a wagc image. SIGQUIT (Ctrl-\\) suspends the program: it prints the stack and writes a snapshot (--snapshot FILE, default ./IMAGE-NAME.snapshot.wasm) that wagc compiles for any arch to resume it. Exit status: the program's proc_exit status, 0 when _start returns, ${EXIT_SUSPENDED} when suspended, ${EXIT_TRAP} on a trap (message and stack trace on stderr), ${EXIT_TIMEOUT} when --timeout ran out, ${EXIT_USAGE} for bad usage, a bad image or one that needs a CPU feature this CPU lacks. An image for another CPU (arm64 on x86-64) runs under qemu user-mode emulation (qemu-aarch64).`)
    .option('stack-size', { type: 'number', describe: 'the program\'s wasm call stack in bytes (default 8 MiB, 64 KiB to 1 GiB); a snapshot resumes with the size it was taken with' })
    .option('snapshot', { type: 'string', describe: 'write the instance\'s state to FILE when the program suspends, returns, exits or traps' })
    .option('suspend-after', { type: 'number', describe: 'suspend after MS milliseconds, as SIGQUIT does' })
    .option('sandbox-report', { type: 'boolean', describe: 'say on stderr which namespaces the loader entered and which it could not, and whether the seccomp filter is in (also GATE_SANDBOX_REPORT=1)' })
    .option('instance-file', { type: 'string', describe: 'keep the running instance\'s state (linear memory at offset 0, then vmctx and stack) in PATH instead of an anonymous memfd; its memory pages are cloned from the image by reflink where the filesystem can (XFS, Btrfs), else copied sparse' })
    .option('timeout', { type: 'string', describe: `stop the program after SECONDS of wall-clock time (decimals allowed): one line on stderr, exit status ${EXIT_TIMEOUT}` })
    .option('invoke', { type: 'string', describe: 'call EXPORT (of a halted snapshot\'s image) with the ARGS after --, print its results, one a line (i32/i64 decimal, floats as numbers; a v128 argument or result as 0x and 32 hex digits, byte 15 first)' })
    .option('env', { type: 'string', array: true, describe: 'K=V: a variable of the program\'s environment (repeatable); the program sees these and nothing of gate-run\'s own environment' })
    .option('dir', { type: 'string', array: true, describe: 'HOST::GUEST: preopen host directory HOST as GUEST for the program\'s WASI path functions (repeatable; fds 3.. in this order). Paths cannot leave it (.., absolute paths and symlinks out are refused), and Landlock confines the loader to these directories (not under qemu, which has no Landlock: there the loader\'s path walk alone does). A suspension waits until the program has closed its files' })
    .demandCommand(1, 1, 'gate-run: expected one image', 'gate-run: expected one image')
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => { throw new UsageError(err ? err.message : msg); })
    .parseSync();
  if (args.help) return 0;
  const image = String(args._[0]);
  let arch;
  try {
    arch = imageArch(readHeader(image));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    printError('gate-run', `${image}: ${err.code === 'ENOENT' ? 'no such file' : e instanceof ImageError ? err.message : String(err.message)}`);
    return EXIT_USAGE;
  }
  const loader = loaderPath(arch);
  if (!existsSync(loader)) {
    const cross = arch === 'arm64' ? ' (it is cross-compiled: install gcc-aarch64-linux-gnu and libc6-dev-arm64-cross, or run bash scripts/setup.sh)' : '';
    printError('gate-run', `${image}: no ${arch} loader built (${loader}); run npm run build${cross}`);
    return EXIT_USAGE;
  }
  const loaderArgs = [image];
  if (args['stack-size'] !== undefined) loaderArgs.push('--stack-size', String(args['stack-size']));
  const after = args['suspend-after'];
  if (after !== undefined) {
    if (!Number.isInteger(after) || after <= 0) throw new UsageError('--suspend-after: a positive number of milliseconds');
    loaderArgs.push('--suspend-after', String(after));
  }
  if (args.invoke !== undefined) loaderArgs.push('--invoke', args.invoke);
  if (args['instance-file'] !== undefined) loaderArgs.push('--instance-file', args['instance-file']);
  if (args.timeout !== undefined) {
    const t = Number(args.timeout);
    if (!/^[0-9]*\.?[0-9]+$/.test(args.timeout) || !(t > 0)) throw new UsageError('--timeout: a positive number of seconds');
    loaderArgs.push('--timeout', args.timeout);
  }
  for (const kv of args.env ?? []) {
    if (!String(kv).includes('=')) throw new UsageError(`--env: expected K=V, got "${kv}"`);
    loaderArgs.push('--env', String(kv));
  }
  for (const dir of args.dir ?? []) {
    const spec = String(dir);
    const sep = spec.indexOf('::');
    if (sep <= 0 || sep + 2 >= spec.length) throw new UsageError(`--dir: expected HOST::GUEST, got "${spec}"`);
    loaderArgs.push('--dir', spec);
  }
  if (args['sandbox-report']) loaderArgs.push('--sandbox-report');
  const stateDir = mkdtempSync(join(tmpdir(), 'gate-run-'));
  const statePath = join(stateDir, 'state');
  loaderArgs.push('--state-out', statePath);
  loaderArgs.push('--', ...progArgs);
  // an image for another CPU runs its loader (a static binary of that arch) under qemu user-mode
  // emulation, started explicitly: binfmt_misc may not be set up
  let command = loader;
  const emulator = EMULATORS[arch];
  if (process.arch !== emulator.nodeArch) {
    const qemu = findOnPath(emulator.qemu);
    if (!qemu) {
      printError('gate-run', `${image}: ${arch} image on this ${process.arch === 'x64' ? 'x86-64' : process.arch} host needs ${emulator.qemu} on PATH (Debian package ${emulator.debian})`);
      return EXIT_USAGE;
    }
    command = qemu;
    // qemu-user cannot apply seccomp (docs/sandbox.md): the loader runs unconfined only when told
    loaderArgs.unshift(loader, '--emulated');
  }
  try {
    const r = await runLoader(command, loaderArgs);
    if (r.error) {
      printError('gate-run', `cannot start ${command === loader ? 'loader' : `${command} ${loader}`}: ${r.error.message}`);
      return EXIT_USAGE;
    }
    if (r.signal) {
      printError('gate-run', `loader killed by ${r.signal}`);
      return 128 + (osConstants.signals[r.signal] ?? 0);
    }
    const status = r.status ?? EXIT_USAGE;
    // status 3 is also what a program may pass to proc_exit: the state file says which it was
    const suspended = status === EXIT_SUSPENDED && stateIs(statePath, STATE_SUSPENDED);
    // a timed-out loader (EXIT_TIMEOUT) or one that stopped before running anything leaves the state file empty
    if ((suspended || args.snapshot !== undefined) && existsSync(statePath) && statSync(statePath).size > 0) {
      const out = args.snapshot ?? defaultSnapshotPath(image);
      try {
        writeSnapshotFile(out, readFileSync(image), readFileSync(statePath));
        if (suspended) process.stderr.write(`gate-run: suspended; snapshot written to ${out} (resume: wagc ${out} -o OUT.img [--arch A] && gate-run OUT.img)\n`);
      } catch (e) {
        printError('gate-run', `cannot write the snapshot ${out}: ${(e as Error).message}`);
        return EXIT_USAGE;
      }
    }
    return status;
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** The state file's state word (docs/image-format.md, "State dump"): 1 suspended. */
const STATE_SUSPENDED = 1;
function stateIs(path: string, state: number): boolean {
  try {
    const b = readFileSync(path);
    return b.length >= 16 && b.readUInt32LE(12) === state;
  } catch {
    return false;
  }
}

/** The loader's arguments with `--suspend-after 1` before the program's `--`. */
function suspendNow(args: string[]): string[] {
  const dash = args.indexOf('--');
  return [...args.slice(0, dash), '--suspend-after', '1', ...args.slice(dash)];
}

/** Where SIGQUIT goes: `early` until the loader runs, then `handler` (bin/gate-run.js). */
interface QuitHook { early: boolean; handler: (() => void) | null }
let quit: QuitHook | null = null;

/**
 * Runs the loader with inherited stdio. SIGQUIT reaching gate-run (kill -QUIT, or Ctrl-\\, which
 * the terminal sends to both) is passed on, and gate-run itself survives it to write the snapshot.
 */
function runLoader(command: string, args: string[]): Promise<{ status: number | null; signal: NodeJS.Signals | null; error?: Error }> {
  return new Promise((resolve) => {
    // a SIGQUIT that came before the loader ran: it suspends at the first check
    const child = spawn(command, quit?.early ? suspendNow(args) : args, { stdio: 'inherit' });
    const started = Date.now();
    // the loader may not listen yet (its handler is installed after mapping the image): say it
    // again a little later, which is harmless once it is suspending
    const forward = (): void => {
      child.kill('SIGQUIT');
      if (Date.now() - started < 1000) setTimeout(() => child.kill('SIGQUIT'), 200).unref();
    };
    if (quit) quit.handler = forward;
    const done = (): void => {
      // later ones are ignored: the snapshot is being written
      if (quit) quit.handler = () => undefined;
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

/** How to run each arch's loader: natively on a host of that arch, else under this qemu-user binary. */
const EMULATORS: Record<Arch, { nodeArch: string; qemu: string; debian: string }> = {
  'x86-64': { nodeArch: 'x64', qemu: 'qemu-x86_64', debian: 'qemu-user' },
  arm64: { nodeArch: 'arm64', qemu: 'qemu-aarch64', debian: 'qemu-user' },
};

/** The first executable `name` in $PATH, or null. */
function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

function readHeader(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const b = new Uint8Array(HEADER_SIZE);
    const n = readSync(fd, b, 0, HEADER_SIZE, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

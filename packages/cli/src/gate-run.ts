import { spawn } from 'child_process';
import { openSync, readSync, closeSync, existsSync, accessSync, constants as fsConstants, mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { constants as osConstants, tmpdir } from 'os';
import { basename, delimiter, join } from 'path';
import yargs from 'yargs';
import { imageArch, ImageError, HEADER_SIZE, type Arch } from '@wagc/linker';
import { loaderPath } from '@wagc/loader-c';
import { printable, printError } from './output';
import { sameFile, UsageError } from './wagc';
import { writeSnapshotFile } from './snapshot';

/** The longest --timeout, in seconds: a year, as the loader's (timeout.c). */
const MAX_TIMEOUT = 365 * 24 * 3600;

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
    .usage(`$0 IMAGE [--snapshot FILE] [--suspend-after MS] [--invoke EXPORT] [--env K=V]... [--dir HOST::GUEST]... [--instance-file PATH] [--timeout SECONDS] [--max-memory BYTES] [-- ARGS...]\n\nRuns a wagc image. SIGQUIT (Ctrl-\\) suspends the program: it prints the stack and writes a snapshot (--snapshot FILE, default ./IMAGE-NAME.snapshot.wasm) that wagc compiles for any arch to resume it. Exit status: the program's proc_exit status, 0 when _start returns, ${EXIT_SUSPENDED} when suspended, ${EXIT_TRAP} on a trap (message and stack trace on stderr), ${EXIT_TIMEOUT} when --timeout ran out, ${EXIT_USAGE} for bad usage, a bad image or one that needs a CPU feature this CPU lacks. An image for another CPU (arm64 on x86-64) runs under qemu user-mode emulation (qemu-aarch64).`)
    .option('stack-size', { type: 'string', requiresArg: true, describe: 'the program\'s wasm call stack in bytes (default 8 MiB, 64 KiB to 1 GiB); a snapshot resumes with the size it was taken with' })
    .option('max-memory', { type: 'string', requiresArg: true, describe: 'the most linear memory the program may have, in bytes (rounded down to 64 KiB pages): memory.grow returns -1 past it, and a program whose memory starts larger is refused (default: 4 GiB, wasm\'s own limit)' })
    .option('snapshot', { requiresArg: true, type: 'string', describe: 'write the instance\'s state to FILE when the program suspends, returns, exits or traps' })
    .option('suspend-after', { requiresArg: true, type: 'number', describe: 'suspend after MS milliseconds, as SIGQUIT does' })
    .option('sandbox-report', { type: 'boolean', describe: 'say on stderr which namespaces the loader entered and which it could not, and whether the seccomp filter is in (also GATE_SANDBOX_REPORT=1)' })
    .option('instance-file', { requiresArg: true, type: 'string', describe: 'keep the running instance\'s state (linear memory at offset 0, then vmctx and stack) in PATH instead of an anonymous memfd; its memory pages are cloned from the image by reflink where the filesystem can (XFS, Btrfs), else copied sparse' })
    .option('timeout', { requiresArg: true, type: 'string', describe: `stop the program after SECONDS of wall-clock time (decimals allowed): one line on stderr, exit status ${EXIT_TIMEOUT}` })
    .option('invoke', { requiresArg: true, type: 'string', describe: 'call EXPORT (of a halted snapshot\'s image) with the ARGS after --, print its results, one a line (i32/i64 decimal, floats as numbers; a v128 argument or result as 0x and 32 hex digits, byte 15 first)' })
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
  for (const name of ['stack-size', 'max-memory', 'snapshot', 'suspend-after', 'instance-file', 'timeout', 'invoke'] as const) {
    if (Array.isArray(args[name])) throw new UsageError(`--${name} given more than once`);
  }
  const image = String(args._[0]);
  // the snapshot and the instance file are written over: never the image itself
  for (const name of ['snapshot', 'instance-file'] as const) {
    const p = args[name];
    if (p !== undefined && sameFile(image, p)) throw new UsageError(`--${name} ${p} is the image itself, which gate-run never overwrites`);
  }
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
  if (args['stack-size'] !== undefined) {
    const v = args['stack-size'];
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 65536 || n > 2 ** 30) throw new UsageError(`--stack-size: a number of bytes from 65536 (64 KiB) to 1073741824 (1 GiB), not "${v}"`);
    loaderArgs.push('--stack-size', v);
  }
  if (args['max-memory'] !== undefined) {
    const v = args['max-memory'];
    if (!/^\d+$/.test(v)) throw new UsageError(`--max-memory: a number of bytes, not "${v}"`);
    loaderArgs.push('--max-memory', Number(v) > 2 ** 32 ? String(2 ** 32) : v);
  }
  const after = args['suspend-after'];
  if (after !== undefined) {
    if (!Number.isInteger(after) || after <= 0) throw new UsageError('--suspend-after: a positive number of milliseconds');
    loaderArgs.push('--suspend-after', String(after));
  }
  if (args.invoke !== undefined) loaderArgs.push('--invoke', args.invoke);
  if (args['instance-file'] !== undefined) loaderArgs.push('--instance-file', args['instance-file']);
  if (args.timeout !== undefined) {
    const t = Number(args.timeout);
    if (!/^\s*[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?\s*$/i.test(args.timeout) || !Number.isFinite(t) || t <= 0) throw new UsageError(`--timeout: a positive number of seconds, not "${args.timeout}"`);
    if (t > MAX_TIMEOUT) throw new UsageError(`--timeout ${args.timeout}: at most ${MAX_TIMEOUT} seconds (a year)`);
    // the loader reads plain decimals
    loaderArgs.push('--timeout', t >= 1e-6 ? String(Number(t.toFixed(6))) : '0.000001');
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
        if (suspended) process.stderr.write(`gate-run: suspended; snapshot written to ${printable(out)} (resume: wagc ${printable(out)} -o OUT.img [--arch A] && gate-run OUT.img)\n`);
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

/**
 * The loader's arguments with a suspend request already made: `--suspend-at-check 1` suspends the
 * program at the first check of its entry call (start functions run, as a request during them
 * waits for their return anyway).
 */
function suspendNow(args: string[]): string[] {
  const dash = args.lastIndexOf('--');
  return [...args.slice(0, dash), '--suspend-at-check', '1', ...args.slice(dash)];
}

/** The loader's environment: nothing of gate-run's own but the sandbox report switch. */
function loaderEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  if (process.env.GATE_SANDBOX_REPORT) env.GATE_SANDBOX_REPORT = process.env.GATE_SANDBOX_REPORT;
  return env;
}

/** Where SIGQUIT goes: `early` until the loader runs, then `handler` (bin/gate-run.js). */
interface QuitHook { early: boolean; handler: (() => void) | null }
let quit: QuitHook | null = null;

/**
 * Runs the loader with inherited stdio. SIGQUIT reaching gate-run (kill -QUIT, or Ctrl-\\, which
 * the terminal sends to both) is passed on, and gate-run itself survives it to write the snapshot.
 * The loader blocks SIGQUIT from its first instruction (loader-c/src/entry.c), so one that kills
 * it came before it ran anything (between the fork and its first instruction): it is started
 * again with the request made, and the program suspends at its first check.
 */
async function runLoader(command: string, args: string[]): Promise<{ status: number | null; signal: NodeJS.Signals | null; error?: Error }> {
  let early = quit?.early ?? false;
  for (let attempt = 0; ; attempt++) {
    const r = await runLoaderOnce(command, early ? suspendNow(args) : args);
    if (r.signal !== 'SIGQUIT' || r.ran || attempt >= 20) return r;
    early = true;
  }
}

function runLoaderOnce(command: string, args: string[]): Promise<{ status: number | null; signal: NodeJS.Signals | null; error?: Error; ran: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', env: loaderEnv() });
    if (quit) quit.handler = () => void child.kill('SIGQUIT');
    const done = (): void => {
      // later ones are ignored: the snapshot is being written
      if (quit) quit.handler = () => undefined;
    };
    child.on('error', (error) => {
      done();
      resolve({ status: null, signal: null, error, ran: false });
    });
    child.on('exit', (status, signal) => {
      done();
      // a loader that ran its first instruction is never killed by SIGQUIT (entry.c)
      resolve({ status, signal, ran: signal !== 'SIGQUIT' });
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

import { spawnSync } from 'child_process';
import { openSync, readSync, closeSync, existsSync, accessSync, constants as fsConstants } from 'fs';
import { delimiter, join } from 'path';
import yargs from 'yargs';
import { imageArch, ImageError, HEADER_SIZE, type Arch } from '@wagc/linker';
import { loaderPath } from '@wagc/loader-c';
import { printError } from './output';
import { UsageError } from './wagc';

/** Exit statuses of gate-run besides the program's own (documented in the README). */
export const EXIT_TRAP = 134;
export const EXIT_USAGE = 2;

/** `gate-run IMG [-- ARGS...]`: runs the image's `_start`; returns the exit status. */
export function main(argv: string[]): number {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const progArgs = dash >= 0 ? argv.slice(dash + 1) : [];
  const args = yargs(own)
    .scriptName('gate-run')
    .usage(`$0 IMAGE [-- ARGS...]\n\nRuns a wagc image. Exit status: the program's proc_exit status, 0 when _start returns, ${EXIT_TRAP} on a trap (message and stack trace on stderr), ${EXIT_USAGE} for bad usage, a bad image or one that needs a CPU feature this CPU lacks. An image for another CPU (arm64 on x86-64) runs under qemu user-mode emulation (qemu-aarch64).`)
    .option('stack-size', { type: 'number', describe: 'wasm call stack size in bytes (default 8 MiB)' })
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
    loaderArgs.unshift(loader);
  }
  const r = spawnSync(command, loaderArgs, { stdio: 'inherit' });
  if (r.error) {
    printError('gate-run', `cannot start ${command === loader ? 'loader' : `${command} ${loader}`}: ${r.error.message}`);
    return EXIT_USAGE;
  }
  if (r.signal) {
    printError('gate-run', `loader killed by ${r.signal}`);
    return 128 + (require('os').constants.signals[r.signal] ?? 0);
  }
  return r.status ?? EXIT_USAGE;
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

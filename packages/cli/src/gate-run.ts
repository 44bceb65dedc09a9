import { spawnSync } from 'child_process';
import { openSync, readSync, closeSync, existsSync } from 'fs';
import yargs from 'yargs';
import { imageArch, ImageError, HEADER_SIZE } from '@wagc/linker';
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
    .usage(`$0 IMAGE [-- ARGS...]\n\nRuns a wagc image. Exit status: the program's proc_exit status, 0 when _start returns, ${EXIT_TRAP} on a trap (message and stack trace on stderr), ${EXIT_USAGE} for bad usage, a bad image or one that needs a CPU feature this CPU lacks.`)
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
    printError('gate-run', `${image}: no ${arch} loader built (${loader}); run npm run build`);
    return EXIT_USAGE;
  }
  const loaderArgs = [image];
  if (args['stack-size'] !== undefined) loaderArgs.push('--stack-size', String(args['stack-size']));
  loaderArgs.push('--', ...progArgs);
  const r = spawnSync(loader, loaderArgs, { stdio: 'inherit' });
  if (r.error) {
    printError('gate-run', `cannot start loader: ${r.error.message}`);
    return EXIT_USAGE;
  }
  if (r.signal) {
    printError('gate-run', `loader killed by ${r.signal}`);
    return 128 + (require('os').constants.signals[r.signal] ?? 0);
  }
  return r.status ?? EXIT_USAGE;
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

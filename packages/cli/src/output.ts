import { closeSync, constants, lstatSync, openSync, readFileSync, readlinkSync, realpathSync, statSync, writeSync, type Stats } from 'fs';
import { dirname, join, resolve } from 'path';
import chalk from 'chalk';
import { printable } from '@wagc/frontend';

export { printable };

/** chalk decides colour from the stream: none when stderr is not a TTY, or with NO_COLOR set. */
const color = new chalk.Instance({ level: process.stderr.isTTY && !process.env.NO_COLOR ? chalk.level || 1 : 0 });

/** One line on stderr: `<tool>: error: <message>`, control characters escaped. */
export function printError(tool: string, message: string): void {
  process.stderr.write(`${color.bold(tool)}: ${color.red('error')}: ${printable(message.replace(/\s*\n\s*/g, ' '))}\n`);
}

/** Whether `--version` is among the options (before any `--`): it needs no input file. */
export function asksVersion(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--version');
}

/** The version of the CLI package (its package.json), for `--version`. */
export function toolVersion(): string {
  return (JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Writes an output file (`wagc -o`): "-" is stdout; a regular file, or a new one, is replaced
 * atomically by `atomic` (a temporary file renamed over it); a symlink is followed, so that its
 * target is replaced and the link stays; a character device or a FIFO is written through, since
 * renaming over it would replace the device (`-o /dev/null` as root) or the pipe. Anything else (a
 * directory, a socket, a block device) is refused, and nothing is replaced.
 */
export function writeOutput<T extends Uint8Array | OutputParts>(path: string, image: T, atomic: (path: string, image: T) => void): void {
  if (path === '-') return writeAll(1, whole(image));
  let target = path;
  let st: Stats | null = null;
  try {
    st = statSync(path);
    // a symlink (or a chain of them) names the file to replace
    if (lstatSync(path).isSymbolicLink()) target = realpathSync(path);
  } catch (e) {
    // a dangling symlink: write to where it points, so it stops dangling, as `>` would
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    try {
      if (lstatSync(path).isSymbolicLink()) target = resolve(dirname(path), readlinkSync(path));
    } catch { /* no such file: a new one */ }
  }
  if (!st || st.isFile()) return atomic(target, image);
  if (st.isCharacterDevice() || st.isFIFO()) {
    const fd = openSync(target, constants.O_WRONLY | constants.O_NOCTTY);
    try {
      writeAll(fd, whole(image));
    } finally {
      closeSync(fd);
    }
    return;
  }
  throw new Error(st.isDirectory() ? 'is a directory' : 'not a regular file, device or FIFO: wagc does not replace it');
}

/** An output given as parts at offsets (the linker's ImageParts: holes between them are zeros). */
export interface OutputParts {
  size: number;
  parts: { at: number; bytes: Uint8Array }[];
}

/** The output's bytes in one array, holes as zeros: for a stream, which cannot skip. */
function whole(image: Uint8Array | OutputParts): Uint8Array {
  if (image instanceof Uint8Array) return image;
  const all = new Uint8Array(image.size);
  for (const { at, bytes } of image.parts) all.set(bytes, at);
  return all;
}

/** Every byte to `fd`, waiting out a non-blocking pipe's EAGAIN. */
function writeAll(fd: number, bytes: Uint8Array): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 20));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}

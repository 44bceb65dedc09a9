import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'fs';
import { resolve } from 'path';
import yargs from 'yargs';
import { CompileError, CPU_FEATURE, LIMITS, OPTIONAL_CPU_FEATURES, type CpuFeatureName } from '@wagc/frontend';
import { compileProgram, hostArch, imageParts, linkProgramParallel, LinkError, COLD_PARALLEL_MIN_CODE, startWorkers, writeImageFile, type Arch, type ProgramOptions } from '@wagc/linker';
import { cpus } from 'os';
import { wasiModule } from '@wagc/abi';
import { printError } from './output';
import { isSnapshot } from './snapshot-detect';

export const ARCHES: readonly Arch[] = ['x86-64', 'arm64'];

/**
 * `wagc IN.wasm -o OUT.img [--arch A] [--cpu-features F] [--jobs N] [--unresolved trap]`: the
 * exit status (0, or 1 on bad input), once the image is written.
 */
export function main(argv: string[]): Promise<number> | number {
  const args = yargs(argv)
    .scriptName('wagc')
    .usage('$0 IN.wasm -o OUT.img [--arch ARCH] [--cpu-features FEATURES] [--jobs N] [--unresolved trap]\n\nCompiles a WebAssembly module (linked with the WASI runtime library) to a native image for gate-run.')
    .positional('input', { describe: 'WebAssembly binary module' })
    .option('o', { alias: 'output', type: 'string', demandOption: true, requiresArg: true, describe: 'image to write (written whole or not at all; never the input)' })
    .option('arch', { type: 'string', choices: ARCHES as string[], default: defaultArch(), requiresArg: true, describe: 'target architecture (default: the host\'s)' })
    .option('max-image-size', { type: 'string', requiresArg: true, describe: `refuse to write an image of more than BYTES, holes included (default and most: ${LIMITS.imageSize}, 2 GiB)` })
    .option('cpu-features', {
      type: 'string',
      requiresArg: true,
      default: 'baseline',
      describe: `x86-64 features the code may use beyond the baseline: "baseline" (none), "native" (those /proc/cpuinfo lists), or a comma-separated list of ${OPTIONAL_CPU_FEATURES.join(', ')}. SIMD and float rounding use SSE4.1 in any case (V8's baseline too). The image records the features its code uses; gate-run refuses it on a CPU without them`,
    })
    .option('jobs', {
      type: 'number',
      describe: 'threads compiling the functions (the image is the same whatever their number); default: one per CPU for a module of at least 64 MiB of function bodies, else 1',
    })
    .option('unresolved', {
      type: 'string',
      choices: ['error', 'trap'],
      default: 'error',
      describe: 'an import no linked module provides: an error, or (trap) a function that traps with "unreachable" when called and a zeroed memory, table or global, to compile a module whose host is absent',
    })
    .demandCommand(1, 1, 'wagc: expected one input file', 'wagc: expected one input file')
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => { throw new UsageError(err ? err.message : msg); })
    .parseSync();
  if (args.help) return 0;
  for (const name of ['o', 'arch', 'cpu-features', 'max-image-size', 'jobs', 'unresolved'] as const) {
    if (Array.isArray(args[name])) throw new UsageError(`${name.length > 1 ? '--' : '-'}${name} given more than once`);
  }
  // the CPU_FEATURE bits are x86-64's; "native" on another target means none of them
  if (args.arch !== 'x86-64' && !['baseline', 'native', ''].includes(args['cpu-features'])) {
    throw new UsageError(`--cpu-features ${args['cpu-features']}: those are x86-64 features; ${args.arch} has none to choose (baseline or native)`);
  }
  const cpuFeatures = args.arch === 'x86-64' || args['cpu-features'] !== 'native' ? parseCpuFeatures(args['cpu-features']) : 0;
  let maxImageSize: number | undefined;
  if (args['max-image-size'] !== undefined) {
    maxImageSize = Number(args['max-image-size']);
    if (!/^\d+$/.test(args['max-image-size']) || maxImageSize <= 0 || maxImageSize > LIMITS.imageSize) {
      throw new UsageError(`--max-image-size: a number of bytes from 1 to ${LIMITS.imageSize}, not "${args['max-image-size']}"`);
    }
  }
  const input = String(args._[0]);
  const jobs = args.jobs;
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw new UsageError(`--jobs must be a whole number of threads, at least 1 (not ${jobs})`);
  // the image goes to a temporary file renamed over -o: that must not be the input
  if (sameFile(input, args.o)) throw new UsageError(`-o ${args.o} is the input itself: wagc never replaces its input`);
  let bytes: Uint8Array;
  try {
    bytes = readShared(input);
  } catch (e) {
    printError('wagc', `${input}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    return 1;
  }
  const fail = (e: unknown): number => {
    if (e instanceof Error && e.name === 'SnapshotError') {
      printError('wagc', `${input}: bad snapshot: ${e.message}`);
      return 1;
    }
    if (e instanceof CompileError || e instanceof LinkError) {
      printError('wagc', `${input}: ${e.name}: ${e.message}`);
      return 1;
    }
    throw e;
  };
  const write = (image: Parameters<typeof writeImageFile>[1]): number => {
    try {
      writeImageFile(args.o, image);
    } catch (e) {
      printError('wagc', `${args.o}: cannot write: ${(e as Error).message}`);
      return 1;
    }
    return 0;
  };
  // workers take a while to start: from now, while the module is decoded and linked (a module
  // smaller than COLD_PARALLEL_MIN_CODE has fewer bytes of code than that, and gets none by default)
  const threads = jobs ?? (bytes.length >= COLD_PARALLEL_MIN_CODE ? cpus().length : 1);
  if (threads > 1) startWorkers(threads - 1);
  if (isSnapshot(bytes)) {
    // a snapshot: its module, with the stack rebuilt for this arch (ARCHITECTURE §6); the snapshot
    // reader is loaded only for one
    return import('./snapshot').then(({ resumeProgram }) => {
      const { modules, resume } = resumeProgram(bytes, args.arch as Arch);
      return write(compileProgram({ modules, arch: args.arch as Arch, cpuFeatures, resume, maxImageSize }));
    }).catch(fail);
  }
  let program: ProgramOptions;
  try {
    program = {
      modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }],
      arch: args.arch as Arch,
      cpuFeatures,
      unresolved: args.unresolved === 'trap' ? 'trap' : 'strict',
      maxImageSize,
    };
  } catch (e) {
    return fail(e);
  }
  // the image is written from its parts (text, module bytes, pages), never assembled in memory
  return linkProgramParallel(program, jobs, undefined, COLD_PARALLEL_MIN_CODE).then((img) => write(imageParts(img, { maxSize: maxImageSize }))).catch(fail);
}

/**
 * A file's bytes in a SharedArrayBuffer: the compile's worker threads read the module there,
 * without a copy each.
 */
function readShared(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return readFileSync(fd);
    const size = st.size;
    const bytes = new Uint8Array(new SharedArrayBuffer(size));
    for (let off = 0; off < size;) {
      const n = readSync(fd, bytes, off, size - off, off);
      if (n === 0) return bytes.subarray(0, off);
      off += n;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** Whether two paths name the same file (the second need not exist). */
export function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a), y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return resolve(a) === resolve(b);
  }
}

function defaultArch(): string {
  const a = hostArch();
  return ARCHES.includes(a) ? a : 'x86-64';
}

export class UsageError extends Error {}

/**
 * `--cpu-features`: "baseline", "native" or a comma-separated list of CPU_FEATURE names, as a
 * bit set. "native" reads the host's /proc/cpuinfo (LZCNT is the flag `abm`); a kernel that
 * does not list a feature only costs speed, since the image then does not use it.
 */
export function parseCpuFeatures(spec: string, cpuinfo: () => string = () => readFileSync('/proc/cpuinfo', 'utf8')): number {
  if (spec === 'baseline' || spec === '') return 0;
  if (spec === 'native') {
    const line = /^flags\s*:(.*)$/m.exec(cpuinfo());
    const flags = new Set(line ? line[1].trim().split(/\s+/) : []);
    let bits = 0;
    if (flags.has('popcnt')) bits |= CPU_FEATURE.popcnt;
    if (flags.has('abm') || flags.has('lzcnt')) bits |= CPU_FEATURE.lzcnt;
    if (flags.has('bmi1')) bits |= CPU_FEATURE.bmi1;
    if (flags.has('avx')) bits |= CPU_FEATURE.avx;
    return bits;
  }
  let bits = 0;
  for (const name of spec.split(',').map((s) => s.trim())) {
    if (!OPTIONAL_CPU_FEATURES.includes(name as CpuFeatureName)) {
      throw new UsageError(`unknown CPU feature "${name}" (known: baseline, native, ${OPTIONAL_CPU_FEATURES.join(', ')})`);
    }
    bits |= CPU_FEATURE[name as CpuFeatureName];
  }
  return bits;
}

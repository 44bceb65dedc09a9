import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'fs';
import { resolve } from 'path';
import yargs from 'yargs';
import { CompileError, CPU_FEATURE, LIMITS, OPTIONAL_CPU_FEATURES, type CpuFeatureName } from '@wagc/frontend';
import { compileProgram, hostArch, imageParts, linkProgramParallel, LinkError, COLD_PARALLEL_MIN_CODE, startWorkers, writeImageFile, type Arch, type ProgramOptions } from '@wagc/linker';
import { cpus } from 'os';
import { wasiModule } from '@wagc/abi';
import { asksVersion, printError, toolVersion, writeOutput } from './output';
import { isSnapshot } from './snapshot-detect';

export const ARCHES: readonly Arch[] = ['x86-64', 'arm64'];

/**
 * `wagc IN.wasm -o OUT.img [--arch A] [--cpu-features F] [--trap-unknown-imports] [--preload
 * NAME=LIB.wasm] [--jobs N]`: the exit status (0, or 1 on bad input), once the image is written.
 */
export function main(argv: string[]): Promise<number> | number {
  if (asksVersion(argv)) {
    process.stdout.write(`wagc ${toolVersion()}\n`);
    return 0;
  }
  const args = yargs(argv)
    .scriptName('wagc')
    .usage('$0 IN.wasm -o OUT.img [--arch ARCH] [--cpu-features FEATURES] [--trap-unknown-imports] [--preload NAME=LIB.wasm] [--jobs N]\n\nCompiles a WebAssembly module (linked with the WASI runtime library) to a native image for gate-run.')
    .positional('input', { describe: 'WebAssembly binary module' })
    .option('o', { alias: 'output', type: 'string', requiresArg: true, describe: 'image to write: a regular file is written whole or not at all (never the input); a device or FIFO is written through, a symlink\'s target replaced; "-" is stdout' })
    .option('trap-unknown-imports', { type: 'boolean', default: false, describe: 'an imported function nothing links becomes a stub that traps "unknown import MODULE.NAME called" when called (imported memories, tables and globals: the importer\'s type, zeroed)' })
    .option('preload', { type: 'string', array: true, requiresArg: true, describe: 'NAME=LIB.wasm: link module LIB.wasm under the name NAME, so that the module\'s imports from NAME resolve to its exports (repeatable; linked in the order given)' })
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
      describe: 'an import no linked module provides: an error, or (trap) the same as --trap-unknown-imports',
    })
    .demandCommand(1, 1, 'wagc: expected one input file', 'wagc: expected one input file')
    .strict()
    .help()
    // answered before parsing (asksVersion): declared here for --help
    .version('version', 'print the version and exit', toolVersion())
    .exitProcess(false)
    .fail((msg, err) => { throw new UsageError(err ? err.message : msg); })
    .parseSync();
  if (args.help) return 0;
  if (args.o === undefined) throw new UsageError('missing -o OUT.img (the image to write; "-" for stdout)');
  const out = args.o;
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
  if (out !== '-' && sameFile(input, out)) throw new UsageError(`-o ${out} is the input itself: wagc never replaces its input`);
  const preloads: { name: string; path: string }[] = [];
  for (const spec of args.preload ?? []) {
    const eq = String(spec).indexOf('=');
    if (eq <= 0 || eq === String(spec).length - 1) throw new UsageError(`--preload ${spec}: expected NAME=LIB.wasm`);
    preloads.push({ name: String(spec).slice(0, eq), path: String(spec).slice(eq + 1) });
  }
  let bytes: Uint8Array;
  const libs: { name: string; bytes: Uint8Array }[] = [];
  try {
    bytes = readInput(input, true);
    for (const p of preloads) libs.push({ name: p.name, bytes: readInput(p.path, false) });
  } catch (e) {
    printError('wagc', (e as Error).message);
    return 1;
  }
  const unresolved = args['trap-unknown-imports'] || args.unresolved === 'trap' ? 'trap' as const : 'strict' as const;
  const fail = (e: unknown): number => {
    if (e instanceof Error && e.name === 'SnapshotError') {
      printError('wagc', `${input}: bad snapshot: ${e.message}`);
      return 1;
    }
    if (e instanceof UsageError) {
      printError('wagc', e.message);
      return 1;
    }
    if (e instanceof CompileError || e instanceof LinkError) {
      // a preloaded library's errors name their module (the linker's messages do); the input is the main module
      printError('wagc', `${input}: ${e.name}: ${e.message}`);
      return 1;
    }
    throw e;
  };
  const write = (image: Parameters<typeof writeImageFile>[1]): number => {
    try {
      writeOutput(out, image, writeImageFile);
    } catch (e) {
      printError('wagc', `${out === '-' ? 'stdout' : out}: cannot write: ${(e as Error).message}`);
      return 1;
    }
    return 0;
  };
  if (libs.length && isSnapshot(bytes)) throw new UsageError('--preload: a snapshot is resumed with the modules it was taken with; give --preload when compiling the module');
  // workers take a while to start: from now, while the module is decoded and linked (a module
  // smaller than COLD_PARALLEL_MIN_CODE has fewer bytes of code than that, and gets none by default)
  const threads = jobs ?? (bytes.length >= COLD_PARALLEL_MIN_CODE ? cpus().length : 1);
  if (threads > 1) startWorkers(threads - 1);
  if (isSnapshot(bytes)) {
    // a snapshot: its module, with the stack rebuilt for this arch (ARCHITECTURE §6); the snapshot
    // reader is loaded only for one
    return import('./snapshot').then(({ resumeProgram }) => {
      const { modules, resume } = resumeProgram(bytes, args.arch as Arch);
      return write(compileProgram({ modules, arch: args.arch as Arch, cpuFeatures, resume, maxImageSize, unresolved }));
    }).catch(fail);
  }
  let program: ProgramOptions;
  try {
    program = {
      modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, ...libs, { name: 'main', bytes }],
      arch: args.arch as Arch,
      cpuFeatures,
      unresolved,
      maxImageSize,
    };
  } catch (e) {
    return fail(e);
  }
  // the image is written from its parts (text, module bytes, pages), never assembled in memory
  return linkProgramParallel(program, jobs, undefined, COLD_PARALLEL_MIN_CODE).then((img) => write(imageParts(img, { maxSize: maxImageSize }))).catch(fail);
}

/**
 * A file's bytes (`shared`: in a SharedArrayBuffer, where the compile's worker threads read the
 * module without a copy each), or an Error whose message names the file and says why not.
 */
function readInput(path: string, shared: boolean): Uint8Array {
  try {
    return shared ? readShared(path) : readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
}

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

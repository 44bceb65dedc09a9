import { readFileSync } from 'fs';
import yargs from 'yargs';
import { CompileError } from '@wagc/frontend';
import { compileProgram, hostArch, LinkError, writeImageFile, type Arch } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { printError } from './output';

export const ARCHES: readonly Arch[] = ['x86-64'];

/** `wagc IN.wasm -o OUT.img [--arch A]`: returns the exit status (0, or 1 on bad input). */
export function main(argv: string[]): number {
  const args = yargs(argv)
    .scriptName('wagc')
    .usage('$0 IN.wasm -o OUT.img [--arch ARCH]\n\nCompiles a WebAssembly module (linked with the WASI runtime library) to a native image for gate-run.')
    .positional('input', { describe: 'WebAssembly binary module' })
    .option('o', { alias: 'output', type: 'string', demandOption: true, describe: 'image to write (written whole or not at all)' })
    .option('arch', { type: 'string', choices: ARCHES as string[], default: defaultArch(), describe: 'target architecture (default: the host\'s)' })
    .demandCommand(1, 1, 'wagc: expected one input file', 'wagc: expected one input file')
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => { throw new UsageError(err ? err.message : msg); })
    .parseSync();
  if (args.help) return 0;
  const input = String(args._[0]);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(input);
  } catch (e) {
    printError('wagc', `${input}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    return 1;
  }
  let image: Uint8Array;
  try {
    image = compileProgram({
      modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }],
      arch: args.arch as Arch,
    });
  } catch (e) {
    if (e instanceof CompileError || e instanceof LinkError) {
      printError('wagc', `${input}: ${e.name}: ${e.message}`);
      return 1;
    }
    throw e;
  }
  try {
    writeImageFile(args.o, image);
  } catch (e) {
    printError('wagc', `${args.o}: cannot write: ${(e as Error).message}`);
    return 1;
  }
  return 0;
}

function defaultArch(): string {
  const a = hostArch();
  return ARCHES.includes(a) ? a : 'x86-64';
}

export class UsageError extends Error {}

import { printError } from './output';
import { UsageError } from './wagc';

/** Runs a CLI entry point: usage errors print one line (exit 2); anything else is our bug. */
export function run(tool: string, main: (argv: string[]) => number | Promise<number>): void {
  try {
    const r = main(process.argv.slice(2));
    if (typeof r === 'number') process.exitCode = r;
    else r.then((code) => { process.exitCode = code; }, (e) => fail(tool, e));
  } catch (e) {
    fail(tool, e);
  }
}

function fail(tool: string, e: unknown): void {
  if (e instanceof UsageError) {
    printError(tool, `${e.message.replace(/^\w[\w-]*: /, '')} (see ${tool} --help)`);
    process.exitCode = 2;
  } else {
    printError(tool, `internal error: ${(e as Error).message} (please report; run with WAGC_DEBUG=1 for the stack)`);
    if (process.env.WAGC_DEBUG) console.error((e as Error).stack);
    process.exitCode = 70;
  }
}

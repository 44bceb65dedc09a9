import { UsageError } from './gate-fleet';

/** Runs a command's main: usage errors print one line (exit 2); anything else is our bug (exit 70). */
export function run(tool: string, main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // open connections and timers are closed by main; nothing else should keep the process
    if (tool === 'gate-fleet') setTimeout(() => process.exit(code), 100).unref();
  }, (e) => {
    if (e instanceof UsageError) {
      process.stderr.write(`${tool}: error: ${e.message.replace(/^[\w-]+: /, '')} (see ${tool} --help)\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`${tool}: internal error: ${(e as Error).message} (please report; run with WAGC_DEBUG=1 for the stack)\n`);
      if (process.env.WAGC_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
      process.exitCode = 70;
    }
    setTimeout(() => process.exit(process.exitCode as number), 100).unref();
  });
}

import chalk from 'chalk';
import { printable } from '@wagc/frontend';

export { printable };

/** chalk decides colour from the stream: none when stderr is not a TTY, or with NO_COLOR set. */
const color = new chalk.Instance({ level: process.stderr.isTTY && !process.env.NO_COLOR ? chalk.level || 1 : 0 });

/** One line on stderr: `<tool>: error: <message>`, control characters escaped. */
export function printError(tool: string, message: string): void {
  process.stderr.write(`${color.bold(tool)}: ${color.red('error')}: ${printable(message.replace(/\s*\n\s*/g, ' '))}\n`);
}

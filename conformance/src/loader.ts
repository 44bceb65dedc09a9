import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';

/**
 * One loader process in --batch mode: an instance of one module, answering one line per
 * command. A process that dies or stops answering fails the pending command.
 */
export class LoaderProcess {
  private proc: ChildProcessWithoutNullStreams;
  private buffer = '';
  private waiting: ((line: string | null) => void) | null = null;
  private lines: string[] = [];
  private closed = false;
  stderr = '';

  constructor(loader: string, image: string, prefix: string[] = []) {
    // under an emulator (qemu-user cannot apply seccomp) the loader runs only when told so
    const [cmd, ...args] = [...prefix, loader, image, '--batch', ...(prefix.length ? ['--emulated'] : [])];
    this.proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => {
      this.buffer += d;
      let k;
      while ((k = this.buffer.indexOf('\n')) >= 0) {
        this.deliver(this.buffer.slice(0, k));
        this.buffer = this.buffer.slice(k + 1);
      }
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => {
      if (this.stderr.length < 4096) this.stderr += d;
    });
    this.proc.on('close', () => {
      this.closed = true;
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(null);
      }
    });
    this.proc.stdin.on('error', () => undefined);
  }

  private deliver(line: string): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(line);
    } else this.lines.push(line);
  }

  /** The next line, or null when the process ended or `timeoutMs` passed. */
  next(timeoutMs: number): Promise<string | null> {
    if (this.lines.length) return Promise.resolve(this.lines.shift()!);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        this.kill();
        resolve(null);
      }, timeoutMs);
      this.waiting = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  }

  async request(line: string, timeoutMs: number): Promise<string | null> {
    if (this.closed) return null;
    this.proc.stdin.write(line + '\n');
    return this.next(timeoutMs);
  }

  kill(): void {
    if (!this.closed) this.proc.kill('SIGKILL');
  }
}

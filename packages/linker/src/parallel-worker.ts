/**
 * A compile worker (parallel.ts): the first half of the link, then ranges of functions taken
 * from the shared counter until none is left, each posted back as a Chunk. A compile error ends
 * the worker with { error }: the calling thread then compiles everything itself and reports the
 * error exactly as a one-thread compile does.
 */
import { parentPort, workerData } from 'worker_threads';
import { link } from './link';
import type { Chunk, WorkerInput, WorkerMessage } from './parallel';

const { opts, ranges, counter } = workerData as WorkerInput;
const next = new Int32Array(counter);
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

try {
  link(opts, {
    next: () => {
      const k = Atomics.add(next, 0, 1);
      return k < ranges.length ? ranges[k] : null;
    },
    done: (chunk: Chunk) => post({ chunk }, [chunk.code.buffer as ArrayBuffer, chunk.funcs.buffer as ArrayBuffer, chunk.sites.buffer as ArrayBuffer, chunk.slotTypes.buffer as ArrayBuffer]),
  }, null);
} catch (e) {
  post({ error: e instanceof Error ? e.message : String(e) });
}

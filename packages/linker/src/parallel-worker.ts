/**
 * A compile worker of the pool (parallel.ts). For each job: the first half of the link, then ranges
 * of functions taken from the job's shared counter until none is left, each posted back as a
 * Chunk, then { end }. A compile error ends the job with { error }: the calling thread then
 * compiles everything itself and reports the error exactly as a one-thread compile does.
 */
import { parentPort } from 'worker_threads';
import { link } from './link';
import type { Chunk, WorkerInput, WorkerMessage } from './parallel';

const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

parentPort!.on('message', ({ opts, ranges, counter }: WorkerInput) => {
  const next = new Int32Array(counter);
  try {
    link(opts, {
      next: () => {
        const k = Atomics.add(next, 0, 1);
        return k < ranges.length ? ranges[k] : null;
      },
      done: (chunk: Chunk) => post({ chunk }, [chunk.code.buffer as ArrayBuffer, chunk.funcs.buffer as ArrayBuffer, chunk.sites.buffer as ArrayBuffer, chunk.slotTypes.buffer as ArrayBuffer]),
    }, null);
    post({ end: true });
  } catch (e) {
    post({ error: e instanceof Error ? e.message : String(e) });
  }
});

/**
 * A compile worker of the pool (parallel.ts). For each job: the environments made from the job's
 * code (no decoding, no link), then ranges taken from the back of the job's counter until none is left,
 * each compiled into a chunk posted on the job's port, then `{ ended }` on the parent port. A
 * compile error ends the job with `{ error }`: the calling thread then compiles everything itself
 * and reports the error exactly as a one-thread compile does.
 */
import { parentPort } from 'worker_threads';
import { CompileOutput } from '@wagc/frontend';
import { functionCompiler } from './link';
import { compileChunk, takeRange, type WorkerJob, type WorkerMessage } from './parallel';

parentPort!.on('message', (job: WorkerJob) => {
  const counter = new Int32Array(job.counter);
  const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => job.port.postMessage(m, transfer);
  let ended = true;
  try {
    const out = new CompileOutput();
    out.buf.limit = job.codeLimit;
    const { fc, envs } = functionCompiler(job.arch, job.cpuFeatures, out, job.code);
    for (let r = takeRange(counter, true); r >= 0; r = takeRange(counter, true)) {
      const chunk = compileChunk(fc, envs, job.code, r, job.ranges);
      const buffers = [chunk.code, chunk.funcCode, chunk.sites, chunk.slotTypes, chunk.callFixups, chunk.tableFixups, chunk.stubRefs].map((a) => a.buffer as ArrayBuffer);
      post({ chunk }, buffers);
    }
  } catch (e) {
    post({ error: e instanceof Error ? e.message : String(e) });
    ended = false;
  }
  // the calling thread closes the port once it has read every chunk
  parentPort!.postMessage({ ended });
});

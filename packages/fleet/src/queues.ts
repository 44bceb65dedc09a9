/**
 * BullMQ's side: one queue per arch, named after it (`x86-64`, `arm64`) under the prefix, and the
 * options every BullMQ job of the fleet gets. A BullMQ job is one run of a fleet job; its data is
 * only the fleet job's id (the record says what to run).
 */
import { Queue, type JobsOptions } from 'bullmq';
import type Redis from 'ioredis';
import { randomBytes } from 'crypto';
import type { Arch } from './jobs';

export interface RunData {
  id: string;
}

/** Kept after they end, for inspection, up to these counts per queue; the fleet record is what counts. */
export const JOB_OPTIONS: JobsOptions = {
  attempts: 1,
  removeOnComplete: { count: 10000 },
  removeOnFail: { count: 10000 },
};

/** A BullMQ job id for the next run of fleet job `id` (BullMQ wants ids that are not integers and have no ':'). */
export function runJobId(id: string): string {
  return `${id}-${randomBytes(4).toString('hex')}`;
}

/** The arch queues on one connection, made when first used. */
export class Queues {
  private readonly queues = new Map<Arch, Queue<RunData>>();
  constructor(private readonly connection: Redis, readonly prefix: string) {}

  get(arch: Arch): Queue<RunData> {
    let q = this.queues.get(arch);
    if (!q) {
      q = new Queue<RunData>(arch, { connection: this.connection, prefix: this.prefix });
      q.on('error', () => undefined);
      this.queues.set(arch, q);
    }
    return q;
  }

  async add(arch: Arch, id: string, bullJob: string): Promise<void> {
    await this.get(arch).add('run', { id }, { ...JOB_OPTIONS, jobId: bullJob });
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}

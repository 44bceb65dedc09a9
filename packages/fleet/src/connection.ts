/** Redis connections for workers (retry for ever) and for the CLI (fail fast, with a clear line). */
import Redis, { type RedisOptions } from 'ioredis';
import { defineScripts, type FleetRedis } from './jobs';

export class ConnectionError extends Error {}

/** The URL without a password, for messages. */
export function shownUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//…@');
}

/**
 * A worker's connection: commands wait while Redis is away (BullMQ requires
 * maxRetriesPerRequest null) and go out in order when it is back.
 */
export function workerConnection(url: string, extra: RedisOptions = {}): FleetRedis {
  return defineScripts(new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    ...extra,
  }));
}

/** A client's connection: one attempt, then a ConnectionError saying where it tried. */
export async function clientConnection(url: string): Promise<FleetRedis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: () => null,
    enableOfflineQueue: true,
  });
  // errors are reported by the calls that fail; the event carries the cause (ECONNREFUSED …)
  let cause: Error | null = null;
  redis.on('error', (e: Error) => { cause = e; });
  try {
    await redis.connect();
  } catch (e) {
    redis.disconnect();
    throw new ConnectionError(`cannot reach Redis at ${shownUrl(url)}: ${(cause ?? (e as Error)).message}`);
  }
  return defineScripts(redis);
}

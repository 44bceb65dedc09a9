/**
 * Blobs (modules, snapshots, images) behind one small interface (docs/fleet.md, "Blobs"): Redis
 * itself for small ones, a directory every host shares (`--blobs DIR`) for large ones.
 *
 * A reference names where a blob is, what it is called and its SHA-256:
 * `redis:NAME:SHA` or `dir:NAME:SHA`. Every read checks the digest, so a truncated or
 * overwritten blob is an error (`BlobError`), never wrong bytes.
 */
import { createHash, randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import { join } from 'path';
import type Redis from 'ioredis';
import type { Keys } from './jobs';

export interface BlobStore {
  /** Stores `bytes` as `name` ([a-z0-9.-]+); resolves to the reference to keep. */
  put(name: string, bytes: Uint8Array): Promise<string>;
  /** The bytes of a reference; BlobError when missing, corrupt or not reachable from here. */
  get(ref: string): Promise<Buffer>;
  /** Forgets a blob (no error when it is gone already; BlobError when it is in a directory this process was not given). */
  delete(ref: string): Promise<void>;
}

export class BlobError extends Error {}

/** Blobs up to this size go to Redis by default; larger ones need a shared directory. */
export const DEFAULT_REDIS_BLOB_MAX = 8 * 1024 * 1024;

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parse(ref: string): { where: string; name: string; sha: string } {
  const m = /^(redis|dir):([a-z0-9.-]+):([0-9a-f]{64})$/.exec(ref);
  if (!m) throw new BlobError(`not a blob reference: ${JSON.stringify(ref)}`);
  return { where: m[1], name: m[2], sha: m[3] };
}

function checkName(name: string): void {
  if (!/^[a-z0-9.-]+$/.test(name)) throw new BlobError(`bad blob name ${JSON.stringify(name)}`);
}

/**
 * The store a worker or client uses: Redis for blobs of at most `redisMax` bytes, `dir` for the
 * rest. Without `dir`, a larger blob is refused with a message saying what to do.
 */
export class Blobs implements BlobStore {
  constructor(private readonly redis: Redis, private readonly keys: Keys, readonly dir: string | null, readonly redisMax = DEFAULT_REDIS_BLOB_MAX) {}

  async put(name: string, bytes: Uint8Array): Promise<string> {
    checkName(name);
    const sha = sha256(bytes);
    if (bytes.length <= this.redisMax) {
      await this.redis.set(this.keys.blob(name), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return `redis:${name}:${sha}`;
    }
    if (!this.dir) {
      throw new BlobError(`${name} is ${mib(bytes.length)}, over the ${mib(this.redisMax)} kept in Redis: give --blobs DIR, a directory every worker and gate-fleet share`);
    }
    // written whole or not at all: a reader never sees a partial file under the name
    const tmp = join(this.dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, join(this.dir, name));
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw new BlobError(`cannot write ${name} to ${this.dir}: ${(e as Error).message}`);
    }
    return `dir:${name}:${sha}`;
  }

  async get(ref: string): Promise<Buffer> {
    const { where, name, sha } = parse(ref);
    let bytes: Buffer | null;
    if (where === 'redis') {
      bytes = await this.redis.getBuffer(this.keys.blob(name));
      if (!bytes) throw new BlobError(`blob ${name} is missing from Redis`);
    } else {
      if (!this.dir) throw new BlobError(`blob ${name} is in the shared blob directory, and this process was given no --blobs DIR`);
      try {
        bytes = await fs.readFile(join(this.dir, name));
      } catch (e) {
        throw new BlobError(`blob ${name} cannot be read from ${this.dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
    }
    if (sha256(bytes) !== sha) throw new BlobError(`blob ${name} is corrupt (its SHA-256 is not the one recorded)`);
    return bytes;
  }

  async delete(ref: string): Promise<void> {
    const { where, name } = parse(ref);
    if (where === 'redis') await this.redis.del(this.keys.blob(name));
    else if (this.dir) await fs.rm(join(this.dir, name), { force: true });
    else throw new BlobError(`blob ${name} stays in the shared blob directory: this process was given no --blobs DIR to delete it from`);
  }
}

export function mib(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}

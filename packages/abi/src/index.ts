import { readFileSync } from 'fs';
import { join } from 'path';

/** Package root, from src/ (jest) or dist/ (built). */
const root = join(__dirname, '..');
const cache = new Map<string, Uint8Array>();

function load(name: string): Uint8Array {
  let b = cache.get(name);
  if (!b) {
    b = new Uint8Array(readFileSync(join(root, 'build', `${name}.wasm`)));
    cache.set(name, b);
  }
  return b;
}

/** The WASI preview1 runtime library, linked before WASI programs as `wasi_snapshot_preview1`. */
export function wasiModule(): Uint8Array {
  return load('wasi');
}

/** The spec testsuite's `spectest` module. */
export function spectestModule(): Uint8Array {
  return load('spectest');
}

import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');
let wabt: {
  parseWat(name: string, text: string, features?: object): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void };
  readWasm(bytes: Uint8Array, o: object): { validate(): void; destroy(): void };
} | null = null;

/** npm wabt's validator (loaded by a first `wat` call): throws on an invalid module. */
export function wabtValidate(bytes: Uint8Array): void {
  const m = wabt!.readWasm(bytes, { readDebugNames: false, bulk_memory: true });
  try {
    m.validate();
  } finally {
    m.destroy();
  }
}

export async function wat(text: string, features: object = {}): Promise<Uint8Array> {
  if (!wabt) wabt = await wabtInit();
  const mod = wabt!.parseWat('test.wat', text, { bulk_memory: true, ...features });
  try {
    return mod.toBinary({ write_debug_names: true }).buffer;
  } finally {
    mod.destroy();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'snapshot-format-'));
let n = 0;

export function tmpFile(bytes: Uint8Array, ext = '.wasm'): string {
  const p = join(dir, `f${n++}${ext}`);
  writeFileSync(p, bytes);
  return p;
}

/** wabt's wasm-validate on the file (apt package wabt); null when the tool is missing. */
export function wasmValidate(bytes: Uint8Array): { ok: boolean; out: string } | null {
  const r = spawnSync('wasm-validate', [tmpFile(bytes)], { encoding: 'utf8' });
  if (r.error) return null;
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

export function wasmObjdump(bytes: Uint8Array): string | null {
  const r = spawnSync('wasm-objdump', ['-x', tmpFile(bytes)], { encoding: 'utf8' });
  if (r.error) return null;
  return r.stdout + r.stderr;
}

/** A module with memory (max), globals of every type, exports, a start function, data and names. */
export const PROGRAM = `
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 100)
  (global $g32 (mut i32) (i32.const 1))
  (global $g64 (mut i64) (i64.const 2))
  (global $gf32 (mut f32) (f32.const 3))
  (global $gf64 (mut f64) (f64.const 4))
  (global $k i32 (i32.const 42))
  (data (i32.const 16) "hello, world\\n")
  (func $start (global.set $g32 (i32.const 7)))
  (start $start)
  (func $fib (export "fib") (param $n i32) (result i32) (local $a i64) (local $b f64)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func $main (export "_start") (local $i i32)
    (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 10))))
    (drop (call $fib (i32.const 20))))
  (func (export "get32") (result i32) (global.get $g32))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
)`;

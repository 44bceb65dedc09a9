/**
 * Mutation fuzzing of the whole compile path: valid modules with random byte mutations must
 * either compile or be rejected with CompileError / LinkError, never another error and never hang.
 *
 * FUZZ_SEED=<n> replays a run (fast-check prints the seed and the shrunk counterexample on
 * failure); FUZZ_RUNS=<n> changes the number of mutated modules.
 */
import { existsSync, readFileSync } from 'fs';
import { dirname, join, resolve } from 'path';
import { Script, createContext } from 'vm';
import * as fc from 'fast-check';
import { CompileError } from '@wagc/frontend';
import { LinkError, linkProgram } from '@wagc/linker';

const SUITE = resolve(__dirname, '../../../shared/wasm-testsuite');
/** A single compile taking longer than this counts as a hang. */
const HANG_MS = 5000;
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;

// ---------------------------------------------------------------------------------------------
// the check

// Compiling runs through a vm script with a timeout: the watchdog interrupts an endless loop in
// the compiler (the functions it calls belong to this realm, so errors keep their classes).
const sandbox = createContext({ run: null as null | (() => unknown) });
const runScript = new Script('run()');

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function compile(bytes: Uint8Array): unknown {
  return linkProgram({ modules: [{ name: 'main', bytes }], arch: 'x86-64', unresolved: 'trap' });
}

/** Returns normally when `bytes` compiles or is rejected properly; throws a descriptive Error otherwise. */
function check(bytes: Uint8Array): 'ok' | 'CompileError' | 'LinkError' {
  sandbox.run = () => compile(bytes);
  try {
    runScript.runInContext(sandbox, { timeout: HANG_MS });
    return 'ok';
  } catch (e) {
    if (e instanceof CompileError) return 'CompileError';
    if (e instanceof LinkError) return 'LinkError';
    const err = e as Error & { code?: string };
    const what = err?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT' ? `hang (> ${HANG_MS} ms)` : `${err?.name}: ${err?.message}`;
    throw new Error(`${what}\ninput (${bytes.length} bytes): ${hex(bytes)}\n${err?.stack ?? ''}`);
  } finally {
    sandbox.run = null;
  }
}

// ---------------------------------------------------------------------------------------------
// corpus

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');
type Wabt = { parseWat(name: string, text: string, features?: object): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void } };

async function wat(wabt: Wabt, text: string): Promise<Uint8Array> {
  const m = wabt.parseWat('fuzz.wat', text, { multi_value: true, sat_float_to_int: true, sign_extension: true, bulk_memory: true, reference_types: true });
  try {
    return m.toBinary({ write_debug_names: true }).buffer;
  } finally {
    m.destroy();
  }
}

const WAT = [
  `(module (memory (export "memory") 1 2) (data (i32.const 16) "hello\\00world")
    (global $g (mut i32) (i32.const 7)) (global $h i64 (i64.const -3))
    (func $fib (export "fib") (param i32) (result i32)
      (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
        (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1))) (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
    (func $loop (param $n i32) (result i64) (local $acc i64)
      (block $done (loop $top
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (i32.load8_u offset=16 (local.get $n)))))
        (i64.store offset=64 align=4 (i32.const 0) (local.get $acc))
        (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br $top)))
      (global.set $g (i32.wrap_i64 (local.get $acc))) (i64.mul (local.get $acc) (global.get $h)))
    (func (export "_start") (drop (call $loop (call $fib (i32.const 5)))) (drop (memory.grow (i32.const 1)))))`,
  `(module (type $t (func (param i32) (result i32))) (table 4 funcref) (elem (i32.const 0) $a $b $c)
    (func $a (type $t) (i32.mul (local.get 0) (i32.const 3)))
    (func $b (type $t) (i32.rem_s (local.get 0) (i32.const 5)))
    (func $c (type $t) (select (local.get 0) (i32.const -1) (i32.gt_s (local.get 0) (i32.const 0))))
    (func (export "dispatch") (param i32 i32) (result i32)
      (block $x (block $y (block $z
        (br_table $x $y $z (local.get 0)))
        (return (call_indirect (type $t) (local.get 1) (i32.const 2))))
        (return (call_indirect (type $t) (local.get 1) (i32.const 1))))
      (call_indirect (type $t) (local.get 1) (i32.const 0))))`,
  `(module (import "env" "f" (func $f (param f64) (result f64))) (import "env" "g" (global $ig i32))
    (memory 1) (global $m (mut f32) (f32.const 1.5))
    (func (export "fl") (param f32 f64) (result f64) (local i64 i32)
      (global.set $m (f32.sqrt (f32.add (local.get 0) (global.get $m))))
      (local.set 2 (i64.trunc_sat_f64_s (local.get 1)))
      (local.set 3 (i32.extend8_s (global.get $ig)))
      (f64.store (i32.const 8) (f64.convert_i64_s (local.get 2)))
      (call $f (f64.add (f64.load (i32.const 8)) (f64.promote_f32 (f32.neg (global.get $m)))))))`,
  `(module (memory 1) (func (export "bits") (param i64 i32) (result i32)
      (i32.add (i32.wrap_i64 (i64.rotl (i64.popcnt (local.get 0)) (i64.clz (local.get 0))))
        (i32.xor (i32.ctz (local.get 1)) (i32.shr_s (local.get 1) (i32.const 3)))))
    (func (param i32) (result i32) (local f64)
      (loop $l (result i32)
        (local.set 1 (f64.div (local.get 1) (f64.const 3)))
        (br_if $l (f64.gt (local.get 1) (f64.const 0.5)))
        (i32.trunc_f64_u (f64.abs (local.get 1)))))
    (func $s (drop (call 1 (i32.const 9)))) (start $s))`,
];

/** A few dozen valid modules of the spec testsuite that compile today, chosen deterministically. */
function suiteCorpus(): Uint8Array[] {
  if (!existsSync(join(SUITE, 'index.json'))) throw new Error(`spec testsuite not found at ${SUITE}`);
  const files = (JSON.parse(readFileSync(join(SUITE, 'index.json'), 'utf8')).files as { dir: string; json: string }[]).filter((f) => f.dir === 'core');
  const all: Uint8Array[] = [];
  for (const f of files) {
    const j = JSON.parse(readFileSync(join(SUITE, f.json), 'utf8'));
    for (const c of j.commands) {
      if (c.type !== 'module') continue;
      const bytes = new Uint8Array(readFileSync(join(SUITE, dirname(f.json), c.filename)));
      if (bytes.length >= 24 && bytes.length <= 3000) all.push(bytes);
    }
  }
  const picked: Uint8Array[] = [];
  for (let k = 0; k < all.length && picked.length < 40; k += 11) {
    if (check(all[k]) === 'ok') picked.push(all[k]);
  }
  return picked;
}

// ---------------------------------------------------------------------------------------------
// mutations

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'leb'; at: number; value: bigint; len: number }
  | { kind: 'copy'; from: number; at: number; len: number };

const at = fc.nat({ max: 1 << 20 });
const interesting = fc.constantFrom(0n, 1n, 0x3fn, 0x40n, 0x7fn, 0x80n, 0xffn, 0x3fffn, 0x4000n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n,
  -1n, -64n, -65n, -0x80000000n, 50000n, 50001n, 65536n, 65537n, 1n << 63n, (1n << 64n) - 1n);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at, bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), at, value: fc.oneof(fc.nat(255), fc.constantFrom(0x00, 0x0b, 0x40, 0x7f, 0x80, 0xff, 0xfc, 0xfd, 0x60, 0x70, 0x6f)) }),
  fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 6 }) }),
  fc.record({ kind: fc.constant('delete' as const), at, len: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at }),
  fc.record({ kind: fc.constant('leb' as const), at, value: fc.oneof(interesting, fc.bigInt(-(1n << 40n), 1n << 40n)), len: fc.integer({ min: 1, max: 11 }) }),
  fc.record({ kind: fc.constant('copy' as const), from: at, at, len: fc.integer({ min: 1, max: 16 }) }),
);

/** `value` as LEB128 (signed when negative, unsigned otherwise), padded to at least `len` bytes. */
function leb(value: bigint, len: number): number[] {
  const out: number[] = [];
  let v = value;
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(b);
    if (value < 0n ? v === -1n && (b & 0x40) !== 0 : v === 0n) break;
  }
  while (out.length < len) out.push(value < 0n ? 0x7f : 0x00);
  for (let k = 0; k < out.length - 1; k++) out[k] |= 0x80;
  return out;
}

function apply(input: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = Array.from(input);
  for (const m of muts) {
    const n = b.length;
    if (n === 0) break;
    const p = m.at % (n + (m.kind === 'insert' ? 1 : 0));
    switch (m.kind) {
      case 'flip': b[p] ^= 1 << m.bit; break;
      case 'set': b[p] = m.value; break;
      case 'insert': b.splice(p, 0, ...m.bytes); break;
      case 'delete': b.splice(p, m.len); break;
      case 'truncate': b = b.slice(0, p); break;
      case 'leb': {
        // replace the LEB128 that starts at p (up to 10 bytes of it) with another encoding
        let e = p;
        while (e < n && e - p < 9 && b[e] & 0x80) e++;
        b.splice(p, e + 1 - p, ...leb(m.value, m.len));
        break;
      }
      case 'copy': {
        const from = m.from % n;
        b.splice(p, 0, ...b.slice(from, from + m.len));
        break;
      }
    }
  }
  return Uint8Array.from(b);
}

// ---------------------------------------------------------------------------------------------

/** Minimised inputs of bugs this fuzzer found (hex), kept as regression cases. */
const REGRESSIONS: string[] = [];

describe('mutation fuzzing of linkProgram', () => {
  let corpus: Uint8Array[] = [];

  beforeAll(async () => {
    const wabt = (await wabtInit()) as Wabt;
    const own = await Promise.all(WAT.map((t) => wat(wabt, t)));
    for (const b of own) expect(check(b)).toBe('ok');
    corpus = [...own, ...suiteCorpus()];
  });

  test('the corpus compiles', () => {
    expect(corpus.length).toBeGreaterThan(30);
  });

  test('regressions', () => {
    for (const h of REGRESSIONS) expect(['ok', 'CompileError', 'LinkError']).toContain(check(Uint8Array.from(Buffer.from(h, 'hex'))));
  });

  test('mutated modules compile or fail with CompileError/LinkError', () => {
    const outcomes = { ok: 0, CompileError: 0, LinkError: 0 };
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (pick, muts) => {
        outcomes[check(apply(corpus[pick % corpus.length], muts))]++;
      }),
      { numRuns: RUNS, seed: SEED, verbose: 1 },
    );
    // eslint-disable-next-line no-console
    console.log(`fuzz: ${RUNS} mutated modules from ${corpus.length}: ${JSON.stringify(outcomes)}`);
  });
});

/**
 * WebAssembly opcode tables and constant values for the module generator (gen.ts, funcgen.ts).
 */
import { Bytes } from './bytes';
import { Rng, weighted } from './rng';

export const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;
export type ValType = 0x7f | 0x7e | 0x7d | 0x7c | 0x7b;
export type ScalarType = 0x7f | 0x7e | 0x7d | 0x7c;
/** The scalar types; SIMD modules (ModuleInfo.simd) add V128 to theirs (SIMD_VALTYPES). */
export const VALTYPES: readonly ScalarType[] = [I32, I64, F32, F64];
export const SIMD_VALTYPES: readonly ValType[] = [I32, I64, F32, F64, V128];
export const VOID = 0x40;

/** Several results (multi-value) only in modules that use post-1.0 features (GenOptions.mvp). */
export interface FuncType { params: ValType[]; results: ValType[] }

// ---------------------------------------------------------------------------------------------
// opcode tables

export const UNARY: Record<ScalarType, number[]> = {
  [I32]: [0x67, 0x68, 0x69],
  [I64]: [0x79, 0x7a, 0x7b],
  [F32]: [0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91],
  [F64]: [0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f],
};
export const BINARY: Record<ScalarType, number[]> = {
  [I32]: range(0x6a, 0x78),
  [I64]: range(0x7c, 0x8a),
  [F32]: range(0x92, 0x98),
  [F64]: range(0xa0, 0xa6),
};
/** div_s, div_u, rem_s, rem_u */
export const DIVISION = new Set([0x6d, 0x6e, 0x6f, 0x70, 0x7f, 0x80, 0x81, 0x82]);
export const EQZ: Partial<Record<ValType, number>> = { [I32]: 0x45, [I64]: 0x50 };
export const COMPARE: Record<ScalarType, number[]> = {
  [I32]: range(0x46, 0x4f),
  [I64]: range(0x51, 0x5a),
  [F32]: range(0x5b, 0x60),
  [F64]: range(0x61, 0x66),
};
export interface Conversion { op: number; from: ValType; to: ValType; trunc?: 's' | 'u'; sat?: boolean }
export const CONVERSIONS: Conversion[] = [
  { op: 0xa7, from: I64, to: I32 },
  { op: 0xa8, from: F32, to: I32, trunc: 's' }, { op: 0xa9, from: F32, to: I32, trunc: 'u' },
  { op: 0xaa, from: F64, to: I32, trunc: 's' }, { op: 0xab, from: F64, to: I32, trunc: 'u' },
  { op: 0xac, from: I32, to: I64 }, { op: 0xad, from: I32, to: I64 },
  { op: 0xae, from: F32, to: I64, trunc: 's' }, { op: 0xaf, from: F32, to: I64, trunc: 'u' },
  { op: 0xb0, from: F64, to: I64, trunc: 's' }, { op: 0xb1, from: F64, to: I64, trunc: 'u' },
  { op: 0xb2, from: I32, to: F32 }, { op: 0xb3, from: I32, to: F32 },
  { op: 0xb4, from: I64, to: F32 }, { op: 0xb5, from: I64, to: F32 }, { op: 0xb6, from: F64, to: F32 },
  { op: 0xb7, from: I32, to: F64 }, { op: 0xb8, from: I32, to: F64 },
  { op: 0xb9, from: I64, to: F64 }, { op: 0xba, from: I64, to: F64 }, { op: 0xbb, from: F32, to: F64 },
  { op: 0xbc, from: F32, to: I32 }, { op: 0xbd, from: F64, to: I64 },
  { op: 0xbe, from: I32, to: F32 }, { op: 0xbf, from: I64, to: F64 },
];
/** Saturating truncations: 0xfc, op. */
export const SATURATING: Conversion[] = [
  { op: 0, from: F32, to: I32, sat: true }, { op: 1, from: F32, to: I32, sat: true },
  { op: 2, from: F64, to: I32, sat: true }, { op: 3, from: F64, to: I32, sat: true },
  { op: 4, from: F32, to: I64, sat: true }, { op: 5, from: F32, to: I64, sat: true },
  { op: 6, from: F64, to: I64, sat: true }, { op: 7, from: F64, to: I64, sat: true },
];
export const SIGN_EXTEND: Partial<Record<ValType, number[]>> = { [I32]: [0xc0, 0xc1], [I64]: [0xc2, 0xc3, 0xc4] };
export interface Access { op: number; type: ValType; bytes: number }
export const LOADS: Access[] = [
  { op: 0x28, type: I32, bytes: 4 }, { op: 0x29, type: I64, bytes: 8 },
  { op: 0x2a, type: F32, bytes: 4 }, { op: 0x2b, type: F64, bytes: 8 },
  { op: 0x2c, type: I32, bytes: 1 }, { op: 0x2d, type: I32, bytes: 1 },
  { op: 0x2e, type: I32, bytes: 2 }, { op: 0x2f, type: I32, bytes: 2 },
  { op: 0x30, type: I64, bytes: 1 }, { op: 0x31, type: I64, bytes: 1 },
  { op: 0x32, type: I64, bytes: 2 }, { op: 0x33, type: I64, bytes: 2 },
  { op: 0x34, type: I64, bytes: 4 }, { op: 0x35, type: I64, bytes: 4 },
];
export const STORES: Access[] = [
  { op: 0x36, type: I32, bytes: 4 }, { op: 0x37, type: I64, bytes: 8 },
  { op: 0x38, type: F32, bytes: 4 }, { op: 0x39, type: F64, bytes: 8 },
  { op: 0x3a, type: I32, bytes: 1 }, { op: 0x3b, type: I32, bytes: 2 },
  { op: 0x3c, type: I64, bytes: 1 }, { op: 0x3d, type: I64, bytes: 2 }, { op: 0x3e, type: I64, bytes: 4 },
];

function range(lo: number, hi: number): number[] {
  const r: number[] = [];
  for (let k = lo; k <= hi; k++) r.push(k);
  return r;
}

// ---------------------------------------------------------------------------------------------
// constants

const f32buf = new Float32Array(1);
const f32u = new Uint32Array(f32buf.buffer);
const f64buf = new Float64Array(1);
const f64u = new BigUint64Array(f64buf.buffer);
export function f32Bits(x: number): number {
  f32buf[0] = x;
  return f32u[0];
}
export function f64Bits(x: number): bigint {
  f64buf[0] = x;
  return f64u[0];
}

const I32_SPECIAL = [0, 1, -1, 2, 0x7fffffff, -0x80000000, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000,
  31, 32, 33, 63, 64, 0x55555555, -0x55555556, 0xfff8, 0x7ffffffe, -2];
const I64_SPECIAL = [0n, 1n, -1n, 2n, 0x7fffffffffffffffn, -0x8000000000000000n, 0xffffffffn, 0x100000000n,
  0x80000000n, -0x80000000n, 63n, 64n, 65n, 0x5555555555555555n, 0xfffn, -2n];
const F32_SPECIAL = [0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
  0xffc00000, 0x7fa00000, 0x7f800001, 0xff812345, 0x00000001, 0x80000001, 0x007fffff, 0x00800000,
  0x7f7fffff, 0xff7fffff, 0x4f000000, 0xcf000000, 0x4f800000, 0x5f000000, 0xdf000000, 0x5f800000,
  0x3f000000, 0x3fc00000, 0xc0200000, 0x3effffff, 0x4b000000, 0x4b7fffff,
  // the edges of the integer ranges: just inside and outside 2^31, 2^32, 2^63, 2^64, and (-1, 0)
  0x4effffff, 0xcf000001, 0x4f7fffff, 0x5effffff, 0xdf000001, 0x5f7fffff, 0xbf7fffff, 0xbf800001];
const F64_SPECIAL = [0x0n, 0x8000000000000000n, 0x3ff0000000000000n, 0xbff0000000000000n, 0x7ff0000000000000n,
  0xfff0000000000000n, 0x7ff8000000000000n, 0xfff8000000000000n, 0x7ff4000000000000n, 0x7ff0000000000001n,
  0xfff8000000012345n, 0x1n, 0x8000000000000001n, 0x000fffffffffffffn, 0x0010000000000000n,
  0x7fefffffffffffffn, 0xffefffffffffffffn, 0x41e0000000000000n, 0xc1e0000000000000n, 0x41f0000000000000n,
  0x43e0000000000000n, 0xc3e0000000000000n, 0x43f0000000000000n, 0x3fe0000000000000n, 0x3ff8000000000000n,
  0xc004000000000000n, 0x41dfffffffc00000n, 0x4330000000000000n, 0xc1e0000000200000n,
  0x41dfffffffffffffn, 0xc1e00000001fffffn, 0x41efffffffffffffn, 0x41f0000000000001n, 0x43dfffffffffffffn,
  0xc3e0000000000001n, 0x43efffffffffffffn, 0xbfefffffffffffffn, 0xbff0000000000001n, 0x41e0000000000001n];

export function limits(b: Bytes, min: number, max: number | null): Bytes {
  return max === null ? b.u8(0).uleb(min) : b.u8(1).uleb(min).uleb(max);
}

export function constInstr(b: Bytes, t: ValType, v: number | bigint): Bytes {
  switch (t) {
    case V128: {
      b.u8(0xfd).uleb(12);
      const x = BigInt.asUintN(128, BigInt(v));
      for (let k = 0; k < 16; k++) b.u8(Number((x >> BigInt(8 * k)) & 0xffn));
      return b;
    }
    case I32: return b.u8(0x41).sleb(v as number);
    case I64: return b.u8(0x42).sleb(v as bigint);
    case F32: return b.u8(0x43).f32bits(v as number);
    default: return b.u8(0x44).f64bits(v as bigint);
  }
}

/**
 * A constant's value: i32 number, i64 bigint, f32 bits (number), f64 bits (bigint), v128 a
 * 128-bit bigint whose lanes (of a random shape) are edge values of the lane type, NaN payloads
 * included, or random bytes.
 */
export function constValue(rng: Rng, t: ValType): number | bigint {
  const k = weighted(rng, [3, 3, 2]);
  switch (t) {
    case V128: {
      if (k === 2) return (rng.u64() << 64n) | rng.u64();
      const shape = rng.int(6);
      const laneBits = [8, 16, 32, 64, 32, 64][shape];
      const laneType: ValType = [I32, I32, I32, I64, F32, F64][shape] as ValType;
      let v = 0n;
      const same = rng.chance(0.3) ? constValue(rng, laneType) : null;
      for (let lane = 0; lane < 128 / laneBits; lane++) {
        const x = same ?? constValue(rng, laneType);
        v |= BigInt.asUintN(laneBits, BigInt(x)) << BigInt(lane * laneBits);
      }
      return v;
    }
    case I32:
      return k === 0 ? rng.range(-16, 16) : k === 1 ? rng.pick(I32_SPECIAL) : rng.u32() | 0;
    case I64:
      return k === 0 ? BigInt(rng.range(-16, 16)) : k === 1 ? rng.pick(I64_SPECIAL)
        : rng.chance(0.5) ? BigInt.asIntN(64, rng.u64()) : BigInt(rng.u32() | 0);
    case F32:
      return k === 0 ? f32Bits(rng.range(-8, 8) / rng.pick([1, 2, 4])) : k === 1 ? rng.pick(F32_SPECIAL) : rng.u32();
    default:
      return k === 0 ? f64Bits(rng.range(-8, 8) / rng.pick([1, 2, 4])) : k === 1 ? rng.pick(F64_SPECIAL) : rng.u64();
  }
}

// ---------------------------------------------------------------------------------------------
// SIMD (0xfd sub-opcodes)

/**
 * v128 → v128. `canon`: a float operation whose NaN results the spec leaves open (V8 and wagc
 * may differ in their bits): the generator makes the NaN lanes canonical after it, with the
 * lanes' float shape (4: f32x4, 2: f64x2).
 */
export interface VecOp { sub: number; canon?: 2 | 4 }
export const VUNARY: VecOp[] = [
  0x4d, 0x60, 0x61, 0x62, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x87, 0x88, 0x89, 0x8a, 0xa0, 0xa1, 0xa7, 0xa8, 0xa9, 0xaa,
  0xc0, 0xc1, 0xc7, 0xc8, 0xc9, 0xca, 0xe0, 0xe1, 0xec, 0xed, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
].map((sub) => ({ sub } as VecOp)).concat(
  [0x67, 0x68, 0x69, 0x6a, 0xe3, 0x5e].map((sub) => ({ sub, canon: 4 as const })),
  [0x74, 0x75, 0x7a, 0x94, 0xef, 0x5f].map((sub) => ({ sub, canon: 2 as const })),
);
/** v128 × v128 → v128. */
export const VBINARY: VecOp[] = [
  0x0e, ...range(0x23, 0x4c), 0x4e, 0x4f, 0x50, 0x51, 0x65, 0x66, ...range(0x6e, 0x73), ...range(0x76, 0x79), 0x7b, 0x82, 0x85, 0x86,
  ...range(0x8e, 0x93), ...range(0x95, 0x99), ...range(0x9b, 0x9f), 0xae, 0xb1, ...range(0xb5, 0xba), ...range(0xbc, 0xbf),
  0xce, 0xd1, ...range(0xd5, 0xdf), 0xea, 0xeb, 0xf6, 0xf7,
].map((sub) => ({ sub } as VecOp)).concat(
  range(0xe4, 0xe9).map((sub) => ({ sub, canon: 4 as const })),
  range(0xf0, 0xf5).map((sub) => ({ sub, canon: 2 as const })),
);
/** v128 × i32 → v128 shifts. */
export const VSHIFT = [0x6b, 0x6c, 0x6d, 0x8b, 0x8c, 0x8d, 0xab, 0xac, 0xad, 0xcb, 0xcc, 0xcd];
/** Splat (sub-opcode) of each scalar type. */
export const VSPLAT: [number, ValType][] = [[0x0f, I32], [0x10, I32], [0x11, I32], [0x12, I64], [0x13, F32], [0x14, F64]];
/** replace_lane: sub-opcode, the lane's type, lanes. */
export const VREPLACE: [number, ValType, number][] = [[0x17, I32, 16], [0x1a, I32, 8], [0x1c, I32, 4], [0x1e, I64, 2], [0x20, F32, 4], [0x22, F64, 2]];
/** extract_lane: sub-opcode, result type, lanes. */
export const VEXTRACT: [number, ValType, number][] = [
  [0x15, I32, 16], [0x16, I32, 16], [0x18, I32, 8], [0x19, I32, 8], [0x1b, I32, 4], [0x1d, I64, 2], [0x1f, F32, 4], [0x21, F64, 2],
];
/** v128 → i32: any_true, all_true and bitmask of each integer shape. */
export const VTEST = [0x53, 0x63, 0x64, 0x83, 0x84, 0xa3, 0xa4, 0xc3, 0xc4];
/** Loads: sub-opcode and bytes accessed (v128.load, the extending, splatting and zero-filling ones). */
export const VLOADS: [number, number][] = [
  [0x00, 16], [0x01, 8], [0x02, 8], [0x03, 8], [0x04, 8], [0x05, 8], [0x06, 8], [0x07, 1], [0x08, 2], [0x09, 4], [0x0a, 8], [0x5c, 4], [0x5d, 8],
];

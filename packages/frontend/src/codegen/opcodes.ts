/**
 * One row per opcode: what the validator checks and which code-generator path handles it
 * (STYLE: tables over branches). Numeric rows carry their operand and result types; the backend
 * receives the opcode itself and picks the instruction sequence.
 */
export const enum Cat {
  Illegal = 0,
  Unsupported, // valid WebAssembly the code generator does not handle yet
  Special, // handled by its own case in function.ts
  Unary, // a -> r
  Binary, // a a -> r
  Compare, // a a -> i32
  Test, // a -> i32 (eqz)
  Convert, // a -> r
  Load, // i32 -> r
  Store, // i32 a -> ()
}

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;

export const opCat = new Uint8Array(256);
export const opIn = new Uint8Array(256);
export const opOut = new Uint8Array(256);
/** log2 of the natural alignment of loads and stores. */
export const opAlign = new Uint8Array(256);
export const opName: string[] = new Array(256).fill('');
/** Feature that makes an unsupported opcode valid, for the error message. */
export const opFeature: string[] = new Array(256).fill('');

function row(op: number, name: string, cat: Cat, a = 0, r = 0, align = 0): void {
  opCat[op] = cat;
  opName[op] = name;
  opIn[op] = a;
  opOut[op] = r;
  opAlign[op] = align;
}

const specials: [number, string][] = [
  [0x00, 'unreachable'], [0x01, 'nop'], [0x02, 'block'], [0x03, 'loop'], [0x04, 'if'],
  [0x05, 'else'], [0x0b, 'end'], [0x0c, 'br'], [0x0d, 'br_if'], [0x0e, 'br_table'],
  [0x0f, 'return'], [0x10, 'call'], [0x11, 'call_indirect'], [0x1a, 'drop'], [0x1b, 'select'],
  [0x20, 'local.get'], [0x21, 'local.set'], [0x22, 'local.tee'], [0x23, 'global.get'],
  [0x24, 'global.set'], [0x1c, 'select t'], [0x25, 'table.get'], [0x26, 'table.set'],
  [0xd0, 'ref.null'], [0xd1, 'ref.is_null'], [0xd2, 'ref.func'], [0x3f, 'memory.size'], [0x40, 'memory.grow'], [0x41, 'i32.const'],
  [0x42, 'i64.const'], [0x43, 'f32.const'], [0x44, 'f64.const'], [0xfc, 'prefix 0xfc'],
];
for (const [op, name] of specials) row(op, name, Cat.Special);

const unsupported: [number, string, string][] = [
  [0x12, 'return_call', 'tail-call'], [0x13, 'return_call_indirect', 'tail-call'],
  [0x06, 'try', 'exception-handling'], [0x08, 'throw', 'exception-handling'],
  [0xfd, 'prefix 0xfd', 'simd'],
];
for (const [op, name, feature] of unsupported) {
  row(op, name, Cat.Unsupported);
  opFeature[op] = feature;
}

const loads: [number, string, number, number][] = [
  [0x28, 'i32.load', I32, 2], [0x29, 'i64.load', I64, 3], [0x2a, 'f32.load', F32, 2],
  [0x2b, 'f64.load', F64, 3], [0x2c, 'i32.load8_s', I32, 0], [0x2d, 'i32.load8_u', I32, 0],
  [0x2e, 'i32.load16_s', I32, 1], [0x2f, 'i32.load16_u', I32, 1], [0x30, 'i64.load8_s', I64, 0],
  [0x31, 'i64.load8_u', I64, 0], [0x32, 'i64.load16_s', I64, 1], [0x33, 'i64.load16_u', I64, 1],
  [0x34, 'i64.load32_s', I64, 2], [0x35, 'i64.load32_u', I64, 2],
];
for (const [op, name, t, al] of loads) row(op, name, Cat.Load, I32, t, al);
const stores: [number, string, number, number][] = [
  [0x36, 'i32.store', I32, 2], [0x37, 'i64.store', I64, 3], [0x38, 'f32.store', F32, 2],
  [0x39, 'f64.store', F64, 3], [0x3a, 'i32.store8', I32, 0], [0x3b, 'i32.store16', I32, 1],
  [0x3c, 'i64.store8', I64, 0], [0x3d, 'i64.store16', I64, 1], [0x3e, 'i64.store32', I64, 2],
];
for (const [op, name, t, al] of stores) row(op, name, Cat.Store, t, 0, al);

function group(first: number, cat: Cat, a: number, r: number, names: string): void {
  names.split(' ').forEach((n, k) => row(first + k, n, cat, a, r));
}
row(0x45, 'i32.eqz', Cat.Test, I32, I32);
group(0x46, Cat.Compare, I32, I32, 'i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s i32.ge_u');
row(0x50, 'i64.eqz', Cat.Test, I64, I32);
group(0x51, Cat.Compare, I64, I32, 'i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u i64.ge_s i64.ge_u');
group(0x5b, Cat.Compare, F32, I32, 'f32.eq f32.ne f32.lt f32.gt f32.le f32.ge');
group(0x61, Cat.Compare, F64, I32, 'f64.eq f64.ne f64.lt f64.gt f64.le f64.ge');
group(0x67, Cat.Unary, I32, I32, 'i32.clz i32.ctz i32.popcnt');
group(0x6a, Cat.Binary, I32, I32, 'i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u i32.and i32.or i32.xor i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr');
group(0x79, Cat.Unary, I64, I64, 'i64.clz i64.ctz i64.popcnt');
group(0x7c, Cat.Binary, I64, I64, 'i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u i64.and i64.or i64.xor i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr');
group(0x8b, Cat.Unary, F32, F32, 'f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt');
group(0x92, Cat.Binary, F32, F32, 'f32.add f32.sub f32.mul f32.div f32.min f32.max f32.copysign');
group(0x99, Cat.Unary, F64, F64, 'f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt');
group(0xa0, Cat.Binary, F64, F64, 'f64.add f64.sub f64.mul f64.div f64.min f64.max f64.copysign');
const converts: [number, string, number, number][] = [
  [0xa7, 'i32.wrap_i64', I64, I32], [0xa8, 'i32.trunc_f32_s', F32, I32], [0xa9, 'i32.trunc_f32_u', F32, I32],
  [0xaa, 'i32.trunc_f64_s', F64, I32], [0xab, 'i32.trunc_f64_u', F64, I32],
  [0xac, 'i64.extend_i32_s', I32, I64], [0xad, 'i64.extend_i32_u', I32, I64],
  [0xae, 'i64.trunc_f32_s', F32, I64], [0xaf, 'i64.trunc_f32_u', F32, I64],
  [0xb0, 'i64.trunc_f64_s', F64, I64], [0xb1, 'i64.trunc_f64_u', F64, I64],
  [0xb2, 'f32.convert_i32_s', I32, F32], [0xb3, 'f32.convert_i32_u', I32, F32],
  [0xb4, 'f32.convert_i64_s', I64, F32], [0xb5, 'f32.convert_i64_u', I64, F32],
  [0xb6, 'f32.demote_f64', F64, F32], [0xb7, 'f64.convert_i32_s', I32, F64],
  [0xb8, 'f64.convert_i32_u', I32, F64], [0xb9, 'f64.convert_i64_s', I64, F64],
  [0xba, 'f64.convert_i64_u', I64, F64], [0xbb, 'f64.promote_f32', F32, F64],
  [0xbc, 'i32.reinterpret_f32', F32, I32], [0xbd, 'i64.reinterpret_f64', F64, I64],
  [0xbe, 'f32.reinterpret_i32', I32, F32], [0xbf, 'f64.reinterpret_i64', I64, F64],
  [0xc0, 'i32.extend8_s', I32, I32], [0xc1, 'i32.extend16_s', I32, I32],
  [0xc2, 'i64.extend8_s', I64, I64], [0xc3, 'i64.extend16_s', I64, I64], [0xc4, 'i64.extend32_s', I64, I64],
];
for (const [op, name, a, r] of converts) row(op, name, Cat.Convert, a, r);

/** 0xFC-prefixed opcodes: 0–7 saturating truncation (converted like 0xa8.., flag in bit 8). */
export const SAT_BASE = 0x100;
export const satIn = [F32, F32, F64, F64, F32, F32, F64, F64];
export const satOut = [I32, I32, I32, I32, I64, I64, I64, I64];
export const fcNames = [
  'i32.trunc_sat_f32_s', 'i32.trunc_sat_f32_u', 'i32.trunc_sat_f64_s', 'i32.trunc_sat_f64_u',
  'i64.trunc_sat_f32_s', 'i64.trunc_sat_f32_u', 'i64.trunc_sat_f64_s', 'i64.trunc_sat_f64_u',
  'memory.init', 'data.drop', 'memory.copy', 'memory.fill', 'table.init', 'elem.drop',
  'table.copy', 'table.grow', 'table.size', 'table.fill',
];

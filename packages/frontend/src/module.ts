/**
 * The decoded module: everything but function bodies, which stay as byte ranges into the input
 * so the code generator reads each opcode exactly once (ARCHITECTURE §1).
 */

/** Value types, by their binary encoding. */
export const enum ValType {
  I32 = 0x7f,
  I64 = 0x7e,
  F32 = 0x7d,
  F64 = 0x7c,
  V128 = 0x7b,
  FuncRef = 0x70,
  ExternRef = 0x6f,
}

export interface FuncType {
  params: Uint8Array; // ValType codes
  results: Uint8Array;
}

export interface Limits {
  min: number;
  max: number | null;
}

export interface TableType {
  elemType: number; // ValType.FuncRef | ValType.ExternRef
  limits: Limits;
}

export interface GlobalType {
  type: number; // ValType
  mutable: boolean;
}

/**
 * A constant expression, decoded: wasm 1.0/2.0 allow exactly one value-producing instruction
 * (t.const, global.get, ref.null, ref.func) followed by `end`.
 */
export type ConstExpr =
  | { kind: 'i32'; value: number }
  | { kind: 'i64'; value: bigint }
  | { kind: 'f32'; bits: number } // raw IEEE bits, NaN payloads preserved
  | { kind: 'f64'; bits: bigint }
  | { kind: 'v128'; bits: bigint } // the 16 bytes as one unsigned integer, byte 0 least significant
  | { kind: 'global'; index: number }
  | { kind: 'refnull'; type: number }
  | { kind: 'reffunc'; index: number };

export type ImportDesc =
  | { kind: 'func'; typeIndex: number }
  | { kind: 'table'; type: TableType }
  | { kind: 'memory'; limits: Limits }
  | { kind: 'global'; type: GlobalType };

export interface Import {
  module: string;
  name: string;
  desc: ImportDesc;
}

export interface Export {
  name: string;
  kind: 'func' | 'table' | 'memory' | 'global';
  index: number;
}

export interface Global {
  type: GlobalType;
  init: ConstExpr;
}

export interface ElemSegment {
  mode: 'active' | 'passive' | 'declarative';
  table: number;
  offset: ConstExpr | null; // active only
  elemType: number;
  /** Each element as a constant expression (function indices become reffunc). */
  init: ConstExpr[];
}

export interface DataSegment {
  mode: 'active' | 'passive';
  memory: number;
  offset: ConstExpr | null;
  /** Byte range of the segment's contents in the module bytes. */
  start: number;
  end: number;
}

export interface FunctionBody {
  /** Byte offset of the body's first byte (its local declarations) in the module. */
  start: number;
  /** Byte offset just past the body's final `end`. */
  end: number;
}

export interface CustomSection {
  name: string;
  start: number; // contents, after the name
  end: number;
}

export interface Module {
  bytes: Uint8Array;
  types: FuncType[];
  imports: Import[];
  /** Type index of each function defined in the module (not imports). */
  functions: number[];
  tables: TableType[];
  memories: Limits[];
  globals: Global[];
  exports: Export[];
  start: number | null;
  elements: ElemSegment[];
  data: DataSegment[];
  dataCount: number | null;
  bodies: FunctionBody[];
  customs: CustomSection[];
  /** From the `name` custom section when present and well-formed (it is never an error). */
  names: { module: string | null; functions: Map<number, string> };
  /** Counts of imports per kind, for index-space arithmetic. */
  importedFuncs: number;
  importedTables: number;
  importedMemories: number;
  importedGlobals: number;
}

import { CompileError } from './errors';

/**
 * Compiler limits (docs/ARCHITECTURE.md, "Compiler limits", has the table and the reasons). A
 * module past one is refused with a CompileError, before anything is allocated per item, instead
 * of exhausting the compiler's memory, overflowing a 32-bit field of the image or producing an
 * image the loader cannot map. The module-level ones are V8's (src/wasm/wasm-limits.h), which the
 * engines agreed on; the others bound what one function or one image may make the compiler build.
 */
export const LIMITS = {
  /** Bytes of the input module. */
  moduleSize: 1024 * 1024 * 1024,
  types: 1_000_000,
  /** Parameters, and results, of one function type. */
  params: 1000,
  results: 1000,
  imports: 100_000,
  /** Imported and defined together. */
  functions: 1_000_000,
  /** Imported and defined together. */
  tables: 100_000,
  /** Imported and defined together (more than one is invalid anyway: no multi-memory). */
  memories: 100_000,
  /** Initial size of a table, in entries (each takes 8 bytes of the image and the instance). */
  tableSize: 10_000_000,
  /** The spec's own limit for 32-bit memories (4 GiB); more is invalid, not a compiler limit. */
  memoryPages: 65536,
  /** Imported and defined together. */
  globals: 1_000_000,
  exports: 100_000,
  elemSegments: 100_000,
  /** Elements of all element segments together. */
  elemEntries: 10_000_000,
  dataSegments: 100_000,
  /** Each is kept (start, end, name) for the snapshot writer: a 3-byte section must not cost 100. */
  customSections: 100_000,
  /** Bytes of an import, export or custom section name. */
  nameLength: 100_000,
  /** Bytes of one function body (locals declarations included). */
  bodySize: 7_654_321,
  /** Parameters and declared locals of one function together. */
  locals: 50_000,
  operandStack: 65_536,
  /** Control frames open at once, the function's own included. */
  nesting: 16_384,
  /** Targets of one br_table, the default not counted. */
  brTable: 1_048_576,
  /** Sites (calls, loops, entries) of the whole image, and their slot types. */
  sites: 4_194_304,
  siteSlots: 134_217_728,
  /** Bytes of machine code of the whole image (stubs and the function table included). */
  codeSize: 1024 * 1024 * 1024,
  /**
   * Bytes of the image file, holes included (memory pages sit 64 KiB apart: a module of one-byte
   * data segments on distinct pages makes 64 KiB of image per segment, which the writer keeps as
   * holes but whose offsets still count). `wagc --max-image-size` lowers it.
   */
  imageSize: 2 * 1024 * 1024 * 1024,
} as const;

/** "too many X: n, more than the compiler limit of L" (the reason starts as the spec's would). */
export function overLimit(what: string, n: number, limit: number, offset: number, funcIndex = -1, section?: string): CompileError {
  return new CompileError(`${what}: ${n}, more than the compiler limit of ${limit}`, offset, funcIndex, section);
}

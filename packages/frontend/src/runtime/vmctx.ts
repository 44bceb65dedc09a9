/**
 * The contract between generated code, the linker and the loader: vmctx field offsets, trap ids,
 * host call ids. docs/ARCHITECTURE.md explains them; packages/loader-c/src/abi.h mirrors them and a
 * test keeps the two equal.
 */
export const VMCTX = {
  stackLimit: 0,
  memoryBase: 8,
  memoryPages: 16,
  memoryMaxPages: 20,
  textBase: 24,
  hostRsp: 32,
  fnHostcall: 40,
  fnTrap: 48,
  fnGrow: 56,
  fnCheck: 64,
  tableBase: 72,
  tableSize: 80,
  tableMax: 84,
  resultInt: 88,
  resultFloat: 96,
  stackTop: 104,
  suspendRequested: 112,
  fnTable: 120,
  resultVector: 128,
  globals: 144,
} as const;

/**
 * A memory or table descriptor in vmctx: u64 base (memory base / table entries), u32 current size
 * (pages / entries), u32 maximum. An ordinary image's memory 0 and table 0 are the descriptors at
 * VMCTX.memoryBase and VMCTX.tableBase; a store image's follow the globals, DESC.bytes apart
 * (docs/ARCHITECTURE.md, "Several instances"). Generated code addresses fields as desc + DESC.x.
 */
export const DESC = { base: 0, size: 8, max: 12, bytes: 16 } as const;

export const enum Trap {
  Unreachable = 1,
  IntegerDivideByZero = 2,
  IntegerOverflow = 3,
  InvalidConversion = 4,
  OutOfBoundsMemory = 5,
  UndefinedElement = 6,
  UninitializedElement = 7,
  IndirectCallTypeMismatch = 8,
  CallStackExhausted = 9,
  OutOfBoundsTable = 10,
  Suspended = 11,
  Exit = 12,
  /** A call of an import nothing links (`wagc --trap-unknown-imports`): its stub traps. */
  UnknownImport = 13,
}

export const TRAP_COUNT = 14;

/**
 * Table operations done by the loader routine `vmctx.fnTable` (docs/ARCHITECTURE.md, "Tables"):
 * `uint64_t table(op, uint64_t *operands, a, b, vmctx)`. `operands` is the home slot of the
 * first operand; the next ones are 8 bytes below it (the frame's operand stack grows down).
 */
export const enum TableOp {
  Get = 1, // (index) -> ref; a = table
  Set = 2, // (index, ref); a = table
  Size = 3, // () -> i32; a = table
  Grow = 4, // (ref, n) -> i32 old size or -1; a = table
  Fill = 5, // (index, ref, n); a = table
  Copy = 6, // (dst, src, n); a = destination table, b = source table
  Init = 7, // (dst, src, n); a = table, b = element segment
  ElemDrop = 8, // (); b = element segment
}

/** What `fnTable` returns for "out of bounds table access" (an externref handle is never ~0). */
export const TABLE_OP_TRAP = 0xffffffffffffffffn;

/**
 * CPU features beyond baseline x86-64 that generated code may use, as bits of the image's Meta
 * `cpu_features` word (docs/image-format.md). The compiler uses one only when asked
 * (`wagc --cpu-features`), the image records those its code really uses, and the loader refuses
 * an image that needs one the CPU lacks (or a bit it does not know) instead of dying of SIGILL.
 */
export const CPU_FEATURE = {
  /** POPCNT (CPUID.01H:ECX.POPCNT[bit 23]): i32/i64.popcnt. */
  popcnt: 1,
  /** LZCNT (CPUID.80000001H:ECX.LZCNT[bit 5], /proc/cpuinfo "abm"): i32/i64.clz. */
  lzcnt: 2,
  /** BMI1 (CPUID.(EAX=07H,ECX=0):EBX.BMI1[bit 3]), for TZCNT: i32/i64.ctz. */
  bmi1: 4,
  /**
   * SSE4.1 with SSE3 and SSSE3 (CPUID.01H:ECX bits 19, 9, 0): SIMD and the scalar float rounding
   * (roundss/roundsd). The x86-64 baseline for that code, as V8's: always allowed, and recorded
   * where the code uses it (docs/ARCHITECTURE.md, "CPU features").
   */
  sse4_1: 8,
  /**
   * AVX (CPUID.01H:ECX.AVX[bit 28], with OSXSAVE[bit 27] and XCR0 saving the xmm and ymm state):
   * the VEX three-operand forms of the SIMD operations done by one instruction, so the result
   * needs no copy of its first operand (docs/ARCHITECTURE.md, "CPU features").
   */
  avx: 16,
} as const;

export type CpuFeatureName = keyof typeof CPU_FEATURE;

/** Every bit of CPU_FEATURE. */
export const CPU_FEATURES_KNOWN = CPU_FEATURE.popcnt | CPU_FEATURE.lzcnt | CPU_FEATURE.bmi1 | CPU_FEATURE.sse4_1 | CPU_FEATURE.avx;

/** The features a compile may opt into (`wagc --cpu-features`); sse4_1 is not optional: always allowed. */
export const OPTIONAL_CPU_FEATURES: readonly CpuFeatureName[] = ['popcnt', 'lzcnt', 'bmi1', 'avx'];
export const CPU_FEATURES_OPTIONAL = CPU_FEATURE.popcnt | CPU_FEATURE.lzcnt | CPU_FEATURE.bmi1 | CPU_FEATURE.avx;

export const TRAP_MESSAGES: readonly string[] = [
  '',
  'unreachable',
  'integer divide by zero',
  'integer overflow',
  'invalid conversion to integer',
  'out of bounds memory access',
  'undefined element',
  'uninitialized element',
  'indirect call type mismatch',
  'call stack exhausted',
  'out of bounds table access',
  'suspended',
  'exit',
  'unknown import',
];

/** Loader routines reachable from the runtime library as imports of module `gate`. */
export const HOSTCALLS: readonly { name: string; id: number; params: number[]; results: number[] }[] = [
  { name: 'exit', id: 0, params: [0x7f], results: [] },
  { name: 'write', id: 1, params: [0x7f, 0x7f, 0x7f], results: [0x7f] },
  { name: 'read', id: 2, params: [0x7f, 0x7f, 0x7f], results: [0x7f] },
  { name: 'args_sizes', id: 3, params: [0x7f], results: [0x7e] },
  { name: 'args_get', id: 4, params: [0x7f, 0x7f, 0x7f], results: [0x7f] },
  { name: 'clock_time', id: 5, params: [0x7f], results: [0x7e] },
  { name: 'clock_res', id: 6, params: [0x7f], results: [0x7e] },
  { name: 'random', id: 7, params: [0x7f, 0x7f], results: [0x7f] },
  { name: 'poll', id: 8, params: [0x7f, 0x7e], results: [0x7e] },
  { name: 'fd_stat', id: 9, params: [0x7f], results: [0x7e] },
  { name: 'close', id: 10, params: [0x7f], results: [0x7f] },
  { name: 'sched_yield', id: 11, params: [], results: [] },
  // files (--dir preopens; docs/ARCHITECTURE.md, "Host calls")
  { name: 'prestat', id: 12, params: [0x7f], results: [0x7e] },
  { name: 'prestat_name', id: 13, params: [0x7f, 0x7f, 0x7f], results: [0x7f] },
  { name: 'path_open', id: 14, params: [0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f], results: [0x7f] },
  { name: 'seek', id: 15, params: [0x7f, 0x7e, 0x7f], results: [0x7e] },
  { name: 'filestat', id: 16, params: [0x7f, 0x7f], results: [0x7f] },
  { name: 'path_filestat', id: 17, params: [0x7f, 0x7f, 0x7f, 0x7f, 0x7f], results: [0x7f] },
  { name: 'readdir', id: 18, params: [0x7f, 0x7f, 0x7f, 0x7e], results: [0x7f] },
  { name: 'path_op', id: 19, params: [0x7f, 0x7f, 0x7f, 0x7f], results: [0x7f] },
  { name: 'rename', id: 20, params: [0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f], results: [0x7f] },
  { name: 'sync', id: 21, params: [0x7f, 0x7f], results: [0x7f] },
  { name: 'truncate', id: 22, params: [0x7f, 0x7e], results: [0x7f] },
];

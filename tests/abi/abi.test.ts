/**
 * The C loader and the TypeScript compiler share a contract (docs/ARCHITECTURE.md,
 * docs/image-format.md): vmctx offsets, trap ids and messages, host call ids, image constants and
 * entry layouts, exit statuses. C keeps them in packages/loader-c/src/{abi.h,gate.h,trap.c,...},
 * TypeScript in packages/frontend/src/runtime/vmctx.ts and packages/linker/src/image/format.ts.
 * This test parses the C side and fails on any drift.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { CPU_FEATURE, CPU_FEATURES_KNOWN, DESC, HOSTCALLS, TABLE_OP_TRAP, TRAP_COUNT, TRAP_MESSAGES, TableOp, Trap, VMCTX } from '@wagc/frontend';
import { ARCH_TAG, EXPORT_ENTRY, FUNC_ENTRY, MAGIC, META_FIXED, NONE, SITE_ENTRY, VERSION, readImage, siteTable, writeImage, type ImageInput } from '@wagc/linker';

const SRC = join(__dirname, '..', '..', 'packages', 'loader-c', 'src');
const source = (file: string): string => readFileSync(join(SRC, file), 'utf8');

/** C source without comments (string literals here contain no comment markers). */
function stripComments(c: string): string {
  return c.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, '');
}

/** An integer literal as C writes it (decimal/hex/octal, u/l suffixes, parentheses). */
function cInteger(text: string): number | null {
  let t = text.trim();
  while (t.startsWith('(') && t.endsWith(')')) t = t.slice(1, -1).trim();
  const m = /^(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)[uUlL]*$/.exec(t);
  if (!m) return null;
  const digits = m[2];
  const v = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits[0] === '0' ? parseInt(digits, 8) : parseInt(digits, 10);
  return m[1] ? -v : v;
}

/** Every `#define NAME [value]` of a header; value null when there is none (include guards). */
function defines(file: string): Map<string, { text: string; value: number | null }> {
  const out = new Map<string, { text: string; value: number | null }>();
  for (const line of stripComments(source(file)).split('\n')) {
    const m = /^\s*#\s*define\s+([A-Za-z_]\w*)(\([^)]*\))?(?:\s+(.*?))?\s*$/.exec(line);
    if (!m) continue;
    if (m[2]) throw new Error(`${file}: function-like macro ${m[1]}: teach tests/abi/abi.test.ts about it`);
    const text = (m[3] ?? '').trim();
    out.set(m[1], { text, value: text === '' ? null : cInteger(text) });
  }
  return out;
}

const abi = defines('abi.h');

/**
 * abi.h constants with no TypeScript counterpart, each with the reason. Anything in abi.h that is
 * neither compared below nor listed here fails the test.
 */
const NO_TS_COUNTERPART: Record<string, string> = {
  GATE_ABI_H: 'include guard, not a value',
};

/** C name -> TS value, for every abi.h constant the TypeScript side also has. */
function tsCounterparts(): Map<string, number> {
  const ts = new Map<string, number>();
  // VMCTX_FOO_BAR <-> VMCTX.fooBar, both directions checked below
  for (const [key, off] of Object.entries(VMCTX)) ts.set(`VMCTX_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`, off);
  // trap ids: spelled out, so this also type-checks against the const enum
  const traps: Record<string, number> = {
    TRAP_UNREACHABLE: Trap.Unreachable,
    TRAP_INTEGER_DIVIDE_BY_ZERO: Trap.IntegerDivideByZero,
    TRAP_INTEGER_OVERFLOW: Trap.IntegerOverflow,
    TRAP_INVALID_CONVERSION: Trap.InvalidConversion,
    TRAP_OUT_OF_BOUNDS_MEMORY: Trap.OutOfBoundsMemory,
    TRAP_UNDEFINED_ELEMENT: Trap.UndefinedElement,
    TRAP_UNINITIALIZED_ELEMENT: Trap.UninitializedElement,
    TRAP_INDIRECT_CALL_TYPE_MISMATCH: Trap.IndirectCallTypeMismatch,
    TRAP_CALL_STACK_EXHAUSTED: Trap.CallStackExhausted,
    TRAP_OUT_OF_BOUNDS_TABLE: Trap.OutOfBoundsTable,
    TRAP_SUSPENDED: Trap.Suspended,
    TRAP_EXIT: Trap.Exit,
    TRAP_UNKNOWN_IMPORT: Trap.UnknownImport,
  };
  for (const [name, id] of Object.entries(traps)) ts.set(name, id);
  ts.set('TRAP_COUNT', TRAP_COUNT);
  // table routine operations (vmctx.fnTable), spelled out like the trap ids
  const tableOps: Record<string, number> = {
    TABLE_OP_GET: TableOp.Get,
    TABLE_OP_SET: TableOp.Set,
    TABLE_OP_SIZE: TableOp.Size,
    TABLE_OP_GROW: TableOp.Grow,
    TABLE_OP_FILL: TableOp.Fill,
    TABLE_OP_COPY: TableOp.Copy,
    TABLE_OP_INIT: TableOp.Init,
    TABLE_OP_ELEM_DROP: TableOp.ElemDrop,
  };
  for (const [name, op] of Object.entries(tableOps)) ts.set(name, op);
  // all ones: cInteger gives a double, so compare the same rounding of both (the test below
  // checks the C text exactly)
  ts.set('TABLE_OP_TRAP', Number(TABLE_OP_TRAP));
  // HOSTCALL_FOO <-> HOSTCALLS entry named "foo"
  for (const h of HOSTCALLS) ts.set(`HOSTCALL_${h.name.toUpperCase()}`, h.id);
  // CPU_FEATURE_FOO <-> CPU_FEATURE.foo
  for (const [name, bit] of Object.entries(CPU_FEATURE)) ts.set(`CPU_FEATURE_${name.toUpperCase()}`, bit);
  return ts;
}

describe('abi.h and the TypeScript side agree', () => {
  const ts = tsCounterparts();

  test('abi.h parses: every define is an integer (or a valueless guard)', () => {
    expect(abi.size).toBeGreaterThan(30);
    for (const [name, d] of abi) {
      if (d.text === '') expect(NO_TS_COUNTERPART[name]).toBeDefined();
      else if (d.value === null) throw new Error(`abi.h: cannot parse ${name} = ${d.text}`);
    }
  });

  test('every abi.h constant is compared or explicitly allow-listed', () => {
    const unmatched = [...abi.keys()].filter((n) => !ts.has(n) && !(n in NO_TS_COUNTERPART));
    expect(unmatched).toEqual([]);
  });

  test('the allow-list is not stale', () => {
    for (const name of Object.keys(NO_TS_COUNTERPART)) {
      expect(abi.has(name)).toBe(true);
      expect(ts.has(name)).toBe(false);
    }
  });

  test('every TS constant of the contract exists in abi.h', () => {
    expect([...ts.keys()].filter((n) => !abi.has(n))).toEqual([]);
  });

  test.each([...abi.keys()].filter((n) => !(n in NO_TS_COUNTERPART)))('%s', (name) => {
    expect({ name, value: abi.get(name)!.value }).toEqual({ name, value: ts.get(name) });
  });
});

describe('contract consistency', () => {
  test('the table routine\'s trap value is all ones on both sides', () => {
    expect(abi.get('TABLE_OP_TRAP')!.text).toBe('0xffffffffffffffffull');
    expect(TABLE_OP_TRAP).toBe((1n << 64n) - 1n);
  });

  test('trap ids are exactly 1 .. TRAP_COUNT-1, and trap messages agree (trap.c vs vmctx.ts)', () => {
    const ids = [...abi].filter(([n]) => n.startsWith('TRAP_') && n !== 'TRAP_COUNT').map(([, d]) => d.value!).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: TRAP_COUNT - 1 }, (_, k) => k + 1));
    expect(TRAP_MESSAGES.length).toBe(TRAP_COUNT);

    const c = stripComments(source('trap.c'));
    const m = /trap_messages\s*\[\s*(\w+)\s*\]\s*=\s*\{([\s\S]*?)\}\s*;/.exec(c);
    if (!m) throw new Error('trap.c: trap_messages[] not found');
    expect(m[1]).toBe('TRAP_COUNT');
    const messages = [...m[2].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((s) => JSON.parse(`"${s[1]}"`) as string);
    expect(messages).toEqual([...TRAP_MESSAGES]);
  });

  test('CPU feature bits are distinct single bits, and the loader names them in bit order', () => {
    const bits = Object.values(CPU_FEATURE);
    expect(bits.reduce((a, b) => a | b, 0)).toBe(CPU_FEATURES_KNOWN);
    for (const [k, bit] of bits.entries()) expect(bit).toBe(1 << k);
    const c = stripComments(source('arch_x86_64.c'));
    const m = /feature_names\[\]\s*=\s*\{([^}]*)\}/.exec(c);
    if (!m) throw new Error('arch_x86_64.c: feature_names[] not found');
    expect([...m[1].matchAll(/"([^"]*)"/g)].map((s) => s[1])).toEqual(Object.keys(CPU_FEATURE));
  });

  test('memory and table descriptors: DESC is the layout of vmctx memory 0 and table 0, and store.c reads it so', () => {
    expect(VMCTX.memoryBase + DESC.size).toBe(VMCTX.memoryPages);
    expect(VMCTX.memoryBase + DESC.max).toBe(VMCTX.memoryMaxPages);
    expect(VMCTX.tableBase + DESC.size).toBe(VMCTX.tableSize);
    expect(VMCTX.tableBase + DESC.max).toBe(VMCTX.tableMax);
    expect(DESC.max + 4).toBe(DESC.bytes);
    const c = stripComments(source('store.c'));
    const field = (macro: string): number => {
      const m = new RegExp(`#define\\s+${macro}\\(off\\)\\s+\\(\\*\\(uint\\d+_t \\*\\)\\(inst\\.vmctx \\+ \\(off\\)(?: \\+ (\\d+))?\\)\\)`).exec(c);
      if (!m) throw new Error(`store.c: ${macro} not found`);
      return m[1] ? Number(m[1]) : 0;
    };
    expect([field('DESC_BASE'), field('DESC_SIZE'), field('DESC_MAX')]).toEqual([DESC.base, DESC.size, DESC.max]);
  });

  test('host call ids are distinct', () => {
    expect(new Set(HOSTCALLS.map((h) => h.id)).size).toBe(HOSTCALLS.length);
  });

  test('vmctx fields do not overlap and end before the globals', () => {
    const u32 = new Set(['memoryPages', 'memoryMaxPages', 'tableSize', 'tableMax']);
    const fields = Object.entries(VMCTX).filter(([k]) => k !== 'globals').map(([k, off]) => ({ k, off, size: u32.has(k) ? 4 : 8 })).sort((a, b) => a.off - b.off);
    for (let i = 0; i < fields.length; i++) {
      expect(fields[i].off % fields[i].size).toBe(0);
      if (i > 0) expect(fields[i].off).toBeGreaterThanOrEqual(fields[i - 1].off + fields[i - 1].size);
    }
    const last = fields[fields.length - 1];
    expect(VMCTX.globals).toBeGreaterThanOrEqual(last.off + last.size);
    expect(VMCTX.globals % 8).toBe(0);
  });

  test('exit statuses: gate.h vs the gate-run CLI', () => {
    // read from the source: importing @wagc/cli under jest needs esModuleInterop (chalk), which the
    // jest setup does not have
    const cli = readFileSync(join(__dirname, '..', '..', 'packages', 'cli', 'src', 'gate-run.ts'), 'utf8');
    const exported = (name: string): number => {
      const m = new RegExp(`export const ${name} = (\\d+);`).exec(cli);
      if (!m) throw new Error(`packages/cli/src/gate-run.ts: ${name} not found`);
      return Number(m[1]);
    };
    const gate = defines('gate.h');
    expect(gate.get('EXIT_TRAP')?.value).toBe(exported('EXIT_TRAP'));
    expect(gate.get('EXIT_BAD_IMAGE')?.value).toBe(exported('EXIT_USAGE'));
  });
});

describe('image format: the loader reads what the writer writes', () => {
  /** The uint32_t fields of `typedef struct { ... } name;` in gate.h, in order. */
  function structFields(name: string): string[] {
    const c = stripComments(source('gate.h'));
    const m = new RegExp(`typedef\\s+struct\\s*\\{([^}]*)\\}\\s*${name}\\s*;`).exec(c);
    if (!m) throw new Error(`gate.h: struct ${name} not found`);
    const fields: string[] = [];
    for (const decl of m[1].split(';').map((d) => d.trim()).filter(Boolean)) {
      const d = /^uint32_t\s+(.*)$/.exec(decl);
      if (!d) throw new Error(`gate.h: ${name}: only uint32_t fields expected, got "${decl}"`);
      fields.push(...d[1].split(',').map((f) => f.trim()));
    }
    return fields;
  }

  test('entry sizes: gate.h structs vs format.ts', () => {
    expect(4 * structFields('func_entry').length).toBe(FUNC_ENTRY);
    expect(4 * structFields('site_entry').length).toBe(SITE_ENTRY);
    expect(4 * structFields('export_entry').length).toBe(EXPORT_ENTRY);
  });

  test('entry field order: raw entries read through the C struct layouts', () => {
    // distinct values everywhere, so a swapped field shows
    const input: ImageInput = {
      arch: 'x86-64',
      text: new Uint8Array(4000),
      stubs: { entry: 12 },
      functions: [
        { name: 'pad', codeStart: 1, codeEnd: 2, frameSize: 3, paramCount: 4, wasmOffset: 5 },
        { name: 'fn', codeStart: 101, codeEnd: 202, frameSize: 303, paramCount: 404, wasmOffset: 505 },
      ],
      sites: siteTable([{ codeOffset: 1111, func: 1, site: 2222, fpOffset: 3333, slotTypes: Uint8Array.of(0x7f, 0x7e, 0x7d), wasmOffset: 4444 }]),
      exports: [{ name: 'export', kind: 'global', index: 77, params: Uint8Array.of(0x7c), results: Uint8Array.of(0x7e) }],
      starts: [1],
      memory: { initialPages: 21, maxPages: 22, pages: new Map() },
      globals: new Uint8Array(8),
      globalTypes: Uint8Array.of(0x7f),
      table: { initialSize: 1, maxSize: 31, entries: Uint32Array.of(1, 1) },
      instantiationTrap: 9,
      cpuFeatures: 6,
    };
    const b = writeImage(input);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const section = (kind: number): number => {
      for (let k = 0; k < dv.getUint32(20, true); k++) if (dv.getUint32(24 + 24 * k, true) === kind) return Number(dv.getBigUint64(24 + 24 * k + 8, true));
      throw new Error(`no section ${kind}`);
    };
    // section kinds as image.c asks for them (section(N, ...)), see docs/image-format.md
    const strings = section(5);
    const struct = (name: string, at: number): Record<string, number> =>
      Object.fromEntries(structFields(name).map((f, k) => [f, dv.getUint32(at + 4 * k, true)]));
    const str = (off: number, len: number): string => Buffer.from(b.subarray(strings + off, strings + off + len)).toString('utf8');

    const f = struct('func_entry', section(2) + 4 + FUNC_ENTRY);
    expect(f).toMatchObject({ code_start: 101, code_end: 202, frame_size: 303, param_count: 404, wasm_offset: 505 });
    expect(str(f.name_off, f.name_len)).toBe('fn');

    const s = struct('site_entry', section(3) + 4);
    expect(s).toMatchObject({ code_offset: 1111, func: 1, site: 2222, fp_offset: 3333, wasm_offset: 4444, slot_count: 3 });
    expect(Array.from(b.subarray(strings + s.types_off, strings + s.types_off + 3))).toEqual([0x7f, 0x7e, 0x7d]);

    const meta = section(4);
    // image.c reads the fixed metadata as 12 u32 in this order
    const fixed = ['entry_stub', 'instantiation_trap', 'has_memory', 'memory_initial', 'memory_max', 'has_table', 'table_initial', 'table_max', 'nglobals', 'nstarts', 'nexports', 'cpu_features'];
    expect(4 * fixed.length).toBe(META_FIXED);
    expect(Object.fromEntries(fixed.map((n, k) => [n, dv.getUint32(meta + 4 * k, true)]))).toEqual({
      entry_stub: 12, instantiation_trap: 9, has_memory: 1, memory_initial: 21, memory_max: 22, has_table: 1, table_initial: 1, table_max: 31, nglobals: 1, nstarts: 1, nexports: 1, cpu_features: 6,
    });
    expect(dv.getUint32(meta + META_FIXED, true)).toBe(1); // starts[0]
    const e = struct('export_entry', meta + META_FIXED + 4);
    expect(e).toMatchObject({ kind: 1, index: 77, param_count: 1, result_count: 1 });
    expect(str(e.name_off, e.name_len)).toBe('export');
    // main.c reads the result type at types[param_count]
    expect(b[strings + e.types_off + e.param_count]).toBe(0x7e);
    expect(readImage(b).exports[0].results).toEqual(Uint8Array.of(0x7e));
  });

  test('literals in the loader: magic, version, arch tag, trap bound, NONE', () => {
    const image = stripComments(source('image.c'));
    const magic = /memcmp\(img\.file,\s*"((?:[^"\\]|\\.)*)",\s*8\)/.exec(image);
    if (!magic) throw new Error('image.c: magic check not found');
    expect(magic[1].replace(/\\0/g, '\0')).toBe(MAGIC);
    const version = /rd32\(img\.file \+ 8\)\s*!=\s*(\w+)/.exec(image);
    if (!version) throw new Error('image.c: version check not found');
    expect(cInteger(version[1])).toBe(VERSION);
    // an instantiation trap is a trap (1 … out of bounds table access), not a suspension or an exit
    const bound = /instantiation_trap\s*>\s*(\w+)/.exec(image);
    if (!bound) throw new Error('image.c: instantiation trap bound not found');
    expect(bound[1]).toBe('TRAP_OUT_OF_BOUNDS_TABLE');
    expect(TRAP_COUNT).toBe(14);
    expect(image).toContain('memory_max != 0xffffffffu');
    // the fixed metadata: its size, and cpu_features as its last word
    expect(cInteger(/size\s*<\s*(\w+)\)\s*return bad\("no metadata"\)/.exec(image)?.[1] ?? '')).toBe(META_FIXED);
    expect(cInteger(/img\.cpu_features = rd32\(p \+ (\w+)\)/.exec(image)?.[1] ?? '')).toBe(META_FIXED - 4);
    expect(NONE).toBe(0xffffffff);
    // each build of the loader runs only images of its own arch (gate.h: LOADER_ARCH)
    const main = stripComments(source('main.c'));
    const arch = /img\.arch\s*!=\s*(\w+)/.exec(main);
    if (!arch) throw new Error('main.c: arch check not found');
    expect(arch[1]).toBe('LOADER_ARCH');
    const gate = defines('gate.h');
    expect(gate.get('IMAGE_ARCH_X86_64')?.value).toBe(ARCH_TAG['x86-64']);
    expect(gate.get('IMAGE_ARCH_ARM64')?.value).toBe(ARCH_TAG.arm64);
    const gateSrc = stripComments(source('gate.h'));
    for (const [macro, tag] of [['__x86_64__', 'IMAGE_ARCH_X86_64'], ['__aarch64__', 'IMAGE_ARCH_ARM64']]) {
      const m = new RegExp(`defined\\(${macro}\\)\\s*#\\s*define\\s+LOADER_ARCH\\s+(\\w+)`).exec(gateSrc);
      if (!m) throw new Error(`gate.h: LOADER_ARCH for ${macro} not found`);
      expect(m[1]).toBe(tag);
    }
  });
});

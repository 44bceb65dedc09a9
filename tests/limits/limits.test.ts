/**
 * Compiler limits (LIMITS, docs/ARCHITECTURE.md "Compiler limits"): at each limit the module is
 * accepted where that is cheap to build, one past it is refused with a CompileError whose message
 * names the limit, the section or function, and the offset. Huge counts are refused from the
 * count alone, before anything is allocated per item. The modules are built here byte by byte.
 */
import { CompileError, CodeBuffer, LIMITS, decodeModule, validateModule } from '@wagc/frontend';
import { linkProgram } from '@wagc/linker';
import { A64Backend } from '@wagc/arm64';

// --- a small binary emitter ---------------------------------------------------------------------

type Bytes = Uint8Array | number[];

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function cat(...parts: Bytes[]): Uint8Array {
  return catList(parts);
}

function catList(parts: Bytes[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `n` copies of `unit`. */
function repeat(unit: Bytes, n: number): Uint8Array {
  const u = Uint8Array.from(unit);
  const out = new Uint8Array(u.length * n);
  if (u.length === 1) out.fill(u[0]);
  else for (let k = 0; k < n; k++) out.set(u, k * u.length);
  return out;
}

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const I32 = 0x7f;
const section = (id: number, ...contents: Bytes[]): Uint8Array => {
  const body = cat(...contents);
  return cat([id], leb(body.length), body);
};
const wasmModule = (...sections: Uint8Array[]): Uint8Array => cat(HEADER, ...sections);
const name = (s: string | number): Uint8Array => {
  const b = typeof s === 'string' ? new TextEncoder().encode(s) : repeat([0x61], s);
  return cat(leb(b.length), b);
};
const funcType = (params: number[], results: number[]): Uint8Array => cat([0x60], leb(params.length), params, leb(results.length), results);
/** Type section: `() -> ()` first, then the given types. */
const types = (...more: Uint8Array[]): Uint8Array => section(1, leb(1 + more.length), funcType([], []), ...more);
/** A function section of `n` functions of type `t`. */
const funcs = (n: number, t = 0): Uint8Array => section(3, leb(n), repeat(leb(t), n));
/** A code entry: local groups, then the instructions (the final `end` added). */
const body = (locals: [number, number][], code: Bytes): Uint8Array => {
  const b = cat(leb(locals.length), ...locals.map(([n, t]) => [...leb(n), t]), code, [0x0b]);
  return cat(leb(b.length), b);
};
const code = (...bodies: Uint8Array[]): Uint8Array => section(10, leb(bodies.length), ...bodies);
/** One function of type 0 with this body. */
const oneFunction = (locals: [number, number][], instrs: Bytes): Uint8Array => wasmModule(types(), funcs(1), code(body(locals, instrs)));
/** A section whose vector claims `count` items, with `count` filler bytes: enough to pass the length check, nothing more. */
const hugeVector = (id: number, count: number): Uint8Array => wasmModule(section(id, leb(count), new Uint8Array(count)));

// --- running them -------------------------------------------------------------------------------

const decode = (bytes: Uint8Array): void => validateModule(decodeModule(bytes));
const compile = (bytes: Uint8Array): void => void linkProgram({ modules: [{ name: 'main', bytes }], arch: 'x86-64', unresolved: 'trap' });

function refused(run: () => void): CompileError {
  try {
    run();
  } catch (e) {
    if (e instanceof CompileError) return e;
    throw e;
  }
  throw new Error('accepted');
}

/** The documented message: `<what>: <n>, more than the compiler limit of <limit> (in <where>, at offset N)`. */
function expectLimit(e: CompileError, what: string, n: number, limit: number, where: RegExp): void {
  expect(e.reason).toBe(`${what}: ${n}, more than the compiler limit of ${limit}`);
  expect(e.message.slice(e.reason.length)).toMatch(where);
}

const FAST_MS = 1000;
function timed<T>(run: () => T): T {
  const t = Date.now();
  const r = run();
  expect(Date.now() - t).toBeLessThan(FAST_MS);
  return r;
}

const inSection = (s: string): RegExp => new RegExp(`^ \\(in ${s} section, at offset \\d+\\)$`);
const inFunction = (f: number): RegExp => new RegExp(`^ \\(in code section, in function ${f}, at offset \\d+\\)$`);

// --- module-level limits ------------------------------------------------------------------------

describe('module-level limits', () => {
  test(`module size: ${LIMITS.moduleSize} bytes accepted, one more refused`, () => {
    // one custom section filling the rest; the pages of the zero-filled buffer are never touched
    const build = (total: number): Uint8Array => {
      const b = new Uint8Array(total);
      b.set(HEADER);
      const size = total - HEADER.length - 1 - 5;
      b.set([0x00, ...leb(size).concat(0x80, 0x80, 0x80, 0x80).slice(0, 5)], HEADER.length); // padded to 5 bytes
      b[HEADER.length + 1 + 4] &= 0x7f;
      return b;
    };
    const ok = build(LIMITS.moduleSize);
    expect(() => decode(ok)).not.toThrow();
    const e = timed(() => refused(() => decode(build(LIMITS.moduleSize + 1))));
    expect(e.reason).toBe(`module too large (bytes): ${LIMITS.moduleSize + 1}, more than the compiler limit of ${LIMITS.moduleSize}`);
  });

  test('types: 1,000,000 accepted, one more refused from the count', () => {
    expect(() => decode(wasmModule(section(1, leb(LIMITS.types), repeat(funcType([], []), LIMITS.types))))).not.toThrow();
    expectLimit(timed(() => refused(() => decode(hugeVector(1, LIMITS.types + 1)))), 'too many types', LIMITS.types + 1, LIMITS.types, inSection('type'));
  });

  test('parameters and results: 1000 each accepted, 1001 refused', () => {
    const many = (n: number): number[] => Array(n).fill(I32);
    expect(() => decode(wasmModule(types(funcType(many(1000), many(1000)))))).not.toThrow();
    expectLimit(refused(() => decode(wasmModule(types(funcType(many(1001), []))))), 'too many parameters', 1001, 1000, inSection('type'));
    expectLimit(refused(() => decode(wasmModule(types(funcType([], many(1001)))))), 'too many results', 1001, 1000, inSection('type'));
  });

  test('imports: 100,000 accepted, one more refused', () => {
    const imp = cat(name('m'), name('f'), [0x00, 0x00]);
    expect(() => decode(wasmModule(types(), section(2, leb(LIMITS.imports), repeat(imp, LIMITS.imports))))).not.toThrow();
    expectLimit(timed(() => refused(() => decode(hugeVector(2, LIMITS.imports + 1)))), 'too many imports', LIMITS.imports + 1, LIMITS.imports, inSection('import'));
  });

  test('functions: 1,000,000 accepted by the decoder; one more refused from the count, imports included', () => {
    const n = LIMITS.functions;
    expect(() => decode(wasmModule(types(), funcs(n), section(10, leb(n), repeat([0x02, 0x00, 0x0b], n))))).not.toThrow();
    const what = 'too many functions (imported and defined)';
    expectLimit(timed(() => refused(() => decode(wasmModule(types(), funcs(n + 1))))), what, n + 1, n, inSection('function'));
    // one imported function and a million defined
    const imp = section(2, leb(1), name('m'), name('f'), [0x00, 0x00]);
    expectLimit(timed(() => refused(() => decode(wasmModule(types(), imp, funcs(n))))), what, n + 1, n, inSection('function'));
    // the code section's count too
    expectLimit(timed(() => refused(() => decode(hugeVector(10, n + 1)))), what, n + 1, n, inSection('code'));
  });

  test('tables: one more than 100,000 refused from the count', () => {
    expectLimit(timed(() => refused(() => decode(hugeVector(4, LIMITS.tables + 1)))), 'too many tables (imported and defined)', LIMITS.tables + 1, LIMITS.tables, inSection('table'));
  });

  test('table size: 10,000,000 entries compile, one more refused (the spec allows 2^32 - 1: a compiler limit)', () => {
    const table = (min: number): Uint8Array => wasmModule(section(4, leb(1), [0x70, 0x00], leb(min)));
    const t = Date.now();
    expect(() => compile(table(LIMITS.tableSize))).not.toThrow();
    expect(Date.now() - t).toBeLessThan(10000);
    const e = timed(() => refused(() => compile(table(LIMITS.tableSize + 1))));
    expect(e.message).toBe(`table too large (initial entries): ${LIMITS.tableSize + 1}, more than the compiler limit of ${LIMITS.tableSize} (in table section)`);
    // a maximum of 2^32 - 1 is still fine (table.wast has one)
    expect(() => compile(wasmModule(section(4, leb(1), [0x70, 0x01], leb(0), leb(0xffffffff))))).not.toThrow();
    // an imported table is held to the same limit
    const imported = wasmModule(section(2, leb(1), name('m'), name('t'), [0x01, 0x70, 0x00], leb(LIMITS.tableSize + 1)));
    expect(refused(() => decode(imported)).message).toMatch(/^table too large \(initial entries\): 10000001, more than the compiler limit of 10000000 \(in import section\)$/);
  });

  test('memory: 65,536 pages compile (the guard reservation is 8 GiB), 65,537 is invalid', () => {
    const memory = (min: number): Uint8Array => wasmModule(section(5, leb(1), [0x00], leb(min)));
    expect(() => compile(memory(65536))).not.toThrow();
    expect(refused(() => decode(memory(65537))).reason).toBe('memory size must be at most 65536 pages (4GiB)');
  });

  test('globals: 1,000,000 accepted, one more refused', () => {
    const g = [I32, 0x00, 0x41, 0x00, 0x0b];
    expect(() => decode(wasmModule(section(6, leb(LIMITS.globals), repeat(g, LIMITS.globals))))).not.toThrow();
    expectLimit(timed(() => refused(() => decode(hugeVector(6, LIMITS.globals + 1)))), 'too many globals (imported and defined)', LIMITS.globals + 1, LIMITS.globals, inSection('global'));
  });

  test('exports: 100,000 accepted, one more refused', () => {
    const exports: Uint8Array[] = [];
    for (let k = 0; k < LIMITS.exports; k++) exports.push(cat(name(`e${k}`), [0x00, 0x00]));
    expect(() => decode(wasmModule(types(), funcs(1), section(7, leb(LIMITS.exports), catList(exports)), code(body([], []))))).not.toThrow();
    expectLimit(timed(() => refused(() => decode(hugeVector(7, LIMITS.exports + 1)))), 'too many exports', LIMITS.exports + 1, LIMITS.exports, inSection('export'));
  });

  test('element segments: one more than 100,000 refused; more than 10,000,000 entries refused', () => {
    expectLimit(timed(() => refused(() => decode(hugeVector(9, LIMITS.elemSegments + 1)))), 'too many element segments', LIMITS.elemSegments + 1, LIMITS.elemSegments, inSection('element'));
    const n = LIMITS.elemEntries + 1;
    // one passive segment of function indices (flags 1, elemkind 0)
    const e = timed(() => refused(() => decode(wasmModule(section(9, leb(1), [0x01, 0x00], leb(n), new Uint8Array(n))))));
    expectLimit(e, 'too many element segment entries (all segments together)', n, LIMITS.elemEntries, inSection('element'));
  });

  test('data segments: 100,000 accepted, one more refused', () => {
    const passive = [0x01, 0x00];
    expect(() => decode(wasmModule(section(11, leb(LIMITS.dataSegments), repeat(passive, LIMITS.dataSegments))))).not.toThrow();
    expectLimit(timed(() => refused(() => decode(hugeVector(11, LIMITS.dataSegments + 1)))), 'too many data segments', LIMITS.dataSegments + 1, LIMITS.dataSegments, inSection('data'));
  });

  test('names: 100,000 bytes accepted, one more refused', () => {
    const exp = (len: number): Uint8Array => wasmModule(types(), funcs(1), section(7, leb(1), name(len), [0x00, 0x00]), code(body([], [])));
    expect(() => decode(exp(LIMITS.nameLength))).not.toThrow();
    expectLimit(refused(() => decode(exp(LIMITS.nameLength + 1))), 'name too long (bytes)', LIMITS.nameLength + 1, LIMITS.nameLength, inSection('export'));
  });
});

// --- function-level limits (the code generator, through linkProgram) -----------------------------

describe('function-level limits', () => {
  test('body size: 7,654,321 bytes compile, one more refused before compiling', () => {
    const nops = (size: number): Uint8Array => {
      // leb(size) + [0 local groups] + nops + end = size bytes of body
      const b = cat([0x00], repeat([0x01], size - 2), [0x0b]);
      return wasmModule(types(), funcs(1), section(10, leb(1), leb(size), b));
    };
    expect(() => compile(nops(LIMITS.bodySize))).not.toThrow();
    expectLimit(timed(() => refused(() => compile(nops(LIMITS.bodySize + 1)))), 'function body too large (bytes)', LIMITS.bodySize + 1, LIMITS.bodySize, inFunction(0));
  });

  test('locals: 50,000 compile, one more refused (parameters counted)', () => {
    expect(() => compile(oneFunction([[LIMITS.locals, I32]], []))).not.toThrow();
    expectLimit(refused(() => compile(oneFunction([[LIMITS.locals, I32], [1, I32]], []))), 'too many locals', LIMITS.locals + 1, LIMITS.locals, inFunction(0));
    // with a parameter, the code generator counts it
    const withParam = wasmModule(types(funcType([I32], [])), funcs(1, 1), code(body([[LIMITS.locals, I32]], [])));
    expectLimit(refused(() => compile(withParam)), 'too many locals (parameters included)', LIMITS.locals + 1, LIMITS.locals, inFunction(0));
  });

  test('operand stack: 65,536 values compile, one more refused', () => {
    const deep = (n: number): Uint8Array => oneFunction([], cat(repeat([0x41, 0x00], n), repeat([0x1a], n)));
    expect(() => compile(deep(LIMITS.operandStack))).not.toThrow();
    expectLimit(refused(() => compile(deep(LIMITS.operandStack + 1))), 'operand stack too deep', LIMITS.operandStack + 1, LIMITS.operandStack, inFunction(0));
  });

  test('nesting: 16,383 blocks inside the function compile, one more refused', () => {
    const nested = (n: number): Uint8Array => oneFunction([], cat(repeat([0x02, 0x40], n), repeat([0x0b], n)));
    expect(() => compile(nested(LIMITS.nesting - 1))).not.toThrow();
    expectLimit(refused(() => compile(nested(LIMITS.nesting))), 'blocks nested too deeply', LIMITS.nesting + 1, LIMITS.nesting, inFunction(0));
  });

  test('br_table: 1,048,576 targets compile, one more refused', () => {
    const table = (n: number): Uint8Array => oneFunction([], cat([0x41, 0x00, 0x0e], leb(n), new Uint8Array(n + 1)));
    expect(() => compile(table(LIMITS.brTable))).not.toThrow();
    expectLimit(timed(() => refused(() => compile(table(LIMITS.brTable + 1)))), 'br_table too large', LIMITS.brTable + 1, LIMITS.brTable, inFunction(0));
  });
});

// --- image-wide limits (lowered for the test: reaching them for real takes gigabytes) -------------

describe('image-wide limits', () => {
  const calls = (n: number): Uint8Array => oneFunction([], repeat([0x10, 0x00], n));

  test('sites and their slot types', () => {
    const limits = LIMITS as { -readonly [K in keyof typeof LIMITS]: number };
    const saved = { ...limits };
    try {
      limits.sites = 1000;
      // the runtime library is not linked here: the sites are the entry and 998 calls of function 0
      expect(() => compile(calls(999))).not.toThrow();
      expectLimit(refused(() => compile(calls(1000))), 'too many sites (calls, loops and function entries) in the image', 1001, 1000, inFunction(0));
      limits.sites = saved.sites;
      limits.siteSlots = 5000;
      const manyLocals = oneFunction([[100, I32]], repeat([0x10, 0x00], 60)); // 61 sites of 100 slots
      expectLimit(refused(() => compile(manyLocals)), 'too many frame slots at the sites of the image', 5100, 5000, inFunction(0));
    } finally {
      Object.assign(limits, saved);
    }
  });

  test('arm64 text stays within the reach of bl (128 MiB)', () => {
    expect(new A64Backend().maxCodeSize).toBe(128 * 1024 * 1024);
  });

  test('machine code size', () => {
    const saved = CodeBuffer.maxSize;
    try {
      CodeBuffer.maxSize = 1 << 20;
      expect(() => compile(calls(1000))).not.toThrow();
      const e = refused(() => compile(calls(200000)));
      expect(e.message).toMatch(/^compiled code too large: more than the compiler limit of 1048576 bytes \(in code section, in function 0, at offset \d+\)$/);
      // arm64 the same, through its backend
      const a64 = refused(() => linkProgram({ modules: [{ name: 'main', bytes: calls(200000) }], arch: 'arm64', unresolved: 'trap' }));
      expect(a64.reason).toBe('compiled code too large: more than the compiler limit of 1048576 bytes');
    } finally {
      CodeBuffer.maxSize = saved;
    }
  });
});

// --- no work per item that grows with another count ---------------------------------------------

describe('linear time at the limits', () => {
  test('100,000 imports, 100,000 exports, 200,000 calls and globals naming the last import', () => {
    const I = LIMITS.imports / 2; // functions and globals
    const imports = [...Array(I)].map(() => cat(name('m'), name('f'), [0x00, 0x00]))
      .concat([...Array(I)].map(() => cat(name('m'), name('g'), [0x03, I32, 0x00])));
    const exports = [...Array(LIMITS.exports)].map((_, k) => cat(name(`e${k}`), [0x00], leb(I + (k % 2))));
    const N = 200_000;
    const globals = repeat([I32, 0x00, 0x23, ...leb(I - 1), 0x0b], N);
    const calls = repeat([0x10, ...leb(I - 1)], N);
    const bytes = wasmModule(types(), section(2, leb(2 * I), catList(imports)), funcs(2),
      section(6, leb(N), globals), section(7, leb(LIMITS.exports), catList(exports)), code(body([], calls), body([], [])));
    const t = Date.now();
    compile(bytes);
    // walking the imports for each call and global took over a minute here (5 s now, unloaded)
    expect(Date.now() - t).toBeLessThan(30000);
  });
});

describe('custom sections', () => {
  test('100,000 accepted, one more refused; the name section keeps only names a function can have', () => {
    const custom = section(0, name('c'));
    expect(() => decode(wasmModule(repeat(custom, LIMITS.customSections)))).not.toThrow();
    expectLimit(timed(() => refused(() => decode(wasmModule(repeat(custom, LIMITS.customSections + 1))))), 'too many custom sections', LIMITS.customSections + 1, LIMITS.customSections, inSection('custom'));
    // function names for index 0 and for an index past every possible function
    const names = section(0, name('name'), [0x01], (() => {
      const sub = cat(leb(2), leb(0), name('zero'), leb(LIMITS.functions), name('nobody'));
      return cat(leb(sub.length), sub);
    })());
    const m = decodeModule(wasmModule(types(), funcs(1), code(body([], [])), names));
    expect([...m.names.functions]).toEqual([[0, 'zero']]);
  });
});

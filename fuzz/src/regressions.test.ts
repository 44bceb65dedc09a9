/**
 * Every reproducer in fuzz/regressions must now agree between V8 and wagc, and the generator
 * must keep producing valid, reproducible modules.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import { loaderPath } from '@wagc/loader-c';
import { generate } from './gen';
import { diffModule, V8Runner, WagcRunner } from './diff';
import { generatePair, PairRunner } from './pair';

const dir = resolve(__dirname, '../regressions');
// <name>.wasm, with <name>.lib.wasm for a two-instance pair (pair.ts)
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.wasm') && !f.endsWith('.lib.wasm')).sort() : [];
const haveLoader = existsSync(loaderPath('x86-64'));

describe('fuzz regressions', () => {
  const v8 = new V8Runner();
  const wagc = new WagcRunner();
  const pairs = new PairRunner();
  afterAll(() => {
    v8.close();
    wagc.close();
    pairs.close();
  });

  (haveLoader ? test : test.skip)('the loader is built', () => undefined);

  for (const f of files) {
    (haveLoader ? test : test.skip)(f, async () => {
      const bytes = new Uint8Array(readFileSync(join(dir, f)));
      const lib = join(dir, f.replace(/\.wasm$/, '.lib.wasm'));
      const verdict = existsSync(lib)
        ? await pairs.diff(new Uint8Array(readFileSync(lib)), bytes)
        : await diffModule(bytes, { v8, wagc });
      expect(verdict.skipped).toBeUndefined();
      expect(verdict.differences).toEqual([]);
    });
  }
});

describe('generator', () => {
  test('modules validate in V8 for many seeds and sizes', () => {
    for (let seed = 0; seed < 200; seed++) {
      const size = 1 + (seed % 30);
      const { bytes } = generate({ seed: seed * 7919 + 1, size });
      expect(() => new WebAssembly.Module(bytes)).not.toThrow();
    }
  });

  test('two-instance pairs validate, and their main module imports from lib', () => {
    for (let seed = 0; seed < 40; seed++) {
      const { lib, main } = generatePair({ seed, size: 1 + (seed % 24) });
      const exports = WebAssembly.Module.exports(new WebAssembly.Module(lib)).map((e) => e.name);
      const imports = WebAssembly.Module.imports(new WebAssembly.Module(main));
      expect(imports.length).toBeGreaterThan(0);
      for (const i of imports) {
        expect(i.module).toBe('lib');
        expect(exports).toContain(i.name);
      }
    }
  });

  test('the same seed and size give the same bytes; other seeds other bytes', () => {
    const a = generate({ seed: 12345, size: 12 }).bytes;
    const b = generate({ seed: 12345, size: 12 }).bytes;
    const c = generate({ seed: 12346, size: 12 }).bytes;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  test('leaving out nodes keeps the module valid and the other nodes unchanged', () => {
    const full = generate({ seed: 99, size: 16 });
    const skip = new Set(full.nodes.filter((n, k) => k % 3 === 0).map((n) => n.id));
    const cut = generate({ seed: 99, size: 16, skip });
    expect(() => new WebAssembly.Module(cut.bytes)).not.toThrow();
    expect(cut.bytes.length).toBeLessThan(full.bytes.length);
    // every node kept whose ancestors were all kept has its id and size unchanged
    const sizes = new Map(full.nodes.map((n) => [n.id, n.size]));
    const ancestorsKept = (id: string): boolean => {
      const parts = id.split('.');
      for (let k = 2; k <= parts.length; k++) if (skip.has(parts.slice(0, k).join('.'))) return false;
      return true;
    };
    const kept = cut.nodes.filter((n) => ancestorsKept(n.id));
    expect(kept.length).toBeGreaterThan(0);
    for (const n of kept) expect(sizes.has(n.id)).toBe(true);
  });
});

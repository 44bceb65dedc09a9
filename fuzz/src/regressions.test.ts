/**
 * Every reproducer in fuzz/regressions must now agree between V8 and wagc, and the generator
 * must keep producing valid, reproducible modules.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import { loaderPath } from '@wagc/loader-c';
import { generate } from './gen';
import { diffModule, V8Runner, WagcRunner } from './diff';

const dir = resolve(__dirname, '../regressions');
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.wasm')).sort() : [];
const haveLoader = existsSync(loaderPath('x86-64'));

describe('fuzz regressions', () => {
  const v8 = new V8Runner();
  const wagc = new WagcRunner();
  afterAll(() => {
    v8.close();
    wagc.close();
  });

  (haveLoader ? test : test.skip)('the loader is built', () => undefined);

  for (const f of files) {
    (haveLoader ? test : test.skip)(f, async () => {
      const verdict = await diffModule(new Uint8Array(readFileSync(join(dir, f))), { v8, wagc });
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

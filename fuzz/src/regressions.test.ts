/**
 * Every reproducer in fuzz/regressions must now agree between V8 and wagc, and the generator
 * must keep producing valid, reproducible modules. Migrating cases (migrate.ts) agree, and a
 * damaged snapshot between two hops is caught.
 */
import { spawnSync } from 'child_process';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import { loaderPath } from '@wagc/loader-c';
import { generate } from './gen';
import { diffModule, V8Runner, WagcRunner } from './diff';
import { generatePair, PairRunner } from './pair';
import { diffMigrate, hopPlan, MigrateRunner, zeroLastSlots, type HopPlan } from './migrate';

const dir = resolve(__dirname, '../regressions');
// <name>.wasm, with <name>.lib.wasm for a two-instance pair (pair.ts)
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.wasm') && !f.endsWith('.lib.wasm')).sort() : [];
const haveLoader = existsSync(loaderPath('x86-64'));
// migrating cases run both loaders, arm64 under qemu-aarch64 on other hosts
const haveBoth = haveLoader && existsSync(loaderPath('arm64')) &&
  (process.arch === 'arm64' || !spawnSync('qemu-aarch64', ['--version']).error);

describe('fuzz regressions', () => {
  const v8 = new V8Runner();
  const wagc = new WagcRunner();
  const pairs = new PairRunner();
  const migrate = new MigrateRunner();
  afterAll(() => {
    v8.close();
    wagc.close();
    pairs.close();
    migrate.close();
  });

  (haveLoader ? test : test.skip)('the loader is built', () => undefined);

  for (const f of files) {
    // <name>.migrate.json: a migrating case's hop plan
    const plan = join(dir, f.replace(/\.wasm$/, '.migrate.json'));
    ((existsSync(plan) ? haveBoth : haveLoader) ? test : test.skip)(f, async () => {
      const bytes = new Uint8Array(readFileSync(join(dir, f)));
      const lib = join(dir, f.replace(/\.wasm$/, '.lib.wasm'));
      const verdict = existsSync(plan) ? await diffMigrate(bytes, JSON.parse(readFileSync(plan, 'utf8')) as HopPlan, { v8, migrate })
        : existsSync(lib)
        ? await pairs.diff(new Uint8Array(readFileSync(lib)), bytes)
        : await diffModule(bytes, { v8, wagc });
      expect(verdict.skipped).toBeUndefined();
      expect(verdict.differences).toEqual([]);
      // a migrating case runs both loaders (arm64 under qemu), a near-limit one recursing to the
      // stack's end: minutes on a loaded machine, so its limit is generous (it asserts no speed)
    }, existsSync(plan) ? 600_000 : undefined);
  }
});

describe('migrating cases', () => {
  const v8 = new V8Runner();
  const migrate = new MigrateRunner();
  const damaged = new MigrateRunner(undefined, { tamper: zeroLastSlots });
  afterAll(() => {
    v8.close();
    migrate.close();
    damaged.close();
  });
  // fixtures (fuzz/fixtures: generated modules of the time, so that generator changes keep
  // them): migrate-agree's run passes 497 checks; suspended at 50% and 90%, x86-64 → arm64 →
  // x86-64
  const fixtures = resolve(__dirname, '../fixtures');
  const bytes = new Uint8Array(readFileSync(join(fixtures, 'migrate-agree.wasm')));
  const plan: HopPlan = { start: 'x86-64', points: [0.5, 0.9] };

  (haveBoth ? test : test.skip)('a module suspended twice and finished on the other arch agrees with V8', async () => {
    const v = await diffMigrate(bytes, plan, { v8, migrate });
    expect(v.skipped).toBeUndefined();
    expect(v.differences).toEqual([]);
    expect(v.wagc.hops.map((h) => h.arch)).toEqual(['x86-64', 'arm64']);
    expect(v.wagc.hops.map((h) => h.check)).toEqual([Math.ceil(0.5 * v.wagc.checks!), Math.ceil(0.9 * v.wagc.checks!)]);
    expect(v.wagc.run).toEqual(v.v8.run);
  }, 60000);

  (haveBoth ? test : test.skip)('a value dropped from the frames between hops is a disagreement', async () => {
    // migrate-damage: suspended at checks 4 and 7 of 7; without the damage it agrees
    const small = new Uint8Array(readFileSync(join(fixtures, 'migrate-damage.wasm')));
    const smallPlan: HopPlan = { start: 'x86-64', points: [0.492, 0.937] };
    const good = await diffMigrate(small, smallPlan, { v8, migrate });
    expect(good.differences).toEqual([]);
    expect(good.wagc.hops.length).toBe(2);
    const v = await diffMigrate(small, smallPlan, { v8, migrate: damaged });
    expect(v.skipped).toBeUndefined();
    expect(v.differences.some((d) => d.startsWith('run: '))).toBe(true);
  }, 60000);

  test('hop plans are reproducible: 1 to 3 points in (0, 1], ascending, either arch first', () => {
    expect(hopPlan(42)).toEqual(hopPlan(42));
    const starts = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const p = hopPlan(seed);
      starts.add(p.start);
      expect(p.points.length).toBeGreaterThanOrEqual(1);
      expect(p.points.length).toBeLessThanOrEqual(3);
      p.points.forEach((x, k) => {
        expect(x > 0 && x <= 1).toBe(true);
        if (k) expect(x).toBeGreaterThanOrEqual(p.points[k - 1]);
      });
    }
    expect([...starts].sort()).toEqual(['arm64', 'x86-64']);
  });
});

describe('generator', () => {
  test('modules validate in V8 for many seeds and sizes', () => {
    for (let seed = 0; seed < 200; seed++) {
      const size = 1 + (seed % 30);
      const { bytes } = generate({ seed: seed * 7919 + 1, size });
      expect(() => new WebAssembly.Module(new Uint8Array(bytes))).not.toThrow();
    }
  });

  test('two-instance pairs validate, and their main module imports from lib', () => {
    for (let seed = 0; seed < 40; seed++) {
      const { lib, main } = generatePair({ seed, size: 1 + (seed % 24) });
      const exports = WebAssembly.Module.exports(new WebAssembly.Module(new Uint8Array(lib))).map((e) => e.name);
      const imports = WebAssembly.Module.imports(new WebAssembly.Module(new Uint8Array(main)));
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
    expect(() => new WebAssembly.Module(new Uint8Array(cut.bytes))).not.toThrow();
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

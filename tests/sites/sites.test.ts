/**
 * ARCHITECTURE §2: for every module, the x86-64 and ARM64 images have the same sites — (function,
 * site index, slot count, slot types) — so a portable frame means the same on both. Checked over
 * every module of the spec testsuite the compiler accepts (store-linked modules included as
 * single programs with unresolved imports trapping).
 */
import { readFileSync, existsSync } from 'fs';
import { join, resolve } from 'path';
import { CompileError } from '@wagc/frontend';
import { linkProgram, LinkError, siteList, type ImageSite } from '@wagc/linker';
import { spectestModule } from '@wagc/abi';

const suite = resolve(__dirname, '../../../shared/wasm-testsuite');

function key(sites: ImageSite[]): string[] {
  return sites
    .map((s) => `${s.func}:${s.site}:${Array.from(s.slotTypes).join(',')}`)
    .sort();
}

describe('site tables are identical across arches', () => {
  const have = existsSync(join(suite, 'index.json'));
  (have ? test : test.skip)('every spec testsuite module', () => {
    const index = JSON.parse(readFileSync(join(suite, 'index.json'), 'utf8')) as { files: { name: string; dir: string; json: string }[] };
    let modules = 0, sites = 0, rejected = 0, v128Slots = 0;
    for (const f of index.files) {
      // the core suite and the SIMD one: v128 slots (two per value) must match too
      if (f.dir !== 'core' && f.dir !== 'simd') continue;
      const json = JSON.parse(readFileSync(join(suite, f.json), 'utf8')) as { commands: { type: string; filename?: string }[] };
      for (const c of json.commands) {
        if (c.type !== 'module' || !c.filename) continue;
        const bytes = new Uint8Array(readFileSync(join(suite, f.dir, f.name, c.filename)));
        const program = (arch: 'x86-64' | 'arm64') => ({ modules: [{ name: 'spectest', bytes: spectestModule() }, { name: 'main', bytes }], arch, unresolved: 'trap' as const });
        let x86: ImageSite[];
        try {
          x86 = siteList(linkProgram(program('x86-64')).sites);
        } catch (e) {
          if (e instanceof CompileError || e instanceof LinkError) { rejected++; continue; }
          throw e;
        }
        const arm = siteList(linkProgram(program('arm64')).sites);
        const a = key(x86), b = key(arm);
        if (a.join(' ') !== b.join(' ')) throw new Error(`${f.name}/${c.filename}: site tables differ`);
        modules++;
        sites += a.length;
        for (const site of x86) for (const t of site.slotTypes) if (t === 0x7b) v128Slots++;
      }
    }
    // eslint-disable-next-line no-console -- how much was compared
    console.log(`site tables equal for ${modules} modules (${sites} sites, ${v128Slots} v128 slots); ${rejected} modules rejected by both`);
    expect(modules).toBeGreaterThan(1300);
    expect(v128Slots).toBeGreaterThan(1000);
  });
});

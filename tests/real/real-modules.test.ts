/**
 * Issue 7: real-world modules from npm (bench/src/real-modules.ts: flite, ruby, esbuild, binaryen)
 * compile unmodified for both arches with equal site tables (ARCHITECTURE §2), except those listed in
 * known-failures.json with their exact CompileError; compiled in two worker threads
 * (linkProgramParallel) they give the same image, byte for byte; and flite, run by gate-run with a --dir
 * preopen, writes the same wav bytes as node:wasi on x86-64 and on ARM64 (qemu).
 *
 * Imports of hosts that are not WASI (esbuild's gojs, ruby's rb-js-abi-host, binaryen's
 * Emscripten "a") are compiled as trapping stubs (unresolved: 'trap'): compiling is what is
 * tested for those; flite is a WASI command and links strictly. Each also compiles from the wagc
 * bin with --trap-unknown-imports (issue 14).
 */
import { spawnSync } from 'child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CompileError } from '@wagc/frontend';
import { linkProgram, linkProgramParallel, compileProgram, writeImage, siteList } from '@wagc/linker';
import type { SiteTable } from '@wagc/frontend';
import { wasiModule } from '@wagc/abi';
import { realModules } from '../../bench/src/real-modules';

const root = join(__dirname, '../..');
const gateRun = join(root, 'packages/cli/bin/gate-run.js');
const dir = mkdtempSync(join(tmpdir(), 'wagc-real-'));
const known = JSON.parse(readFileSync(join(__dirname, 'known-failures.json'), 'utf8')).modules as Record<string, string>;
const haveArm = existsSync(join(root, 'packages/loader-c/build/gate-run-aarch64')) && spawnSync('qemu-aarch64', ['--version']).status === 0;
const modules = realModules(root);

jest.setTimeout(600000);

/** The site table as a comparable list (function, site, slot types), in table order. */
function siteKeys(sites: SiteTable): string[] {
  return siteList(sites).map((s) => `${s.func}:${s.site}:${Array.from(s.slotTypes).join(',')}`).sort();
}

describe('real modules compile for both arches with equal site tables', () => {
  test('every listed known failure names a real module', () => {
    for (const name of Object.keys(known)) expect(modules.map((m) => m.name)).toContain(name);
  });

  test.each(modules.map((m) => [m.name, m] as const))('%s', async (_name, m) => {
    const bytes = new Uint8Array(readFileSync(m.path));
    const program = (arch: 'x86-64' | 'arm64') => ({
      modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }], arch, unresolved: 'trap' as const,
    });
    const results: { sites?: string[]; error?: string }[] = [];
    for (const arch of ['x86-64', 'arm64'] as const) {
      try {
        const input = linkProgram(program(arch));
        results.push({ sites: siteKeys(input.sites) });
        // the functions compiled in worker threads: the same image
        const image = writeImage(input);
        const report = { chunks: 0, fellBack: true, callerLimit: 2 };
        const parallel = writeImage(await linkProgramParallel(program(arch), 2, report));
        expect(report.fellBack).toBe(false);
        expect(report.chunks).toBeGreaterThan(1);
        expect(parallel.length).toBe(image.length);
        expect(Buffer.from(parallel).equals(Buffer.from(image))).toBe(true);
      } catch (e) {
        if (!(e instanceof CompileError)) throw e;
        results.push({ error: e.message });
        // a compile error: the same one from the worker-thread compile
        await expect(linkProgramParallel(program(arch), 2)).rejects.toThrow(e.message);
      }
    }
    const [x86, arm] = results;
    if (m.name in known) {
      // the list only shrinks: a listed module that compiles must leave it
      if (x86.sites || arm.sites) throw new Error(`${m.name} (${m.source}) compiles now: remove it from tests/real/known-failures.json`);
      expect(x86.error).toBe(known[m.name]);
      expect(arm.error).toBe(known[m.name]);
      return;
    }
    if (x86.error || arm.error) throw new Error(`${m.name} (${m.source}) does not compile: x86-64: ${x86.error ?? 'ok'}; arm64: ${arm.error ?? 'ok'}`);
    expect(x86.sites!.length).toBeGreaterThan(1000);
    // element by element: a failure names the first difference, not two 200,000-line lists
    expect(arm.sites!.length).toBe(x86.sites!.length);
    const differ = x86.sites!.findIndex((k, i) => k !== arm.sites![i]);
    expect(differ).toBe(-1);
  });
});

describe('every module compiles from the wagc bin with --trap-unknown-imports', () => {
  // issue 14: what a user types; once per module, for the host's arch (the API tests above cover both)
  const wagc = join(root, 'packages/cli/bin/wagc.js');
  test.each(modules.filter((m) => !(m.name in known)).map((m) => [m.name, m] as const))('%s', (_name, m) => {
    const img = join(dir, `${m.name}-cli.img`);
    const r = spawnSync(process.execPath, [wagc, m.path, '--trap-unknown-imports', '-o', img], { encoding: 'utf8', timeout: 900000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const magic = Buffer.alloc(8);
    const fd = openSync(img, 'r');
    readSync(fd, magic, 0, 8, 0);
    closeSync(fd);
    expect(magic.toString('latin1')).toBe('WAGCIMG\0');
    rmSync(img);
  });
});

describe('flite under gate-run writes the wav node:wasi writes', () => {
  const flite = modules.find((m) => m.name === 'flite')!;
  const text = 'Portable snapshots of running programs, from x86 to ARM.';
  let reference: Buffer;

  beforeAll(() => {
    const out = join(dir, 'node');
    mkdirSync(out);
    const script = `
      const { WASI } = require('node:wasi');
      const [wasm, host, text] = JSON.parse(process.argv[1]);
      const wasi = new WASI({ version: 'preview1', args: ['flite', '-t', text, '-o', '/out/speech.wav'], env: {}, preopens: { '/out': host }, returnOnExit: true });
      process.exitCode = wasi.start(new WebAssembly.Instance(new WebAssembly.Module(require('fs').readFileSync(wasm)), wasi.getImportObject()));`;
    const n = spawnSync(process.execPath, ['--no-turbo-fast-api-calls', '--no-warnings', '-e', script, JSON.stringify([flite.path, out, text])], { encoding: 'utf8', timeout: 120000 });
    expect(n.stderr).toBe('');
    expect(n.status).toBe(0);
    reference = readFileSync(join(out, 'speech.wav'));
    expect(reference.subarray(0, 4).toString()).toBe('RIFF');
    expect(reference.length).toBeGreaterThan(20000);
  });

  for (const [arch, have] of [['x86-64', true], ['arm64', haveArm]] as const) {
    (have ? test : test.skip)(arch, () => {
      const img = join(dir, `flite-${arch}.img`);
      writeFileSync(img, compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes: new Uint8Array(readFileSync(flite.path)) }], arch }));
      const out = join(dir, arch);
      mkdirSync(out);
      const r = spawnSync(process.execPath, [gateRun, img, '--dir', `${out}::/out`, '--', '-t', text, '-o', '/out/speech.wav'], { encoding: 'utf8', timeout: 300000, cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const wav = readFileSync(join(out, 'speech.wav'));
      expect(wav.length).toBe(reference.length);
      expect(wav.equals(reference)).toBe(true);
    });
  }
});

/**
 * Issue 15, real SIMD code: C programs built with `clang --target=wasm32-wasi -O3 -msimd128`
 * (tests/e2e/simd-c/build.sh): loops clang vectorises over bytes, 16-bit and 32-bit integers,
 * floats and doubles (autovec.c), and the wasm_simd128.h intrinsics directly (intrinsics.c).
 * gate-run on x86-64 and on ARM64 (qemu-aarch64) must print and exit exactly as node:wasi (V8)
 * does. The x86-64 images record SSE4.1, which a CPU without it refuses.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CPU_FEATURE } from '@wagc/frontend';
import { compileProgram, readImage, type Arch } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { loaderPath } from '@wagc/loader-c';
import { wat } from './helpers';

const root = join(__dirname, '../..');
const gateRun = join(root, 'packages/cli/bin/gate-run.js');
const haveClang = spawnSync('clang', ['--version']).status === 0 && existsSync('/usr/include/wasm32-wasi/stdio.h');
const haveArm = existsSync(loaderPath('arm64')) && spawnSync('qemu-aarch64', ['--version']).status === 0;
const ARCHES: Arch[] = haveArm ? ['x86-64', 'arm64'] : ['x86-64'];
const dir = mkdtempSync(join(tmpdir(), 'wagc-simd-programs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run { status: number | null; stdout: string; stderr: string }

function runNode(wasm: string): Run {
  const script = `
    const { WASI } = require('node:wasi');
    const wasi = new WASI({ version: 'preview1', args: ['prog'], env: {}, returnOnExit: true });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(require('fs').readFileSync(process.argv[1])), { wasi_snapshot_preview1: wasi.wasiImport });
    process.exitCode = wasi.start(inst);`;
  const r = spawnSync(process.execPath, ['--no-turbo-fast-api-calls', '--no-warnings', '-e', script, wasm], { encoding: 'utf8', timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function image(program: string, arch: Arch): string {
  const img = join(dir, `${program}-${arch}.img`);
  if (!existsSync(img)) {
    const bytes = new Uint8Array(readFileSync(join(dir, `${program}.wasm`)));
    writeFileSync(img, compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }], arch }));
  }
  return img;
}

(haveClang ? describe : describe.skip)('C programs built with -O3 -msimd128: gate-run prints what node:wasi prints', () => {
  beforeAll(() => {
    const b = spawnSync('bash', [join(__dirname, 'simd-c/build.sh'), dir], { encoding: 'utf8' });
    expect(b.stderr).toBe('');
    expect(b.status).toBe(0);
  });

  test('the programs are vector code', () => {
    // what clang made of them: SIMD instructions of every lane shape
    for (const program of ['autovec', 'intrinsics']) {
      const dump = spawnSync('wasm-objdump', ['-d', join(dir, `${program}.wasm`)], { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (dump.error) return; // no wabt: the runs below still compare
      for (const shape of ['i8x16', 'i16x8', 'i32x4', 'i64x2', 'f32x4', 'f64x2']) expect(dump.stdout).toContain(`${shape}.`);
    }
  });

  test.each(['autovec', 'intrinsics'].flatMap((p) => ARCHES.map((a) => [p, a] as const)))('%s on %s', (program, arch) => {
    const want = runNode(join(dir, `${program}.wasm`));
    expect(want.status).toBe(0);
    expect(want.stdout.length).toBeGreaterThan(200);
    const r = spawnSync(process.execPath, [gateRun, image(program, arch)], { encoding: 'utf8', timeout: 300000 });
    expect(r.stderr).toBe(want.stderr);
    expect(r.stdout).toBe(want.stdout);
    expect(r.status).toBe(want.status);
  }, 300000);

  test('with --cpu-features avx: VEX three-operand forms, the image records avx, same output; a CPU without AVX refuses it', async () => {
    const img = join(dir, 'intrinsics-avx.img');
    const wagc = spawnSync(process.execPath, [join(root, 'packages/cli/bin/wagc.js'), join(dir, 'intrinsics.wasm'), '-o', img, '--arch', 'x86-64', '--cpu-features', 'avx'], { encoding: 'utf8' });
    expect(wagc.stderr).toBe('');
    expect(wagc.status).toBe(0);
    expect((readImage(new Uint8Array(readFileSync(img))).cpuFeatures ?? 0) & (CPU_FEATURE.avx | CPU_FEATURE.sse4_1)).toBe(CPU_FEATURE.avx | CPU_FEATURE.sse4_1);
    // the same function without and with AVX: two-operand SSE, three-operand VEX
    const twice = join(dir, 'twice.wasm');
    writeFileSync(twice, await wat(`(module (func (export "f") (param v128 v128) (result v128)
      (i32x4.mul (i32x4.add (local.get 0) (local.get 1)) (local.get 0))))`));
    const disasm = (features: string): string => {
      const out = join(dir, `twice-${features}.img`);
      spawnSync(process.execPath, [join(root, 'packages/cli/bin/wagc.js'), twice, '-o', out, '--arch', 'x86-64', '--cpu-features', features]);
      const d = spawnSync(process.execPath, [join(root, 'packages/cli/bin/gate-inspect.js'), '--disasm', 'f', out], { encoding: 'utf8' });
      expect(d.stderr).toBe('');
      return d.stdout;
    };
    expect(disasm('avx')).toMatch(/vpaddd xmm\d+, xmm\d+, xmm\d+\n[^]*vpmulld xmm\d+, xmm\d+, xmm\d+\n/);
    const sse = disasm('baseline');
    expect(sse).toMatch(/ paddd xmm\d+, xmm\d+\n[^]* pmulld xmm\d+, xmm\d+\n/);
    expect(sse).not.toMatch(/ v[a-z]+ xmm/);
    const hasAvx = /^flags\s*:.*\bavx\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
    const r = spawnSync(process.execPath, [gateRun, img], { encoding: 'utf8', timeout: 300000 });
    if (hasAvx) {
      const want = runNode(join(dir, 'intrinsics.wasm'));
      expect(r.stdout).toBe(want.stdout);
      expect(r.status).toBe(want.status);
    } else {
      expect(r.stderr).toBe('gate-run: image needs CPU feature avx, which this CPU lacks\n');
    }
    const hidden = spawnSync(`${loaderPath('x86-64')}-test`, [img], { encoding: 'utf8', env: { ...process.env, GATE_RUN_TEST_HIDE_CPU_FEATURES: 'avx' } });
    expect(hidden.stderr).toBe('gate-run: image needs CPU feature avx, which this CPU lacks\n');
    expect(hidden.status).toBe(2);
  }, 300000);

  test('the x86-64 image records SSE4.1; a CPU without it refuses the image', () => {
    const img = image('intrinsics', 'x86-64');
    expect((readImage(new Uint8Array(readFileSync(img))).cpuFeatures ?? 0) & CPU_FEATURE.sse4_1).toBe(CPU_FEATURE.sse4_1);
    // the test build's hook pretends the CPU lacks it
    const r = spawnSync(`${loaderPath('x86-64')}-test`, [img], { encoding: 'utf8', env: { ...process.env, GATE_RUN_TEST_HIDE_CPU_FEATURES: 'sse4_1' } });
    expect(r.stderr).toBe('gate-run: image needs CPU feature sse4_1, which this CPU lacks\n');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
  });
});

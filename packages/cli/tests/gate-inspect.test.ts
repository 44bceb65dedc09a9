import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import chalk from 'chalk';
import { decodeModule } from '@wagc/frontend';
import { tmpdir } from 'os';
import { join } from 'path';
import { compileProgram } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { readSnapshot, restoreModule, writeSnapshot } from '@wagc/snapshot-format';
import { formatValue, inspectImage, inspectSnapshot, main } from '../src/gate-inspect';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');

const I32 = 0x7f, I64 = 0x7e, F64 = 0x7c;
const dir = mkdtempSync(join(tmpdir(), 'gate-inspect-'));
const BIN = join(__dirname, '..', 'bin', 'gate-inspect.js');
const built = existsSync(join(__dirname, '..', 'dist', 'gate-inspect.js'));

const PROGRAM = `
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 10)
  (global $count (mut i64) (i64.const 0))
  (global $f (mut f64) (f64.const 1.5))
  (data (i32.const 64) "done\\n")
  (func $spin (param $n i32) (result i64) (local $i i32) (local $acc i64)
    (loop $l
      (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc))
  (func $main (export "_start")
    (drop (call $spin (i32.const 2000000000)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
)`;

let program: Uint8Array;
let snapFile: string;
let snapBytes: Uint8Array;

beforeAll(async () => {
  const wabt = await wabtInit();
  const mod = wabt.parseWat('p.wat', PROGRAM, {});
  program = mod.toBinary({ write_debug_names: true }).buffer;
  mod.destroy();
  const data = new Uint8Array(2 * 65536);
  data.set(new TextEncoder().encode('done\n'), 64);
  data[65536 + 7] = 1;
  snapBytes = writeSnapshot({
    module: program, state: 'suspended', arch: 'x86-64', memory: { pages: 2, data },
    globals: [12345n, 0x7ff8000000000001n],
    frames: [
      { func: 1, site: 1, slots: [{ type: I32, bits: 2000000000n }, { type: I32, bits: 77n }, { type: I64, bits: 0xffffffffffffffffn }] },
      { func: 2, site: 1, slots: [] },
    ],
    buffer: [{ fd: 0, direction: 'in', bytes: new TextEncoder().encode('typed ahead\n') }],
  });
  snapFile = join(dir, 'snap.wasm');
  writeFileSync(snapFile, snapBytes);
});

/** Runs main() in-process, capturing stdout and stderr. */
async function run(argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { stdout += String(s); return true; });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { stderr += String(s); return true; });
  try {
    const status = await main(argv);
    return { status, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('snapshots', () => {
  test('state, stack with names and wasm offsets of the sites, memory, globals, pending I/O, sections', () => {
    const r = inspectSnapshot('snap.wasm', snapBytes);
    const j = r.json as any;
    expect(j.state).toBe('suspended');
    expect(j.arch).toBe('x86-64');
    expect(j.resumable).toBe(true);
    expect(j.stack.map((f: any) => [f.name, f.site])).toEqual([['spin', 1], ['main', 1]]);
    // the offsets are the restored module's, which a resumed image reports too (the snapshot
    // file's own sections move its code): a loop and a call opcode there
    const restored = restoreModule(readSnapshot(snapBytes));
    expect(restored[j.stack[0].wasmOffset]).toBe(0x03);
    expect(restored[j.stack[1].wasmOffset]).toBe(0x10);
    expect(j.stack[0].slots.map((s: any) => s.value)).toEqual(['2000000000', '77', '-1']);
    expect(j.memory).toEqual({ pages: 2, maxPages: 10, bytes: 131072, residentPages: 2, segments: 2, dataBytes: 6 });
    expect(j.globals).toEqual([
      { index: 0, type: 'i64', mutable: true, bits: '0x0000000000003039', value: '12345' },
      { index: 1, type: 'f64', mutable: true, bits: '0x7ff8000000000001', value: 'nan:0x8000000000001' },
    ]);
    expect(j.pendingIO).toEqual([{ fd: 0, direction: 'in', bytes: 12, preview: 'typed ahead\n' }]);
    expect(j.exports).toEqual({ hidden: true, list: [{ name: 'memory', kind: 'memory', index: 0 }, { name: '_start', kind: 'func', index: 2 }] });
    expect(j.sections.filter((s: any) => s.kind === 'custom').map((s: any) => s.name)).toEqual(['name', 'gate.snapshot', 'gate.stack', 'gate.buffer', 'gate.export']);
    const text = r.text(new chalk.Instance({ level: 0 }));
    expect(text).toContain('state         suspended');
    expect(text).toMatch(/#0 {2}spin {2}site 1 \(wasm offset 0x[0-9a-f]+\)/);
    expect(text).toContain('2 pages (128 KiB), max 10; 2 resident (non-zero) pages');
    expect(text).toContain('fd 0 input, read but not yet delivered: 12 bytes "typed ahead\\n"');
    expect(text).not.toContain('\x1b[');
  });

  test('--arch: offsets and resumability from the other arch\'s site map (the same sites)', () => {
    const x = inspectSnapshot('snap.wasm', snapBytes).json as any;
    const a = inspectSnapshot('snap.wasm', snapBytes, { arch: 'arm64' }).json as any;
    expect(a.siteOffsets).toBe("from arm64's site map");
    expect(a.resumable).toBe(true);
    expect(a.stack.map((f: any) => f.wasmOffset)).toEqual(x.stack.map((f: any) => f.wasmOffset));
  });

  test('a frame that is not at a site of the arch: not resumable, with the reason', () => {
    const bad = writeSnapshot({
      module: program, state: 'suspended', arch: 'arm64', memory: { pages: 1, pageMap: new Map() }, globals: [0n, 0n],
      frames: [{ func: 1, site: 9, slots: [{ type: I32, bits: 0n }, { type: I32, bits: 0n }, { type: I64, bits: 0n }] }],
    });
    const j = inspectSnapshot('bad.wasm', bad).json as any;
    expect(j.resumable).toMatch(/no site 9/);
    expect(j.stack[0].wasmOffset).toBeNull();
  });

  test('frames in the runtime library are named after it', () => {
    const lib = decodeModule(wasiModule());
    const fdRead = lib.exports.find((e) => e.name === 'fd_read')!.index;
    const s = writeSnapshot({
      module: program, state: 'suspended', arch: 'x86-64', memory: { pages: 1, pageMap: new Map() }, globals: [0n, 0n],
      frames: [{ module: 'runtime', func: fdRead, site: 999, slots: [] }, { func: 2, site: 1, slots: [] }], runtime: wasiModule(),
    });
    const j = inspectSnapshot('rt.wasm', s).json as any;
    expect(j.stack.map((f: any) => [f.module, f.name])).toEqual([['runtime', expect.stringMatching(/^wasi_snapshot_preview1\./)], ['program', 'main']]);
    expect(j.resumable).toMatch(/R3: frame 0 \(runtime library function \d+ "\w+", site 999\): the function has no site 999/);
  });

  test('trapped, exited and halted snapshots', () => {
    const t = inspectSnapshot('t', writeSnapshot({ module: program, state: 'trapped', trapId: 2, arch: 'arm64', memory: { pages: 1, pageMap: new Map() }, globals: [0n, 0n], frames: [] }));
    expect((t.json as any).trap).toEqual({ id: 2, message: 'integer divide by zero' });
    expect(t.text(new chalk.Instance({ level: 0 }))).toContain('trap          integer divide by zero (id 2)');
    const x = inspectSnapshot('x', writeSnapshot({ module: program, state: 'exited', exitStatus: 3, arch: 'x86-64', memory: { pages: 1, pageMap: new Map() }, globals: [0n, 0n], frames: [] }));
    expect((x.json as any).exitStatus).toBe(3);
    const h = inspectSnapshot('h', writeSnapshot({ module: program, state: 'halted', arch: 'x86-64', memory: { pages: 1, pageMap: new Map() }, globals: [0n, 0n], frames: [] }));
    expect((h.json as any).exports.hidden).toBe(false);
    expect((h.json as any).resumable).toBe(true);
  });

  test('--json prints one object; bad input is one line and exit 1', async () => {
    const r = await run([snapFile, '--json', '--no-offsets']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').length).toBe(1);
    expect(JSON.parse(r.stdout).siteOffsets).toBe('not computed');
    const truncated = join(dir, 'trunc.wasm');
    writeFileSync(truncated, snapBytes.subarray(0, snapBytes.length - 3));
    const t = await run([truncated]);
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(/^gate-inspect: error: .*trunc.wasm: bad snapshot: truncated/);
    expect(t.stderr.trim().split('\n').length).toBe(1);
    const garbage = join(dir, 'garbage');
    writeFileSync(garbage, 'hello');
    expect((await run([garbage])).stderr).toMatch(/neither a snapshot \(WebAssembly\) nor a wagc image/);
    const plain = join(dir, 'plain.wasm');
    writeFileSync(plain, program);
    expect((await run([plain])).stderr).toMatch(/not a snapshot \(no gate.snapshot section\)/);
    expect((await run([join(dir, 'nope')])).stderr).toMatch(/no such file/);
  });
});

describe('images', () => {
  test.each(['x86-64', 'arm64'] as const)('%s: summary and --disasm with site markers', async (arch) => {
    const img = compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes: program }], arch });
    const r = await inspectImage('p.img', img, { disasm: 'spin', functions: true });
    const j = r.json as any;
    expect(j.arch).toBe(arch);
    expect(j.exports.map((e: any) => e.name)).toEqual(['_start']);
    expect(j.memory).toEqual({ initialPages: 1, maxPages: 10, residentPages: 1 });
    expect(j.functionList.some((f: any) => f.name === 'spin')).toBe(true);
    const lines = j.disasm.lines as { text: string; site?: { site: number; wasmOffset: number } }[];
    expect(lines.length).toBeGreaterThan(10);
    // every site of spin (the entry check and the loop) is marked at an instruction
    expect(lines.filter((l) => l.site).map((l) => l.site!.site).sort()).toEqual([0, 1]);
    expect(program[lines.find((l) => l.site?.site === 1)!.site!.wasmOffset]).toBe(0x03);
    const text = r.text(new chalk.Instance({ level: 0 }));
    expect(text).toMatch(/; site 1 \(wasm offset 0x[0-9a-f]+\): resume address/);
    expect(text).toContain(`arch          ${arch}`);
  });

  (built ? test : test.skip)('an image built from a snapshot shows the frames it resumes', async () => {
    const file = join(dir, 'snap.img');
    const status = spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'wagc.js'), snapFile, '-o', file, '--arch', 'arm64'], { encoding: 'utf8' });
    if (status.status !== 0) throw new Error(status.stderr);
    const j = (await inspectImage('snap.img', readFileSync(file))).json as any;
    expect(j.resume.state).toBe('suspended');
    expect(j.resume.frames.map((f: any) => [f.name, f.site, f.slots])).toEqual([['spin', 1, 3], ['main', 1, 0]]);
  });

  test('an unknown function for --disasm; --disasm on a snapshot', async () => {
    const file = join(dir, 'p.img');
    writeFileSync(file, compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes: program }], arch: 'x86-64' }));
    const r = await run([file, '--disasm', 'spi']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no function "spi" in the image \(did you mean spin\?\)/);
    await expect(run([snapFile, '--disasm', 'spin'])).rejects.toThrow(/--disasm needs an image/);
  });
});

test('formatValue', () => {
  expect(formatValue(I32, 0xffffffffn)).toBe('-1');
  expect(formatValue(0x7d, 0x7fc00001n)).toBe('nan:0x400001');
  expect(formatValue(0x7d, 0x3fc00000n)).toBe('1.5');
  expect(formatValue(F64, 0x8000000000000000n)).toBe('-0');
  expect(formatValue(F64, 0xfff0000000000000n)).toBe('-inf');
});

(built ? test : test.skip)('the installed command (bin/gate-inspect.js, built dist): exit statuses, no colour off a TTY', () => {
  const ok = spawnSync(process.execPath, [BIN, snapFile], { encoding: 'utf8' });
  expect(ok.status).toBe(0);
  expect(ok.stdout).toContain('stack (innermost first, 2 frames):');
  expect(ok.stdout).not.toContain('\x1b[');
  const bad = spawnSync(process.execPath, [BIN, join(dir, 'missing')], { encoding: 'utf8' });
  expect(bad.status).toBe(1);
  const usage = spawnSync(process.execPath, [BIN], { encoding: 'utf8' });
  expect(usage.status).toBe(2);
  expect(usage.stderr).toMatch(/expected one file/);
});

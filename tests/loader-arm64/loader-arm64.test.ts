/**
 * The aarch64 build of the loader (packages/loader-c/build/gate-run-aarch64) and gate-run's
 * choice of loader by the image's arch tag. On an x86-64 host the aarch64 loader runs under
 * qemu-aarch64 (Debian qemu-user; scripts/setup.sh installs it and the cross compiler).
 *
 * There is no ARM64 code generator yet, so the positive tests run a hand-made arm64 image: a few
 * hand-assembled AArch64 functions and an entry stub that follow docs/ARCHITECTURE.md ("Register
 * convention (ARM64)", "Stubs") as far as the loader can tell: vmctx in x25, hostRsp saved, the
 * wasm stack pointer x28 set to stackTop, x0/d0 stored in resultInt/resultFloat, and canonical
 * frames (x29 = the address of the return address slot, pushed on the wasm stack) so that the
 * loader's stack walk finds the callers.
 */
import { spawnSync, type SpawnSyncReturns } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { delimiter, join } from 'path';
import { compileProgram, siteTable, writeImage, type ImageFunction, type ImageSite } from '@wagc/linker';
import { loaderPath } from '@wagc/loader-c';

const A64 = loaderPath('arm64');
const X64 = loaderPath('x86-64');
const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'packages', 'cli', 'bin', 'gate-run.js');
const NATIVE = process.arch === 'arm64';
const INSTALL = 'install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user (bash scripts/setup.sh does), then make -C packages/loader-c';

const dir = mkdtempSync(join(tmpdir(), 'wagc-arm64-'));
let counter = 0;
function writeTemp(bytes: Uint8Array): string {
  const path = join(dir, `a${counter++}.img`);
  writeFileSync(path, bytes);
  return path;
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, name)));
}

function needLoader(): void {
  if (!existsSync(A64)) throw new Error(`${A64} not built: ${INSTALL}`);
  if (!NATIVE && !onPath('qemu-aarch64')) throw new Error(`qemu-aarch64 not on PATH: ${INSTALL}`);
}

/** Runs the aarch64 loader itself (under qemu-aarch64 unless the host is arm64). */
function runLoader(args: string[], input?: string): SpawnSyncReturns<string> {
  needLoader();
  // qemu-user cannot apply seccomp: the loader refuses to run unconfined unless told it is emulated
  const [cmd, argv] = NATIVE ? [A64, args] : ['qemu-aarch64', [A64, '--emulated', ...args]];
  return spawnSync(cmd, argv, { encoding: 'utf8', timeout: 30000, input });
}

/** Runs the gate-run CLI (packages/cli/bin, from the build: npx tsc -b). */
function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  if (!existsSync(join(ROOT, 'packages', 'cli', 'dist', 'gate-run.js'))) throw new Error('packages/cli not built: npx tsc -b');
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30000, env: { ...env, NO_COLOR: '1' } });
}

// ---- a hand-made arm64 image ----

/** AArch64 instruction words (checked with aarch64-linux-gnu-objdump). */
const I = {
  stpFpLrPre32: 0xa9be7bfd, // stp x29, x30, [sp, #-32]!
  stpX25X28: 0xa90173f9, // stp x25, x28, [sp, #16]
  movX9Sp: 0x910003e9, // mov x9, sp
  strX9HostRsp: 0xf9001009, // str x9, [x0, #32]        vmctx.hostRsp
  movX25X0: 0xaa0003f9, // mov x25, x0               vmctx register
  ldrX28StackTop: 0xf940373c, // ldr x28, [x25, #104]  wasm stack pointer = vmctx.stackTop
  blrX3: 0xd63f0060, // blr x3
  strX0ResultInt: 0xf9002f20, // str x0, [x25, #88]     vmctx.resultInt
  strD0ResultFloat: 0xfd003320, // str d0, [x25, #96]   vmctx.resultFloat
  ldpX25X28: 0xa94173f9, // ldp x25, x28, [sp, #16]
  ldpFpLrPost32: 0xa8c27bfd, // ldp x29, x30, [sp], #32
  ret: 0xd65f03c0, // ret
  movW0_42: 0x52800540, // mov w0, #42
  movX9_42: 0xd2800549, // mov x9, #42
  pushX9: 0xf81f8f89, // str x9, [x28, #-8]!       push an argument on the wasm stack
  movX0_0: 0xd2800000, // mov x0, #0                HOSTCALL_EXIT
  movX1X28: 0xaa1c03e1, // mov x1, x28              args
  movX2X25: 0xaa1903e2, // mov x2, x25              vmctx
  ldrX16Hostcall: 0xf9401730, // ldr x16, [x25, #40]  vmctx.fnHostcall
  blrX16: 0xd63f0200, // blr x16
  udf: 0x00000000, // udf #0
  pushLr: 0xf81f8f9e, // str x30, [x28, #-8]!      the return address slot
  movFpX28: 0xaa1c03fd, // mov x29, x28             fp = the return address slot's address
  subX28_16: 0xd100439c, // sub x28, x28, #16        a 16-byte frame below it
  movX28Fp: 0xaa1d03fc, // mov x28, x29
  popLr: 0xf840879e, // ldr x30, [x28], #8
  ldrX9MemBase: 0xf9400729, // ldr x9, [x25, #8]    vmctx.memoryBase
  ldrW0X9: 0xb9400120, // ldr w0, [x9]
  movX0_2: 0xd2800040, // mov x0, #2                TRAP_INTEGER_DIVIDE_BY_ZERO
  movX3Fp: 0xaa1d03e3, // mov x3, x29               fp
  ldrX16Trap: 0xf9401b30, // ldr x16, [x25, #48]    vmctx.fnTrap
  brk: 0xd4200000, // brk #0
};
const bl = (from: number, to: number): number => (0x94000000 | (((to - from) >> 2) & 0x3ffffff)) >>> 0;
const b = (from: number, to: number): number => (0x14000000 | (((to - from) >> 2) & 0x3ffffff)) >>> 0;

/** Offset in `outer*` of its call's return address (the site), and fp − x28 there. */
const SITE_AT = 16;
const SITE_FP_OFFSET = 16;

type Fn = { name: string; words: (at: (name: string) => number, here: number) => number[] };
const FNS: Fn[] = [
  // entry(vmctx = x0, args = x1, nargs = x2, code = x3); these functions take no arguments
  { name: 'entry', words: () => [I.stpFpLrPre32, I.stpX25X28, I.movX9Sp, I.strX9HostRsp, I.movX25X0, I.ldrX28StackTop, I.blrX3,
    I.strX0ResultInt, I.strD0ResultFloat, I.ldpX25X28, I.ldpFpLrPost32, I.ret] },
  { name: 'answer', words: () => [I.movW0_42, I.ret] },
  // gate.exit(42) through the loader's rt_hostcall (args: the arguments as pushed, on the wasm stack)
  { name: 'exit42', words: () => [I.movX9_42, I.pushX9, I.movX0_0, I.movX1X28, I.movX2X25, I.ldrX16Hostcall, I.blrX16, I.udf] },
  // canonical frames: the return address pushed on the wasm stack at fp, 16 bytes of frame below
  { name: 'outer', words: (at, here) => [I.pushLr, I.movFpX28, I.subX28_16, bl(here + 12, at('inner')), I.movX28Fp, I.popLr, I.ret] },
  { name: 'inner', words: () => [I.pushLr, I.movFpX28, I.udf] },
  { name: 'outerMem', words: (at, here) => [I.pushLr, I.movFpX28, I.subX28_16, bl(here + 12, at('innerMem')), I.movX28Fp, I.popLr, I.ret] },
  { name: 'innerMem', words: () => [I.pushLr, I.movFpX28, I.ldrX9MemBase, I.ldrW0X9, I.popLr, I.ret] },
  // a trap stub as packages/arm64 emits them: the trap id in x0, then rt_trap(id, the wasm stack
  // slot holding the return address, vmctx, fp) with the C ABI on the loader's stack (sp)
  { name: 'trapDivZero', words: (at, here) => [I.movX0_2, b(here + 4, at('trapCommon'))] },
  { name: 'trapCommon', words: () => [I.pushLr, I.movX1X28, I.movX2X25, I.movX3Fp, I.ldrX16Trap, I.blrX16, I.brk] },
  { name: 'outerTrap', words: (at, here) => [I.pushLr, I.movFpX28, I.subX28_16, bl(here + 12, at('innerTrap')), I.movX28Fp, I.popLr, I.ret] },
  { name: 'innerTrap', words: (at, here) => [I.pushLr, I.movFpX28, bl(here + 8, at('trapDivZero')), I.popLr, I.ret] },
];

function layout(): { text: Uint8Array; functions: ImageFunction[]; sites: ImageSite[]; index: (name: string) => number } {
  const starts = new Map<string, number>();
  let pos = 0;
  for (const f of FNS) {
    starts.set(f.name, pos);
    pos += (f.words(() => 0, 0).length * 4 + 15) & ~15;
  }
  const at = (name: string): number => starts.get(name)!;
  const text = new Uint8Array(pos);
  const view = new DataView(text.buffer);
  const functions: ImageFunction[] = [];
  const sites: ImageSite[] = [];
  FNS.forEach((f, k) => {
    const words = f.words(at, at(f.name));
    words.forEach((w, i) => view.setUint32(at(f.name) + 4 * i, w, true));
    functions.push({ name: f.name, codeStart: at(f.name), codeEnd: at(f.name) + 4 * words.length, frameSize: f.name.startsWith('outer') ? 16 : 0, paramCount: 0, wasmOffset: 0x100 + 0x10 * k });
    // the return address of an outer function's call is a site
    if (f.name.startsWith('outer')) sites.push({ codeOffset: at(f.name) + SITE_AT, func: k, site: 1, fpOffset: SITE_FP_OFFSET, slotTypes: new Uint8Array(0), wasmOffset: 0x100 + 0x10 * k + 4 });
  });
  return { text, functions, sites, index: (name) => FNS.findIndex((f) => f.name === name) };
}

/** An arm64 image whose `_start` is function `start`, exporting `answer` as well. */
function arm64Image(start: string): Uint8Array {
  const { text, functions, sites, index } = layout();
  const none = new Uint8Array(0);
  // the function table (read-only data, section 13): a count, then (code offset, type id + 1)
  const rodata = new Uint8Array(8 + 8 * functions.length);
  const rv = new DataView(rodata.buffer);
  rv.setUint32(0, functions.length, true);
  functions.forEach((f, k) => rv.setUint32(8 + 8 * k, f.codeStart, true));
  return writeImage({
    arch: 'arm64', text, rodata, stubs: { entry: 0 }, functions, sites: siteTable(sites),
    exports: [
      { name: '_start', kind: 'func', index: index(start), params: none, results: none },
      { name: 'answer', kind: 'func', index: index('answer'), params: none, results: Uint8Array.of(0x7f) },
    ],
    starts: [], memory: null, globals: none, globalTypes: none, table: null, instantiationTrap: 0,
  });
}

function x64Image(): Uint8Array {
  return compileProgram({ modules: [{ name: 'main', bytes: Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0) }], arch: 'x86-64' });
}

const hex = (s: string): string => Buffer.from(s).toString('hex');

// ---- tests ----

describe('aarch64 loader binary', () => {
  test('is a static, position-independent aarch64 ELF (static-pie: placed at a random address)', () => {
    if (!existsSync(A64)) throw new Error(`${A64} not built: ${INSTALL}`);
    const b = readFileSync(A64);
    expect([...b.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    expect(b[4]).toBe(2); // ELFCLASS64
    expect(b[5]).toBe(1); // little endian
    expect(b.readUInt16LE(16)).toBe(3); // ET_DYN: static-pie, the kernel picks its address
    expect(b.readUInt16LE(18)).toBe(183); // EM_AARCH64
    // static: no program interpreter (static-pie keeps a dynamic section, for relocating itself)
    const phoff = Number(b.readBigUInt64LE(32)), phentsize = b.readUInt16LE(54), phnum = b.readUInt16LE(56);
    const types = Array.from({ length: phnum }, (_, k) => b.readUInt32LE(phoff + k * phentsize));
    expect(types).toContain(1); // PT_LOAD
    expect(types).not.toContain(3); // PT_INTERP
  });
});

describe('aarch64 loader (under qemu-aarch64 on other hosts)', () => {
  test('refuses an x86-64 image, naming both arches', () => {
    const r = runLoader([writeTemp(x64Image())]);
    expect(r.stderr).toBe('gate-run: this loader runs arm64 images; the image is for x86-64\n');
    expect(r.status).toBe(2);
  });

  test('the x86-64 loader refuses an arm64 image the same way', () => {
    const r = spawnSync(X64, [writeTemp(arm64Image('answer'))], { encoding: 'utf8' });
    expect(r.stderr).toBe('gate-run: this loader runs x86-64 images; the image is for arm64\n');
    expect(r.status).toBe(2);
  });

  test('an unknown arch tag', () => {
    const b = arm64Image('answer');
    b[12] = 7;
    const r = runLoader([writeTemp(b)]);
    expect(r.stderr).toBe('gate-run: this loader runs arm64 images; the image has an unknown arch tag 7\n');
    expect(r.status).toBe(2);
  });

  const good = arm64Image('answer');
  const damaged: [string, Uint8Array, string][] = [
    ['garbage', Uint8Array.from({ length: 4096 }, (_, k) => (k * 7919 + 13) & 0xff), 'not a wagc image (bad magic)'],
    ['a 10-byte file', good.subarray(0, 10), 'file too small'],
    ['an image cut after the header', good.subarray(0, 24), 'truncated section table'],
    ['an image cut inside the text', good.subarray(0, 65536 + 16), 'section past the end of the file'],
  ];
  test.each(damaged)('refuses %s with a bad image line and status 2', (_what, bytes, message) => {
    const r = runLoader([writeTemp(bytes)]);
    expect(r.stderr).toBe(`gate-run: bad image: ${message}\n`);
    expect(r.status).toBe(2);
  });

  // the loader is the gate-run command: its usage errors are gate-run's one line (cli.c)
  test.each([
    [[] as string[], 'expected one image'],
    [['--bogus', 'x.img'], 'Unknown argument: --bogus'],
    [['x.img', '--stack-size', '1'], '--stack-size: a number of bytes from 65536 (64 KiB) to 1073741824 (1 GiB), not "1"'],
  ])('usage on bad arguments %j', (args, message) => {
    const r = runLoader(args);
    expect(r.stderr).toBe(`gate-run: error: ${message} (see gate-run --help)\n`);
    expect(r.status).toBe(2);
  });

  test('runs hand-made arm64 code: a result through the entry stub (--batch)', () => {
    const r = runLoader([writeTemp(arm64Image('answer')), '--batch'], `invoke ${hex('answer')}\ninvoke ${hex('nope')}\n`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ready\nok 000000000000002a\nerror no export\n');
    expect(r.status).toBe(0);
  });
});

describe('gate-run picks the loader from the arch tag', () => {
  test('exit status from a host call (gate.exit 42)', () => {
    const r = runCli([writeTemp(arm64Image('exit42'))]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(42);
  });

  test('_start returning: status 0', () => {
    const r = runCli([writeTemp(arm64Image('answer'))]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  // SIGILL and SIGSEGV in generated code reach the loader's handler (under qemu too) with pc and
  // x29 from uc_mcontext: the trace names the faulting function (pc) and its caller (the frame walk
  // from x29)
  test('a trap (udf: SIGILL) with its stack trace, status 134', () => {
    const r = runCli([writeTemp(arm64Image('outer'))]);
    expect(r.stderr).toBe('trap: unreachable\n  at inner (wasm offset 0x140)\n  at outer (wasm offset 0x134)\n');
    expect(r.status).toBe(134);
  });

  test('a fault in the memory reservation (SIGSEGV): out of bounds memory access', () => {
    const r = runCli([writeTemp(arm64Image('outerMem'))]);
    expect(r.stderr).toBe('trap: out of bounds memory access\n  at innerMem (wasm offset 0x160)\n  at outerMem (wasm offset 0x154)\n');
    expect(r.status).toBe(134);
  });

  test('a trap through a trap stub and rt_trap (the return address on the wasm stack names the function)', () => {
    const r = runCli([writeTemp(arm64Image('outerTrap'))]);
    expect(r.stderr).toBe('trap: integer divide by zero\n  at innerTrap (wasm offset 0x1a0)\n  at outerTrap (wasm offset 0x194)\n');
    expect(r.status).toBe(134);
  });

  test('--stack-size and program arguments pass through qemu to the loader', () => {
    const r = runCli(['--stack-size', '65536', writeTemp(arm64Image('exit42')), '--', 'a', 'b']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(42);
    // gate-run checks the range itself (issue 11, point 7), as the loader would
    const bad = runCli(['--stack-size', '1', writeTemp(arm64Image('exit42'))]);
    expect(bad.stderr).toMatch(/^gate-run: error: --stack-size: a number of bytes from 65536 \(64 KiB\) to 1073741824 \(1 GiB\), not "1"/);
    expect(bad.status).toBe(2);
    expect(runLoader(['--stack-size', '1', writeTemp(arm64Image('exit42'))]).stderr).toMatch(/^gate-run: error: --stack-size: /);
  });

  test('a bad arm64-tagged image: the loader\'s line and status 2', () => {
    const b = arm64Image('answer').slice(0, 65536 + 16);
    const r = runCli([writeTemp(b)]);
    expect(r.stderr).toBe('gate-run: bad image: section past the end of the file\n');
    expect(r.status).toBe(2);
  });

  (NATIVE ? test.skip : test)('without qemu-aarch64 on PATH: one line naming it and its package, status 2', () => {
    const path = writeTemp(arm64Image('exit42'));
    const r = runCli([path], { ...process.env, PATH: dir });
    expect(r.stderr).toBe(`gate-run: error: ${path}: arm64 image on this x86-64 host needs qemu-aarch64 on PATH (Debian package qemu-user)\n`);
    expect(r.status).toBe(2);
  });
});

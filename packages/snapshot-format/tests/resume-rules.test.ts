/**
 * The resume rules of docs/snapshot-format.md ("Resume rules"), one block a rule: each accepts a
 * stack a real run can leave and refuses the nearest forgery. The site map is the compiler's
 * (linkProgram with the runtime library), as wagc and gate-inspect use it.
 */
import { createHash } from 'crypto';
import { decodeModule, FD_BASE, opHandler } from '@wagc/frontend';
import { linkProgram, siteList, type ImageInput } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import {
  checkResume, functionSites, readSnapshot, writeSnapshot, SiteKind, SnapshotError, type Frame, type SiteInfo, type Snapshot,
} from '@wagc/snapshot-format';
import { wat } from './helpers';

const I32 = 0x7f, I64 = 0x7e, FUNCREF = 0x70, EXTERNREF = 0x6f;

// function indices: 0 fd_write, 1 proc_exit (imports), 2 $seven, 3 $wide, 4 $main, 5 $refs,
// 6 $hidden, 7 $dead
const PROGRAM = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (type $ri (func (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $seven $wide)
  (func $seven (result i32) (local $i i32) (loop $l) (i32.const 7))
  (func $wide (result i64) (local $i i32) (loop $l) (i64.const 1))
  (func $main (export "_start")
    (drop (call $seven))
    (drop (call_indirect (type $ri) (i32.const 0)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)))
    (loop $l))
  (func $refs (export "refs") (local $f funcref) (local $e externref) (loop $l))
  (func $hidden (local $i i32) (loop $l))
  (func $dead (export "dead") (unreachable) (loop $l)))`;
const SEVEN = 2, WIDE = 3, MAIN = 4, REFS = 5, HIDDEN = 6, DEAD = 7;

const runtime = wasiModule();
const rt = decodeModule(runtime);
const rtExport = (name: string): number => rt.exports.find((e) => e.kind === 'func' && e.name === name)!.index;

let program: Uint8Array;
let sites: SiteInfo[];
let snap: Snapshot;

/** The compiler's sites in module terms (module 0 the library, 1 the program). */
function siteMap(img: ImageInput): SiteInfo[] {
  const out: SiteInfo[] = [];
  for (const s of siteList(img.sites)) {
    for (const [k, m] of img.modules!.entries()) {
      if (s.func < m.funcBase || s.func >= m.funcBase + m.definedFuncs) continue;
      out.push({ module: k === 0 ? 'runtime' : 'program', func: m.importedFuncs + s.func - m.funcBase, site: s.site, slotTypes: s.slotTypes, check: (s as { check?: boolean }).check });
    }
  }
  return out;
}

/** A frame at (module, func, site) with the slots the site holds, all zero unless given. */
function frame(func: number, site: number, runtimeFrame = false, bits: bigint[] = []): Frame {
  const s = sites.find((x) => (x.module === 'runtime') === runtimeFrame && x.func === func && x.site === site)!;
  const slots = Array.from(s.slotTypes, (type, k) => ({ type, bits: bits[k] ?? 0n }));
  return runtimeFrame ? { module: 'runtime', func, site, slots } : { func, site, slots };
}

const MAIN_AT_SEVEN = (): Frame => frame(MAIN, 1);
const MAIN_AT_INDIRECT = (): Frame => frame(MAIN, 2);
const MAIN_AT_FD_WRITE = (): Frame => frame(MAIN, 3);

function withFrames(frames: Frame[], over: Partial<Snapshot> = {}): Snapshot {
  return { ...snap, frames, ...over };
}
function check(frames: Frame[], over: Partial<Snapshot> = {}, withSites = true): void {
  checkResume(withFrames(frames, over), { runtime, sites: withSites ? sites : undefined });
}
function refused(frames: Frame[], re: RegExp, over: Partial<Snapshot> = {}): void {
  expect(() => check(frames, over)).toThrow(SnapshotError);
  expect(() => check(frames, over)).toThrow(re);
}

beforeAll(async () => {
  program = await wat(PROGRAM, { reference_types: true });
  sites = siteMap(linkProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: runtime }, { name: 'main', bytes: program }], arch: 'x86-64' }));
  const digest = createHash('sha256').update(runtime).digest();
  snap = readSnapshot(writeSnapshot({ module: program, state: 'suspended', arch: 'x86-64', memory: { pages: 1, pageMap: new Map() }, globals: [], frames: [frame(SEVEN, 1), MAIN_AT_SEVEN()] }));
  snap.runtimeDigest = digest;
});

describe('the body scan agrees with the compiler', () => {
  test('every function of the program and of the runtime library: same sites, checks where the compiler checks', () => {
    for (const [which, m] of [['program', decodeModule(program)], ['runtime', rt]] as const) {
      for (let f = m.importedFuncs; f < m.importedFuncs + m.functions.length; f++) {
        const scan = functionSites(m, f);
        const compiled = sites.filter((s) => (s.module === 'runtime') === (which === 'runtime') && s.func === f);
        for (const s of compiled) expect([which, f, s.site, s.check]).toEqual([which, f, s.site, scan.kind[s.site] === SiteKind.Entry || scan.kind[s.site] === SiteKind.Loop]);
        expect(compiled.length).toBeLessThanOrEqual(scan.count);
      }
    }
  });
});

describe('the body scan reads SIMD immediates (0xfd)', () => {
  test('memargs, lane indices, v128.const and shuffle bytes (some 0x10 or 0x11, the call opcodes) are skipped; the sites after them agree with the compiler', async () => {
    const simd = await wat(`(module
      (memory 1)
      (func $t (param v128) (result v128) (local.get 0))
      (func $u (param i32) (result i32) (local.get 0))
      (type $tt (func (param i32) (result i32)))
      (table 1 funcref)
      (func (export "run") (result i32) (local v128)
        (local.set 0 (v128.const i8x16 0x10 0x11 0x10 0x11 0x10 0x11 0x10 0x11 0x10 0x11 0x10 0x11 0x10 0x11 0x10 0x11))
        (local.set 0 (call $t (i8x16.shuffle 16 17 0 1 16 17 0 1 16 17 0 1 16 17 0 1 (local.get 0) (v128.load offset=16 align=1 (i32.const 0)))))
        (local.set 0 (v128.load32_lane offset=17 2 (i32.const 16) (local.get 0)))
        (v128.store16_lane offset=16 7 (i32.const 0) (local.get 0))
        (loop $l (br_if $l (i32.eqz (i8x16.extract_lane_u 0x0f (call $t (i8x16.replace_lane 0x0e (local.get 0) (i32.const 0x11)))))))
        (drop (v128.load64_zero offset=0x10 (i32.const 0)))
        (i32.add (call $u (i32.const 1)) (call_indirect (type $tt) (i32.const 2) (i32.const 0)))))`, { simd: true });
    const m = decodeModule(simd);
    const scan = functionSites(m, 2);
    expect(Array.from(scan.kind)).toEqual([SiteKind.Entry, SiteKind.Call, SiteKind.Loop, SiteKind.Call, SiteKind.Call, SiteKind.CallIndirect]);
    expect(Array.from(scan.operand)).toEqual([0, 0, 0, 0, 1, 0]);
    const compiled = siteMap(linkProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: runtime }, { name: 'main', bytes: simd }], arch: 'x86-64' })).filter((s) => s.module !== 'runtime' && s.func === 2);
    expect(compiled.length).toBe(scan.count);
    for (const s of compiled) expect(s.check).toBe(scan.kind[s.site] === SiteKind.Entry || scan.kind[s.site] === SiteKind.Loop);
    // an unknown SIMD sub-opcode is named
    const bad = Uint8Array.from(simd);
    const at = bad.findIndex((b, k) => b === 0xfd && bad[k + 1] === 0x0c); // v128.const
    let sub = 0;
    while (opHandler[FD_BASE + sub] !== 0) sub++; // the first sub-opcode that is no instruction
    expect(sub).toBeLessThan(0x4000);
    bad[at + 1] = 0x80 | (sub & 0x7f); // two LEB bytes over v128.const's sub-opcode and first byte
    bad[at + 2] = sub >> 7;
    expect(() => functionSites({ ...m, bytes: bad }, 2)).toThrow(new RegExp(`unknown opcode 0xfd ${sub}`));
  });
});

describe('R1: only a suspended snapshot resumes', () => {
  test('a suspended one with a real stack passes; trapped and exited ones are refused whatever their stack', () => {
    expect(() => check([frame(SEVEN, 1), MAIN_AT_SEVEN()])).not.toThrow();
    refused([frame(SEVEN, 1), MAIN_AT_SEVEN()], /R1: the snapshot is of a trapped instance \(trap 1\)/, { state: 'trapped', trapId: 1 });
    refused([frame(SEVEN, 1), MAIN_AT_SEVEN()], /R1: the snapshot is of an exited instance \(status 3\)/, { state: 'exited', exitStatus: 3 });
  });
  test('a halted one has nothing to resume and passes', () => {
    expect(() => check([], { state: 'halted' })).not.toThrow();
  });
});

describe('R2: frames in the runtime library belong to this build of it', () => {
  test('the digest of the library being linked, or a refusal', () => {
    const fd = rtExport('fd_write');
    const frames = [frame(fd, 0, true), MAIN_AT_FD_WRITE()];
    expect(() => check(frames)).not.toThrow();
    refused(frames, /R2: .*another build of the runtime library/, { runtimeDigest: new Uint8Array(32) });
    refused(frames, /R2/, { runtimeDigest: null });
  });
});

describe('R3: each frame stops at a site of its function, holding that site\'s slots', () => {
  test('a site the function does not have', () => {
    refused([frame(SEVEN, 1), { ...MAIN_AT_SEVEN(), site: 9 }], /R3: frame 1 \(function 4 "main", site 9\): the function has no site 9 \(it has 5\)/);
  });
  test('a site in unreachable code (the compiler made no site there)', () => {
    refused([frame(DEAD, 0, false), { func: 0, site: 0, slots: [] }].slice(0, 1).map(() => ({ func: DEAD, site: 1, slots: [] })), /R3: frame 0 .*site 1\): the site is in unreachable code/);
  });
  test('one slot more, or one retyped', () => {
    const more = frame(SEVEN, 1);
    more.slots.push({ type: I32, bits: 0n });
    refused([more, MAIN_AT_SEVEN()], /R3: frame 0 .*: 2 slots, the site holds 1/);
    const retyped = frame(SEVEN, 1);
    retyped.slots[0].type = I64;
    refused([retyped, MAIN_AT_SEVEN()], /R3: frame 0 .*, slot 0: i64, the site holds i32 there/);
    // without a site map the declared locals are still checked
    expect(() => check([retyped, MAIN_AT_SEVEN()], {}, false)).toThrow(/R3: frame 0 .*slot 0: i64, the function's local is i32/);
  });
  test('a frame at a trap, not at a site', () => {
    refused([{ func: SEVEN, site: 0xffffffff, slots: [] }, MAIN_AT_SEVEN()], /R3: frame 0 .*: stopped at a trap/);
  });
  test('a function the module does not define', () => {
    refused([{ func: 1, site: 0, slots: [] }, MAIN_AT_SEVEN()], /R3: frame 0 \(function 1 "exit", site 0\): no such defined function/);
  });
});

describe('R4: the innermost frame is at a check, the others wait in calls', () => {
  test('innermost at a call', () => {
    refused([MAIN_AT_SEVEN()], /R4: frame 0 .*the innermost frame must be at an entry or loop check, this site is a call/);
  });
  test('an outer frame at a loop check, or at the entry check', () => {
    refused([frame(SEVEN, 1), frame(MAIN, 4)], /R4: frame 1 .*an outer frame must wait in a call, this site is a loop check/);
    refused([frame(SEVEN, 1), frame(MAIN, 0)], /R4: frame 1 .*this site is the entry check/);
  });
});

describe('R5: each frame is the callee of the call site of the frame outside it', () => {
  test('a direct call: that function, and no other (the issue\'s attack: a frame of another function, returning another type)', () => {
    expect(() => check([frame(SEVEN, 0), MAIN_AT_SEVEN()])).not.toThrow();
    refused([frame(WIDE, 1), MAIN_AT_SEVEN()], /R5: frame 0 \(function 3 "wide", site 1\): the call at frame 1 \(function 4 "main", site 1\) calls function 2, not this one/);
    refused([frame(HIDDEN, 1), MAIN_AT_SEVEN()], /R5: frame 0 .*calls function 2, not this one/);
  });
  test('a call of an import: the runtime library\'s function it binds to', () => {
    expect(() => check([frame(rtExport('fd_write'), 0, true), MAIN_AT_FD_WRITE()])).not.toThrow();
    refused([frame(rtExport('fd_read'), 0, true), MAIN_AT_FD_WRITE()], /R5: frame 0 \(runtime library function \d+ "fd_read", site 0\): the call at frame 1 .*calls wasi_snapshot_preview1.fd_write \(runtime library function \d+\), not this one/);
    // a program function where the library's should be
    refused([frame(SEVEN, 0), MAIN_AT_FD_WRITE()], /R5: frame 0 .*calls wasi_snapshot_preview1.fd_write/);
  });
  test('call_indirect: any function of the type it calls', () => {
    expect(() => check([frame(SEVEN, 1), MAIN_AT_INDIRECT()])).not.toThrow();
    refused([frame(WIDE, 1), MAIN_AT_INDIRECT()], /R5: frame 0 .*: its type is \[\] -> \[i64\], the call_indirect at frame 1 .* calls type \[\] -> \[i32\]/);
  });
  test('a call into the loader (a host call) has no wasm frame inside it', () => {
    let fn = -1, hostcallSite = -1;
    for (let f = rt.importedFuncs; f < rt.importedFuncs + rt.functions.length && hostcallSite < 0; f++) {
      const scan = functionSites(rt, f);
      hostcallSite = Array.from(scan.kind).findIndex((k, s) => k === SiteKind.Call && scan.operand[s] < rt.importedFuncs);
      fn = f;
    }
    expect(hostcallSite).toBeGreaterThan(0);
    refused([frame(SEVEN, 1), frame(fn, hostcallSite, true), MAIN_AT_FD_WRITE()], /R5: frame 0 .*: the call at frame 1 .* is the host call gate\.\w+, inside which no wasm frame runs/);
  });
  test('a dropped frame, or a duplicated one, breaks the chain', () => {
    // the other finding: the outermost frame dropped, or a frame duplicated
    refused([frame(SEVEN, 1), MAIN_AT_SEVEN(), MAIN_AT_SEVEN()], /R5: frame 1 .*the call at frame 2 .* calls function 2, not this one/);
  });
});

describe('R6: the outermost frame is the entry gate-run called', () => {
  test('an exported function, not another', () => {
    expect(() => check([frame(REFS, 1)])).not.toThrow();
    refused([frame(HIDDEN, 1)], /R6: frame 0 \(function 6 "hidden", site 1\): the outermost frame must be an exported function/);
    // the finding: the outermost frame dropped
    refused([frame(SEVEN, 1)], /R6: frame 0 \(function 2 "seven", site 1\)/);
  });
  test('never a runtime library function', () => {
    const fd = rtExport('fd_write');
    refused([frame(fd, 0, true)], /R6: frame 0 \(runtime library function/);
  });
});

describe('R7: every reference is null or one the program can hold', () => {
  const refs = (f: bigint, e = 0n): Frame[] => [frame(REFS, 1, false, [f, e])];
  test('funcref slots: null, a function of the program, a library function it imports', () => {
    expect(() => check(refs(0n))).not.toThrow();
    expect(() => check(refs(BigInt(SEVEN + 1)))).not.toThrow();
    expect(() => check(refs((1n << 32n) | BigInt(rtExport('fd_write') + 1)))).not.toThrow();
  });
  test('no function behind the word, a library function the program does not import, another module', () => {
    expect(sites.find((s) => s.func === REFS && s.site === 1)!.slotTypes).toEqual(Uint8Array.of(FUNCREF, EXTERNREF));
    refused(refs(1000n), /R7: frame 0 .*slot 0: a funcref to function 999, which the module does not have \(8 functions\)/);
    refused(refs((1n << 32n) | BigInt(rtExport('fd_read') + 1)), /R7: frame 0 .*slot 0: a funcref to runtime library function \d+, which the program does not import/);
    refused(refs(2n << 32n | 1n), /R7: .*neither 0 nor 1/);
  });
  test('externref: a wagc program is given none, so only null', () => {
    refused(refs(0n, 5n), /R7: frame 0 .*slot 1: a non-null externref/);
  });
  test('imported global values', () => {
    expect(() => check([frame(REFS, 1)], { importedGlobals: [{ type: FUNCREF, bits: 99n }] })).toThrow(/R7: imported global 0 holds a funcref to function 98/);
  });
});

/**
 * Corrupt images (fuzz/README.md, "Images"): an image is a trusted artifact, but the loader checks
 * what the generated code trusts (docs/image-format.md, "What the loader checks"), so a damaged
 * one ends with one line and status 2, or runs as an image whose data changed would: never a
 * death by signal, an "internal error" or a status the program cannot produce.
 *
 * The damage is structure-aware: a u32 field of a metadata section (header, section table, maps,
 * Meta, Globals, Tables, Modules, Resume, the function table) set to an edge or random value, a
 * byte flipped, a section's kind erased. Machine code is left alone: code is what it is.
 */
import { spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { compileProgram, type Arch } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { resumeProgram, snapshotOf } from '@wagc/cli';
import { defaultTarget, type Target } from './diff';
import { Rng } from './rng';

/** The program: a table, call_indirect, passive data and memory.init, globals, data pages, a start function. */
export const IMAGE_PROGRAM = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (type $ri (func (param i32) (result i32)))
  (table $t 4 funcref)
  (global $g (mut i32) (i32.const 5))
  (global $h (mut i64) (i64.const -1))
  (global $f (mut funcref) (ref.func $dbl))
  (elem (table $t) (i32.const 0) func $inc $dbl)
  (data $p "passive bytes")
  (data (i32.const 70000) "a page of data")
  (data (i32.const 16) "ok\\n")
  (func $inc (type $ri) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $ri) (i32.shl (local.get 0) (i32.const 1)))
  (func $init (global.set $g (i32.add (global.get $g) (i32.const 1))))
  (start $init)
  (func (export "_start") (local $i i32) (local $acc i32)
    (table.set $t (i32.const 2) (global.get $f))
    (memory.init $p (i32.const 100) (i32.const 0) (i32.const 13))
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (call_indirect $t (type $ri) (local.get $i) (i32.rem_u (local.get $i) (i32.const 3)))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 50))))
    (global.set $h (i64.extend_i32_u (local.get $acc)))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

interface Field { at: number; size: 4 | 8 }

/**
 * The fields worth damaging, grouped by section (each group drawn as often as any other, so the
 * small sections count as much as the large maps): everything but the text, the strings (names
 * and words) and the memory pages, which are data rather than structure.
 */
function metadataFields(img: Uint8Array): Field[][] {
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const groups: Field[][] = [];
  const header: Field[] = [];
  for (let o = 8; o < 24; o += 4) header.push({ at: o, size: 4 });
  const n = dv.getUint32(20, true);
  for (let k = 0; k < n; k++) {
    const e = 24 + 24 * k;
    header.push({ at: e, size: 4 }, { at: e + 8, size: 8 }, { at: e + 16, size: 8 });
    const kind = dv.getUint32(e, true);
    const off = Number(dv.getBigUint64(e + 8, true)), size = Number(dv.getBigUint64(e + 16, true));
    if (kind === 1 || kind === 5) continue;
    const limit = kind === 8 ? Math.min(size, 8 + 16 * 64) : size;
    const g: Field[] = [];
    for (let o = 0; o + 4 <= limit; o += 4) g.push({ at: off + o, size: 4 });
    if (g.length) groups.push(g);
  }
  groups.push(header);
  return groups;
}

const EDGES = [0, 1, 2, 3, 4, 7, 8, 15, 16, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000, 0xffff, 13, 12];

/** A damaged copy of `img` and what was done to it. */
export function corrupt(img: Uint8Array, rng: Rng): { image: Uint8Array; what: string } {
  const out = img.slice();
  const dv = new DataView(out.buffer);
  const fields = metadataFields(img);
  const what: string[] = [];
  const n = 1 + (rng.chance(0.2) ? rng.int(3) : 0);
  for (let k = 0; k < n; k++) {
    const f = rng.pick(rng.pick(fields));
    const kind = rng.int(10);
    if (kind < 4) {
      const v = rng.pick(EDGES);
      if (f.size === 8) dv.setBigUint64(f.at, BigInt(v), true);
      else dv.setUint32(f.at, v, true);
      what.push(`@${f.at}=${v}`);
    } else if (kind < 6) {
      const old = dv.getUint32(f.at, true);
      const v = (old + rng.pick([1, -1, 4, -4, 8, 16, 0x100, 0x10000])) >>> 0;
      dv.setUint32(f.at, v, true);
      what.push(`@${f.at}=${old}→${v}`);
    } else if (kind < 8) {
      const b = f.at + rng.int(f.size);
      out[b] ^= 1 << rng.int(8);
      what.push(`bit @${b}`);
    } else {
      dv.setUint32(f.at, rng.u32(), true);
      what.push(`@${f.at}=random`);
    }
  }
  return { image: out, what: what.join(' ') };
}

export interface ImageOutcome { what: string; outcome: string; finding?: string }

export class ImageFuzzer {
  private dir = mkdtempSync(join(tmpdir(), 'wagc-fuzz-images-'));
  private count = 0;
  private bases = new Map<Arch, Uint8Array[]>();

  constructor(private targets: Record<Arch, Target> = { 'x86-64': defaultTarget('x86-64'), arm64: defaultTarget('arm64') }) {}

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  run(arch: Arch, image: Uint8Array, extra: string[] = []): Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }> {
    const t = this.targets[arch];
    const path = join(this.dir, `i${this.count++}.img`);
    writeFileSync(path, image);
    const args = [...t.prefix, t.loader, path, ...(t.prefix.length ? ['--emulated'] : []), '--timeout', '20', ...extra];
    return new Promise((resolve) => {
      const child = spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => void (stdout.length < 4096 && (stdout += d)));
      child.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr.length < 4096 && (stderr += d)));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
      child.on('close', (status, signal) => {
        clearTimeout(timer);
        rmSync(path, { force: true });
        resolve({ status, signal, stdout, stderr });
      });
    });
  }

  /** The undamaged images: the program, and the same program resumed from a snapshot at a loop check. */
  async basesFor(arch: Arch, program: Uint8Array): Promise<Uint8Array[]> {
    let b = this.bases.get(arch);
    if (b) return b;
    const modules = [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes: program }];
    const plain = compileProgram({ modules, arch });
    const x64 = compileProgram({ modules, arch: 'x86-64' });
    const state = join(this.dir, 'state');
    const r = await this.run('x86-64', x64, ['--suspend-at-check', '20', '--state-out', state]);
    if (r.status !== 3) throw new Error(`images: the base program did not suspend: ${r.stderr}`);
    const { readFileSync } = await import('fs');
    const snap = snapshotOf(x64, readFileSync(state));
    const { modules: mods, resume } = resumeProgram(snap, arch);
    b = [plain, compileProgram({ modules: mods, arch, resume })];
    this.bases.set(arch, b);
    return b;
  }

  /** Damage case `seed` of `base` and run it. */
  async case(arch: Arch, base: Uint8Array, seed: number): Promise<ImageOutcome> {
    const { image, what } = corrupt(base, new Rng(seed, 0x1a6e));
    const r = await this.run(arch, image);
    const lines = r.stderr.split('\n').filter((l) => l);
    if (r.signal) return { what, outcome: `killed by ${r.signal}`, finding: `killed by ${r.signal}: ${r.stderr.slice(0, 300)}` };
    if (/internal error|uncaught target signal/.test(r.stderr)) return { what, outcome: 'internal error', finding: r.stderr.slice(0, 300) };
    if (r.status === 2) {
      if (lines.length === 1 && lines[0].startsWith('gate-run: ')) return { what, outcome: `refused: ${lines[0].replace(/^gate-run: (bad image: )?/, '').replace(/[:(].*/, '').trim()}` };
      return { what, outcome: 'exit 2', finding: `exit 2 without exactly one line: ${r.stderr.slice(0, 300)}` };
    }
    if (r.status === 0) return { what, outcome: r.stdout === 'ok\n' ? 'ran as before' : 'ran' };
    if (r.status === 134 && /^trap: /.test(lines[0] ?? '')) return { what, outcome: `trap: ${lines[0].slice(6)}` };
    if (r.status === 124) return { what, outcome: 'timeout' };
    return { what, outcome: `exit ${r.status}`, finding: `exit ${r.status}: ${r.stderr.slice(0, 300)}` };
  }
}

/**
 * Migrating cases (fuzz/README.md, "Migration"): a generated module's `run` is suspended at
 * chosen points, each snapshot compiled for the other arch and resumed there (x86-64 ↔ arm64,
 * under qemu-aarch64 on an x86-64 host), and the end (the result or trap of `run`, then memory
 * and globals) is compared with V8's uninterrupted run.
 *
 * The points are checks (function entries and loop headers, the only places a program
 * suspends): the loader's test option `--suspend-at-check N` makes every check fail into the
 * loader, which counts them and suspends at the Nth. A counting run (x86-64) first gives the
 * number of checks `run` passes, T; a hop plan (a pure function of the case seed) places 1–3
 * suspensions at fractions of T. Every run after a resume also reports the checks it passed,
 * which must be exactly what was left: the same wasm execution on both arches.
 *
 * The final state is read through a snapshot too: the loader's state file at the halt or trap
 * becomes a (halted or trapped) snapshot, which V8 instantiates to call `memhash` and the
 * `gbits<k>` getters. So the state V8 sees is the one wagc's snapshot carries.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { spawn } from 'child_process';
import { decodeModule } from '@wagc/frontend';
import { compileProgram, type Arch } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { snapshotOf, resumeProgram } from '@wagc/cli';
import { memoryPages, readSnapshot, restoreModule, writeSnapshot } from '@wagc/snapshot-format';
import { compareOutcomes, defaultTarget, HOST_CPU_FEATURES, type Outcome, type RunResult, type Target, type V8Runner, WAGC_TRAPS } from './diff';
import { Rng } from './rng';

/** Where a case starts and where (as fractions of its checks) it is suspended. */
export interface HopPlan {
  start: Arch;
  /** In (0, 1], ascending: suspend at check ceil(f · T). */
  points: number[];
}

/**
 * Whether migrating case `seed` is suspended near the stack limit (3 in 10): its module ends
 * `run` with an endless recursion (GenOptions.deepRecursion), whose checks are then nearly all
 * of `run`'s, and its hop plan suspends it in the recursion's last percent, down to the last
 * check before the stack is exhausted. A program suspended there must resume at the same
 * --stack-size on either arch and exhaust its stack at the same call as uninterrupted (issue 18).
 */
export function nearLimit(seed: number): boolean {
  return new Rng(seed, 0x57ac).chance(0.3);
}

/**
 * The hop plan of case `seed`: 1, 2 or 3 suspensions (weights 2:2:1), either arch first. Near
 * the limit (`nearLimit`) the last point, and each other one half of the time, is in the last
 * percent of the checks, a fifth of those at the very last one.
 */
export function hopPlan(seed: number): HopPlan {
  const rng = new Rng(seed, 0x41c9);
  const start: Arch = rng.chance(0.5) ? 'x86-64' : 'arm64';
  const n = rng.pick([1, 1, 2, 2, 3]);
  const points = Array.from({ length: n }, () => (1 + rng.int(1000)) / 1000).sort((a, b) => a - b);
  if (nearLimit(seed)) {
    const near = new Rng(seed, 0x57ad);
    for (let k = 0; k < n; k++) {
      if (k < n - 1 && near.chance(0.5)) continue;
      points[k] = near.chance(0.2) ? 1 : 1 - near.int(1000) / 100000;
    }
    points.sort((a, b) => a - b);
  }
  return { start, points };
}

/** One suspension: the arch it ran on, at which check (counted over the whole run), frames. */
/** A hop: where it stopped, its frames, and the v128 values its snapshot carried (slots and globals). */
export interface Hop { arch: Arch; check: number; frames: number; v128: number }

export interface MigrateOutcome extends Outcome {
  /** Checks `run` passes (the counting run). */
  checks?: number;
  hops: Hop[];
  /** Something went wrong on the way (a compile, a resume, a loader crash): a disagreement. */
  failure?: string;
  /** Nothing to compare (the counting run timed out). */
  skipped?: string;
}

export interface MigrateOptions {
  /** Applied to each snapshot before it is compiled for the next arch (tests inject damage). */
  tamper?: (snapshot: Uint8Array, hop: number) => Uint8Array;
  /**
   * The counting run's time limit (x86-64; a case that takes longer is skipped). The hops get
   * a minute plus 20 times what the counting run took: arm64 runs under qemu.
   */
  timeoutMs?: number;
}

const other = (a: Arch): Arch => (a === 'x86-64' ? 'arm64' : 'x86-64');
const NEVER = '4611686018427387904'; // 2^62 checks: only counts
const hex64 = (v: bigint): string => BigInt.asUintN(64, v).toString(16).padStart(16, '0');

interface LoaderRun { status: number | null; stdout: string; stderr: string; state: Uint8Array | null; snapshot: Uint8Array | null; timedOut: boolean }

export class MigrateRunner {
  private dir = mkdtempSync(join(tmpdir(), 'wagc-fuzz-migrate-'));
  private count = 0;

  constructor(private targets: Record<Arch, Target> = { 'x86-64': defaultTarget('x86-64'), arm64: defaultTarget('arm64') },
    private opts: MigrateOptions = {}) {}

  /** Runs an image (with `--invoke run` when `invoke`), suspending at check `at` of this run. */
  private runLoader(arch: Arch, image: Uint8Array, at: string, invoke: boolean, timeoutMs: number): Promise<LoaderRun> {
    const t = this.targets[arch];
    const k = this.count++;
    const img = join(this.dir, `m${k}.img`), state = join(this.dir, `m${k}.state`), snap = join(this.dir, `m${k}.snapshot.wasm`);
    writeFileSync(img, image);
    // the loader writes the snapshot itself (loader-c/src/snapshot.c) besides the state dump: each
    // hop checks the two writers agree byte for byte
    const args = [...t.prefix, t.loader, img, ...(t.prefix.length ? ['--emulated'] : []),
      ...(invoke ? ['--invoke', 'run'] : []), '--state-out', state, '--snapshot', snap, '--suspend-at-check', at];
    return new Promise((resolve) => {
      const child = spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '', timedOut = false;
      child.stdout.setEncoding('utf8').on('data', (d: string) => void (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr.length < 8192 && (stderr += d)));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('close', (status) => {
        clearTimeout(timer);
        const read = (p: string): Uint8Array | null => {
          try {
            const b = new Uint8Array(readFileSync(p));
            return b.length ? b : null;
          } catch {
            return null; // not written
          }
        };
        const bytes = read(state), snapshot = read(snap);
        for (const p of [img, state, snap]) rmSync(p, { force: true });
        resolve({ status, stdout, stderr, state: bytes, snapshot, timedOut });
      });
    });
  }

  async run(bytes: Uint8Array, plan: HopPlan): Promise<MigrateOutcome> {
    const countMs = this.opts.timeoutMs ?? 10000;
    const out: MigrateOutcome = { globals: {}, hops: [] };
    const cpu = bytes.reduce((h, b) => (h * 31 + b) >>> 0, 7) & 1 ? HOST_CPU_FEATURES : 0;
    const compile = (arch: Arch): Uint8Array => compileProgram({
      modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }],
      arch, cpuFeatures: arch === 'x86-64' ? cpu : 0,
    });
    let image: Uint8Array;
    try {
      image = compile('x86-64');
    } catch (e) {
      out.compileError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      return out;
    }
    const checksOf = (r: LoaderRun): number | null => {
      const m = /^checks (\d+)$/m.exec(r.stderr);
      return m ? Number(m[1]) : null;
    };
    const crash = (r: LoaderRun, what: string): string =>
      `${what}: ${r.timedOut ? 'timed out' : `exit ${r.status}`}${r.stderr ? `: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}` : ''}`;

    // the counting run: how many checks `run` passes (and whether instantiation traps)
    const began = Date.now();
    const counted = await this.runLoader('x86-64', image, NEVER, true, countMs);
    const timeoutMs = 60000 + 20 * (Date.now() - began);
    if (counted.timedOut) return { ...out, skipped: 'counting run timed out' };
    const total = checksOf(counted);
    if (total === null) {
      const st = counted.state;
      if (counted.status === 134 && st && st.length >= 20) {
        out.instantiate = `trap ${readU32(st, 16)} ${WAGC_TRAPS[readU32(st, 16)]?.[0] ?? ''}`;
        return out;
      }
      return { ...out, failure: crash(counted, 'counting run') };
    }
    out.checks = total;

    const points = [...new Set(plan.points.map((f) => Math.max(1, Math.ceil(f * total))))].sort((a, b) => a - b);
    let arch = plan.start;
    if (arch !== 'x86-64') {
      try {
        image = compile(arch);
      } catch (e) {
        out.compileError = `${arch}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
        return out;
      }
    }
    let passed = 0;
    for (let k = 0; k <= points.length; k++) {
      const last = k === points.length;
      const r = await this.runLoader(arch, image, last ? NEVER : String(points[k] - passed), k === 0, timeoutMs);
      const where = `hop ${k} (${arch}${last ? ', to the end' : `, check ${points[k]} of ${total}`})`;
      if (!last) {
        if (r.status !== 3 || !r.state) return { ...out, failure: crash(r, `${where}: not suspended`) };
        let snap: Uint8Array;
        try {
          snap = snapshotOf(image, r.state);
          sameSnapshot(snap, r.snapshot);
          if (this.opts.tamper) snap = this.opts.tamper(snap, k);
          const next = other(arch);
          const { modules, resume, snapshot } = resumeProgram(snap, next);
          const v128 = snapshot.frames.reduce((n, f) => n + f.slots.filter((x) => x.type === 0x7b).length, 0) +
            snapshot.globals.filter((g) => g.type === 0x7b).length;
          out.hops.push({ arch, check: points[k], frames: snapshot.frames.length, v128 });
          image = compileProgram({ modules, arch: next, cpuFeatures: next === 'x86-64' ? cpu : 0, resume });
          arch = next;
        } catch (e) {
          return { ...out, failure: `${where}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` };
        }
        passed = points[k];
        continue;
      }
      // the end: what the rest of the run passed must be what was left
      const checks = checksOf(r);
      if (checks !== total - passed) {
        return { ...out, failure: `${where}: ${checks === null ? crash(r, 'no check count') : `passed ${checks} checks, ${total - passed} were left`}` };
      }
      if (r.status === 0) {
        const v = /^(-?\d+)\n?$/.exec(r.stdout);
        if (!v) return { ...out, failure: `${where}: printed "${r.stdout.slice(0, 80)}", not a result` };
        out.run = { value: hex64(BigInt(v[1])) };
      } else if (r.status === 134 && r.state && r.state.length >= 20) {
        const id = readU32(r.state, 16);
        out.run = { trap: WAGC_TRAPS[id]?.[0] ?? `other: ${id}`, text: r.stderr.split('\n')[0] ?? '', id };
      } else return { ...out, failure: crash(r, where) };
      if (!r.state) return { ...out, failure: `${where}: no state written` };
      try {
        const snap = snapshotOf(image, r.state);
        sameSnapshot(snap, r.snapshot);
        readFinalState(snap, out);
      } catch (e) {
        return { ...out, failure: `${where}: the final snapshot: ${e instanceof Error ? e.message : String(e)}` };
      }
    }
    return out;
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The loader's own snapshot is byte for byte writeSnapshot's of the same state. */
function sameSnapshot(js: Uint8Array, loader: Uint8Array | null): void {
  if (!loader) throw new Error('the loader wrote no snapshot');
  if (Buffer.compare(Buffer.from(js.buffer, js.byteOffset, js.length), Buffer.from(loader.buffer, loader.byteOffset, loader.length)) === 0) return;
  let k = 0;
  while (k < js.length && k < loader.length && js[k] === loader[k]) k++;
  throw new Error(`the loader's snapshot (${loader.length} bytes) differs from writeSnapshot's (${js.length} bytes) at byte ${k}`);
}

function readU32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** memhash and the g<k> globals of a halted or trapped snapshot, read by V8. */
function readFinalState(snapshot: Uint8Array, out: MigrateOutcome): void {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(snapshot as Uint8Array<ArrayBuffer>), {});
  const ex = inst.exports as Record<string, () => bigint>;
  if (typeof ex.memhash === 'function') out.memhash = hex64(ex.memhash());
  for (const name of Object.keys(ex)) {
    if (/^gbits\d+$/.test(name)) out.globals[`g${name.slice(5)}`] = hex64(ex[name]());
  }
}

export interface MigrateVerdict {
  v8: Outcome;
  wagc: MigrateOutcome;
  differences: string[];
  skipped?: string;
}

/** V8's uninterrupted run against wagc's migrating one. */
export async function diffMigrate(bytes: Uint8Array, plan: HopPlan, opts: { v8: V8Runner; migrate: MigrateRunner; timeoutMs?: number }): Promise<MigrateVerdict> {
  try {
    if (decodeModule(bytes).imports.length) return { v8: { globals: {} }, wagc: { globals: {}, hops: [] }, differences: [], skipped: 'imports: not a migrating module' };
  } catch {
    // malformed: V8 says so
  }
  const [v8, wagc] = await Promise.all([opts.v8.run(bytes, [], opts.timeoutMs ?? 10000), opts.migrate.run(bytes, plan)]);
  if (v8.invalid) return { v8, wagc, differences: [], skipped: `invalid: ${v8.invalid}` };
  if (v8.run && 'timeout' in v8.run) return { v8, wagc, differences: [], skipped: 'V8 timed out' };
  if (wagc.skipped) return { v8, wagc, differences: [], skipped: wagc.skipped };
  if (wagc.failure) return { v8, wagc, differences: [`migrate: ${wagc.failure}`] };
  return { v8, wagc, differences: compareOutcomes(v8, wagc) };
}

/** "2 hops x86-64→arm64→x86-64 at checks 10, 200 of 300" */
export function describeHops(o: MigrateOutcome): string {
  if (!o.hops.length) return 'no hop';
  const arches = [...o.hops.map((h) => h.arch), other(o.hops[o.hops.length - 1].arch)].join('→');
  return `${o.hops.length} hop${o.hops.length > 1 ? 's' : ''} ${arches} at checks ${o.hops.map((h) => h.check).join(', ')} of ${o.checks}`;
}

/**
 * A damaged snapshot for tests (MigrateOptions.tamper): the last slot of every frame zeroed (the
 * top operand-stack value, or the last local when the stack is empty), as a resume that dropped
 * a value would leave it.
 */
export function zeroLastSlots(snapshot: Uint8Array): Uint8Array {
  const s = readSnapshot(snapshot);
  return writeSnapshot({
    module: restoreModule(s),
    state: s.state,
    arch: s.arch,
    memory: s.memory ? { pages: s.memory.pages, pageMap: memoryPages(s) } : null,
    globals: s.globals.map((g) => g.bits),
    frames: s.frames.map((f) => ({ ...f, slots: f.slots.map((v, k) => (k === f.slots.length - 1 ? { ...v, bits: 0n } : v)) })),
  });
}

export type { RunResult };

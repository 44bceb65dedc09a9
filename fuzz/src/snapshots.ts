/**
 * The snapshot fuzzer (fuzz/README.md, "Snapshots"): real snapshots, taken by the loader at a
 * chosen check of a generated module's `run` or of a hand-written WASI program (snapshot-corpus.ts),
 * mutated as an attacker would (frames swapped, dropped, duplicated, replaced by another
 * function's, sites moved, slots added, removed, retyped and revalued, references forged, the
 * state or the runtime digest changed), then compiled exactly as `wagc` does and, when wagc
 * accepts them, run. Snapshots are untrusted input: an accepted one must run, exit or end in a
 * wasm trap (or a timeout, or a stack the loader finds too deep). A death by signal, a loader
 * "internal error", any other loader refusal, or an exception of the compiler that is not a
 * clean refusal is a finding.
 */
import { spawn } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CompileError, decodeModule, type Module } from '@wagc/frontend';
import { compileProgram, LinkError, linkProgram, siteList, type Arch } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { resumeProgram, snapshotOf } from '@wagc/cli';
import {
  functionSites, memoryPages, readSnapshot, SiteKind, SnapshotError, writeSnapshot, type Frame, type Slot, type Snapshot,
} from '@wagc/snapshot-format';
import { generate } from './gen';
import { defaultTarget, type Target } from './diff';
import { Rng, weighted } from './rng';
import { CORPUS } from './snapshot-corpus';

const TYPES = [0x7f, 0x7e, 0x7d, 0x7c, 0x70, 0x6f];
const NEVER = '4611686018427387904';

export interface SnapshotCase {
  seed: number;
  /** Where it came from: `gen:SEED:SIZE` or `corpus:NAME`. */
  source: string;
  /** The mutations applied, in order. */
  mutations: string[];
  /** refused (with the rule or reader reason), ran, trap, exited, timeout, too deep, skipped. */
  outcome: string;
  /** Set when this is a finding. */
  finding?: string;
  arch: Arch;
  /** The mutated snapshot, when one was made. */
  snapshot?: Uint8Array;
}

interface LoaderRun { status: number | null; signal: string | null; stdout: string; stderr: string; state: Uint8Array | null; timedOut: boolean }

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');
let corpus: { name: string; bytes: Uint8Array }[] | null = null;

async function corpusModules(): Promise<{ name: string; bytes: Uint8Array }[]> {
  if (corpus) return corpus;
  const wabt = await wabtInit();
  corpus = CORPUS.map((c) => {
    const m = wabt.parseWat(`${c.name}.wat`, c.wat, { multi_value: true, reference_types: true, bulk_memory: true });
    try {
      return { name: c.name, bytes: new Uint8Array(m.toBinary({ write_debug_names: true }).buffer) };
    } finally {
      m.destroy();
    }
  });
  return corpus;
}

export class SnapshotFuzzer {
  private dir = mkdtempSync(join(tmpdir(), 'wagc-fuzz-snapshots-'));
  private count = 0;
  private readonly runtime = wasiModule();
  private readonly rt: Module = decodeModule(this.runtime);

  constructor(private targets: Record<Arch, Target> = { 'x86-64': defaultTarget('x86-64'), arm64: defaultTarget('arm64') },
    private opts: { arm64Share?: number; maxSize?: number } = {}) {}

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private runLoader(arch: Arch, image: Uint8Array, extra: string[], timeoutMs: number): Promise<LoaderRun> {
    const t = this.targets[arch];
    const k = this.count++;
    const img = join(this.dir, `s${k}.img`), state = join(this.dir, `s${k}.state`);
    writeFileSync(img, image);
    // --timeout in the loader (a mutated counter may loop for long), and a kill far later
    const args = [...t.prefix, t.loader, img, ...(t.prefix.length ? ['--emulated'] : []), '--state-out', state, '--timeout', '20', ...extra];
    return new Promise((resolve) => {
      const child = spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '', timedOut = false;
      child.stdout.setEncoding('utf8').on('data', (d: string) => void (stdout.length < 8192 && (stdout += d)));
      child.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr.length < 8192 && (stderr += d)));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('close', (status, signal) => {
        clearTimeout(timer);
        let bytes: Uint8Array | null = null;
        try {
          bytes = new Uint8Array(readFileSync(state));
        } catch {
          // not written
        }
        rmSync(img, { force: true });
        rmSync(state, { force: true });
        resolve({ status, signal, stdout, stderr, state: bytes && bytes.length ? bytes : null, timedOut });
      });
    });
  }

  /** Case `seed`: a snapshot taken, mutated, compiled and (when wagc accepts it) run. */
  async run(seed: number): Promise<SnapshotCase> {
    const rng = new Rng(seed, 0x5a9f);
    const arch: Arch = rng.chance(this.opts.arm64Share ?? 0.1) ? 'arm64' : 'x86-64';
    const out: SnapshotCase = { seed, source: '', mutations: [], outcome: '', arch };
    // the program: a generated module (its `run`, invoked) or a WASI program of the corpus
    let bytes: Uint8Array;
    let invoke: string[];
    if (rng.chance(0.3)) {
      const c = rng.pick(await corpusModules());
      out.source = `corpus:${c.name}`;
      bytes = c.bytes;
      invoke = [];
    } else {
      const gseed = rng.u32(), size = 1 + rng.int(this.opts.maxSize ?? 16);
      out.source = `gen:${gseed}:${size}`;
      bytes = generate({ seed: gseed, size, noImports: true }).bytes;
      invoke = ['--invoke', 'run'];
    }
    const modules = [{ name: 'wasi_snapshot_preview1', bytes: this.runtime }, { name: 'main', bytes }];
    let image: Uint8Array;
    try {
      image = compileProgram({ modules, arch: 'x86-64' });
    } catch (e) {
      return { ...out, outcome: 'skipped: the program does not compile', finding: e instanceof CompileError || e instanceof LinkError ? undefined : `compile: ${String(e)}` };
    }
    // the checks its run passes, then a real suspension at one of them
    const counted = await this.runLoader('x86-64', image, [...invoke, '--suspend-at-check', NEVER], 30000);
    const total = Number(/^checks (\d+)$/m.exec(counted.stderr)?.[1] ?? 0);
    if (!total) return { ...out, outcome: 'skipped: no check passed (instantiation trapped, or a timeout)' };
    const at = 1 + rng.int(total);
    const suspended = await this.runLoader('x86-64', image, [...invoke, '--suspend-at-check', String(at)], 30000);
    if (suspended.status !== 3 || !suspended.state) return { ...out, outcome: `skipped: not suspended at check ${at} (exit ${suspended.status})` };
    let base: Uint8Array;
    try {
      base = snapshotOf(image, suspended.state);
    } catch (e) {
      return { ...out, outcome: 'skipped', finding: `snapshotOf: ${String(e)}` };
    }

    // the mutations, then the snapshot's bytes
    const snap = readSnapshot(base);
    const sites = siteTable(linkProgram({ modules, arch: 'x86-64' }));
    const mutated = this.mutate(rng, snap, sites, out.mutations);
    let evil: Uint8Array;
    try {
      evil = encode(base, snap, mutated, this.runtime);
    } catch (e) {
      // the writer refuses what the module alone rules out: put the frames in raw instead
      out.mutations.push(`(raw gate.stack: the writer refused: ${(e as Error).message.slice(0, 80)})`);
      evil = spliceStack(base, mutated.frames, snap.runtimeDigest);
    }
    out.snapshot = evil;

    // wagc, as its main does it
    let resumed: Uint8Array;
    try {
      const { modules: mods, resume } = resumeProgram(evil, arch);
      resumed = compileProgram({ modules: mods, arch, resume });
    } catch (e) {
      if (e instanceof SnapshotError || e instanceof LinkError || e instanceof CompileError) {
        const m = /^(R\d)/.exec(e.message);
        return { ...out, outcome: `refused: ${m ? m[1] : e instanceof SnapshotError ? 'reader' : e.name}` };
      }
      return { ...out, outcome: 'internal error', finding: `wagc: ${e instanceof Error ? e.stack ?? e.message : String(e)}` };
    }
    const r = await this.runLoader(arch, resumed, [], arch === 'arm64' ? 240000 : 60000);
    if (r.timedOut) return { ...out, outcome: 'timeout (killed)', finding: 'the loader ignored --timeout' };
    if (r.signal) return { ...out, outcome: `killed by ${r.signal}`, finding: `loader killed by ${r.signal}: ${r.stderr.slice(0, 400)}` };
    if (/internal error|qemu: uncaught target signal/.test(r.stderr)) return { ...out, outcome: 'internal error', finding: r.stderr.slice(0, 400) };
    // the program's own proc_exit status (it may be 2 or 3, the loader's statuses): the state file says so
    const exited = !!r.state && r.state.length >= 16 && (r.state[12] | (r.state[13] << 8)) === 3;
    if (exited) return { ...out, outcome: 'exited' };
    // the trap line (the program may have written to stderr before it), and the state file's state
    const trapLine = /^trap: (.*)$/m.exec(r.stderr);
    const trapped = !!r.state && r.state.length >= 16 && (r.state[12] | (r.state[13] << 8)) === 2;
    if (r.status === 134 && trapLine && trapped) return { ...out, outcome: `trap: ${trapLine[1].replace(/ \(.*/, '')}` };
    if (r.status === 124) return { ...out, outcome: 'timeout' };
    if (r.status === 2 && /does not fit in --stack-size/.test(r.stderr)) return { ...out, outcome: 'too deep for the stack' };
    if (r.status === 0) return { ...out, outcome: 'ran to its end' };
    if (r.status !== null && r.status !== 2 && r.status !== 3 && r.status < 128) return { ...out, outcome: 'exited' };
    return { ...out, outcome: `exit ${r.status}`, finding: `loader exit ${r.status}: ${r.stderr.slice(0, 400)}` };
  }

  /** 1–4 mutations of the snapshot's stack or state (the numbers are weights). */
  private mutate(rng: Rng, snap: Snapshot, sites: SiteTable, log: string[]): Mutated {
    const m: Mutated = { frames: snap.frames.map((f) => ({ ...f, slots: f.slots.map((s) => ({ ...s })) })), state: snap.state, digest: snap.runtimeDigest };
    const prog = decodeModule(snap.module);
    const n = 1 + weighted(rng, [5, 3, 2, 1]);
    for (let k = 0; k < n; k++) {
      const fr = m.frames;
      const pickFrame = (): number => rng.int(fr.length);
      switch (weighted(rng, [8, 4, 4, 4, 6, 4, 3, 6, 10, 5, 2, 2, 2, 4])) {
        case 0: { // a frame of another function, at one of its sites, slots of the site's types
          const j = pickFrame();
          const f = randomSiteFrame(rng, sites, prog, this.rt, rng.chance(0.2));
          if (f) { fr[j] = f; log.push(`frame ${j} replaced by ${f.module === 'runtime' ? 'runtime ' : ''}function ${f.func} at site ${f.site}`); }
          break;
        }
        case 1: if (fr.length > 1) { const a = pickFrame(), b = pickFrame(); [fr[a], fr[b]] = [fr[b], fr[a]]; log.push(`frames ${a} and ${b} swapped`); } break;
        case 2: if (fr.length > 1) { const j = pickFrame(); fr.splice(j, 1); log.push(`frame ${j} dropped`); } break;
        case 3: { const j = pickFrame(); fr.splice(j, 0, cloneFrame(fr[j])); log.push(`frame ${j} duplicated`); break; }
        case 4: { // the site moved within the function (its slots kept, or made the new site's)
          const j = pickFrame();
          const f = fr[j];
          const own = sites.of(f.module === 'runtime', f.func);
          if (!own.length) break;
          const s = rng.pick(own);
          const keep = rng.chance(0.3);
          fr[j] = keep ? { ...f, site: s.site } : { ...f, site: s.site, slots: Array.from(s.slotTypes, (t, x) => f.slots[x] && f.slots[x].type === t ? f.slots[x] : { type: t, bits: randomBits(rng, t, prog, this.rt) }) };
          log.push(`frame ${j} moved to site ${s.site}${keep ? ' (slots kept)' : ''}`);
          break;
        }
        case 5: { const j = pickFrame(); fr[j] = { ...fr[j], site: rng.pick([fr[j].site + 1, Math.max(0, fr[j].site - 1), rng.int(64), 0xffffffff]) }; log.push(`frame ${j} site index changed to ${fr[j].site}`); break; }
        case 6: { // a slot added or removed
          const j = pickFrame();
          if (rng.chance(0.5) && fr[j].slots.length) { fr[j].slots.pop(); log.push(`frame ${j}: last slot removed`); }
          else { const t = rng.pick(TYPES); fr[j].slots.push({ type: t, bits: randomBits(rng, t, prog, this.rt) }); log.push(`frame ${j}: a slot added`); }
          break;
        }
        case 7: { // a slot retyped, its value kept or made the new type's
          const j = pickFrame();
          if (!fr[j].slots.length) break;
          const x = rng.int(fr[j].slots.length);
          const t = rng.pick(TYPES);
          fr[j].slots[x] = { type: t, bits: rng.chance(0.5) ? fr[j].slots[x].bits & (t === 0x7f || t === 0x7d ? 0xffffffffn : 0xffffffffffffffffn) : randomBits(rng, t, prog, this.rt) };
          log.push(`frame ${j} slot ${x} retyped ${t.toString(16)}`);
          break;
        }
        case 8: { // a slot revalued (the common case a run could reach: any value of its type)
          const j = pickFrame();
          if (!fr[j].slots.length) break;
          const x = rng.int(fr[j].slots.length);
          fr[j].slots[x] = { type: fr[j].slots[x].type, bits: randomBits(rng, fr[j].slots[x].type, prog, this.rt) };
          log.push(`frame ${j} slot ${x} revalued`);
          break;
        }
        case 9: { // a forged reference: a funcref slot or any slot made a funcref word
          const j = pickFrame();
          if (!fr[j].slots.length) break;
          const x = rng.int(fr[j].slots.length);
          const t = rng.chance(0.7) ? 0x70 : fr[j].slots[x].type;
          fr[j].slots[x] = { type: t, bits: forgedRef(rng, prog, this.rt) };
          log.push(`frame ${j} slot ${x} forged ref`);
          break;
        }
        case 10: m.state = rng.pick(['trapped', 'exited', 'halted'] as const); log.push(`state ${m.state}`); break;
        case 11: m.digest = rng.chance(0.5) ? null : new Uint8Array(32).map(() => rng.int(256)); log.push('runtime digest changed'); break;
        case 12: { const j = pickFrame(); fr[j] = { ...fr[j], module: fr[j].module === 'runtime' ? undefined : 'runtime' }; log.push(`frame ${j} module flipped`); break; }
        case 13: { // the innermost frame replaced by a legit-looking callee: a function of the same type
          const j = 0;
          const f = randomSiteFrame(rng, sites, prog, this.rt, false, true);
          if (f) { fr[j] = f; log.push(`innermost frame replaced by function ${f.func} at check site ${f.site}`); }
          break;
        }
      }
      if (!fr.length) fr.push(cloneFrame(snap.frames[0]));
    }
    return m;
  }
}

interface Mutated { frames: Frame[]; state: Snapshot['state']; digest: Uint8Array | null }

interface SiteRow { runtime: boolean; func: number; site: number; slotTypes: Uint8Array; check: boolean }
interface SiteTable { all: SiteRow[]; of(runtime: boolean, func: number): SiteRow[] }

function siteTable(img: ReturnType<typeof linkProgram>): SiteTable {
  const all: SiteRow[] = [];
  for (const s of siteList(img.sites)) {
    img.modules!.forEach((m, k) => {
      if (s.func < m.funcBase || s.func >= m.funcBase + m.definedFuncs) return;
      all.push({ runtime: k === 0, func: m.importedFuncs + s.func - m.funcBase, site: s.site, slotTypes: s.slotTypes, check: (s as { check?: boolean }).check === true });
    });
  }
  const by = new Map<string, SiteRow[]>();
  for (const s of all) {
    const key = `${s.runtime}:${s.func}`;
    let l = by.get(key);
    if (!l) by.set(key, (l = []));
    l.push(s);
  }
  return { all, of: (runtime, func) => by.get(`${runtime}:${func}`) ?? [] };
}

function cloneFrame(f: Frame): Frame {
  return { ...f, slots: f.slots.map((s) => ({ ...s })) };
}

/** A frame at a random site (a check only, when asked) of a random function, with random slot values. */
function randomSiteFrame(rng: Rng, sites: SiteTable, prog: Module, rt: Module, runtime: boolean, checkOnly = false): Frame | null {
  const candidates = sites.all.filter((s) => s.runtime === runtime && (!checkOnly || s.check));
  if (!candidates.length) return null;
  const s = rng.pick(candidates);
  const slots: Slot[] = Array.from(s.slotTypes, (t) => ({ type: t, bits: rng.chance(0.5) ? 0n : randomBits(rng, t, prog, rt) }));
  return runtime ? { module: 'runtime', func: s.func, site: s.site, slots } : { func: s.func, site: s.site, slots };
}

const EDGES32 = [0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x10000n, 0xfffffn];
const EDGES64 = [0n, 1n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0x100000000n, 0x7fff000000000014n, 0x7ff8000000000001n];

function randomBits(rng: Rng, type: number, prog: Module, rt: Module): bigint {
  switch (type) {
    case 0x7f: case 0x7d: return rng.chance(0.5) ? rng.pick(EDGES32) : BigInt(rng.u32());
    case 0x7e: case 0x7c: return rng.chance(0.5) ? rng.pick(EDGES64) : rng.u64();
    case 0x70: return rng.chance(0.3) ? 0n : forgedRef(rng, prog, rt);
    default: return rng.chance(0.7) ? 0n : rng.u64();
  }
}

/** A funcref word: a real function of the program or the library, or none at all. */
function forgedRef(rng: Rng, prog: Module, rt: Module): bigint {
  const nProg = prog.importedFuncs + prog.functions.length;
  const nRt = rt.importedFuncs + rt.functions.length;
  switch (rng.int(5)) {
    case 0: return BigInt(1 + rng.int(nProg));
    case 1: return (1n << 32n) | BigInt(1 + rng.int(nRt));
    case 2: return BigInt(nProg + 1 + rng.int(1000));
    case 3: return rng.u64();
    default: return (BigInt(rng.int(3)) << 32n) | BigInt(rng.u32());
  }
}

/** The mutated snapshot through the writer (it refuses what the module alone rules out). */
function encode(base: Uint8Array, snap: Snapshot, m: Mutated, runtime: Uint8Array): Uint8Array {
  const frames = m.state === 'halted' ? [] : m.frames;
  const bytes = writeSnapshot({
    module: base,
    state: m.state,
    trapId: m.state === 'trapped' ? 1 : undefined,
    exitStatus: m.state === 'exited' ? 3 : undefined,
    arch: snap.arch,
    memory: snap.memory ? { pages: snap.memory.pages, pageMap: memoryPages(snap) } : null,
    globals: snap.globals.map((g) => g.bits),
    frames,
    runtime: m.digest === snap.runtimeDigest ? runtime : undefined,
    buffer: snap.buffer,
  });
  return m.digest === snap.runtimeDigest || !frames.length ? bytes : spliceStack(bytes, frames, m.digest);
}

/** `bytes` with its gate.stack payload replaced by these frames, as raw as the format allows. */
export function spliceStack(bytes: Uint8Array, frames: Frame[], digest: Uint8Array | null): Uint8Array {
  const w: number[] = [];
  const u32 = (v: number): void => { v >>>= 0; do { let b = v & 0x7f; v >>>= 7; if (v) b |= 0x80; w.push(b); } while (v); };
  u32(digest?.length ?? 0);
  for (const b of digest ?? []) w.push(b);
  u32(frames.length);
  for (const f of frames) {
    w.push(f.module === 'runtime' ? 1 : 0);
    u32(f.func);
    u32(f.site);
    u32(f.slots.length);
    for (const s of f.slots) {
      w.push(s.type);
      let v = BigInt.asUintN(64, s.bits);
      for (let k = 0; k < 8; k++) { w.push(Number(v & 0xffn)); v >>= 8n; }
    }
  }
  const payload = Uint8Array.from(w);
  const name = new TextEncoder().encode('gate.stack');
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let at = 8;
  const leb = (): number => { let v = 0, s = 0, b: number; do { b = bytes[at++]; v += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return v; };
  const sized = (id: number, body: Uint8Array): Uint8Array => {
    const h: number[] = [id];
    let n = body.length;
    do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; h.push(b); } while (n);
    const o = new Uint8Array(h.length + body.length);
    o.set(h);
    o.set(body, h.length);
    return o;
  };
  let replaced = false;
  while (at < bytes.length) {
    const start = at;
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 0) {
      const save = at;
      const n = leb();
      const nm = new TextDecoder().decode(bytes.subarray(at, at + n));
      at = save;
      if (nm === 'gate.stack') {
        const body = new Uint8Array(1 + name.length + payload.length);
        body[0] = name.length;
        body.set(name, 1);
        body.set(payload, 1 + name.length);
        parts.push(sized(0, body));
        replaced = true;
        at = end;
        continue;
      }
    }
    parts.push(bytes.subarray(start, end));
    at = end;
  }
  if (!replaced) {
    const body = new Uint8Array(1 + name.length + payload.length);
    body[0] = name.length;
    body.set(name, 1);
    body.set(payload, 1 + name.length);
    parts.push(sized(0, body));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let p = 0;
  for (const x of parts) { out.set(x, p); p += x.length; }
  return out;
}

export { SiteKind, functionSites };

/**
 * Portable snapshots: what suspending, writing and resuming a program costs, against how much of
 * its 64 MiB of linear memory it has touched.
 *   npm run bench:snapshot [-- --runs 5] [-- --touch 0,1,8,32,64] [-- --arch x86-64,arm64]
 *
 * The program is bench/programs/snapshot-touch.wat, assembled for each touched size (in MiB) with
 * the constant of its $touched global rewritten: it fills that much memory with non-zero words,
 * prints "ready", then works in rounds (locals and random words of the touched memory) reading a
 * byte of stdin after each one. With stdin /dev/zero it runs until suspended; resumed with stdin
 * /dev/null it finishes the round it was in, prints "rounds R checksum C" and exits. For each size:
 *
 * 1. suspend latency: SIGQUIT sent (some ms after "ready", so the program is in its rounds) until
 *    the process exits with status 3, median of --runs; for the loader itself
 *    (packages/loader-c/build/gate-run-x86_64 IMG --state-out F: the state dump written) and for
 *    the gate-run CLI with --snapshot (the dump, then node turning it into the snapshot .wasm);
 * 2. sizes: the state dump, the snapshot (and its data section's share), against the touched size;
 * 3. back to running: `wagc SNAPSHOT.wasm -o R.img` in this process (after a warm-up) and as a CLI
 *    process, then the loader on R.img from its start until it exits (maps the image, restores
 *    memory, rebuilds the stack, finishes the round): "resume → exit"; beside it the same image's
 *    program run from scratch to its first round ("fresh → exit": fill memory, one round, exit).
 *
 * Each resumed run's output is checked against an uninterrupted run given R - 1 bytes of stdin,
 * which must print the same line: otherwise the size's row is marked and the benchmark exits 1.
 * Nothing is asserted about times. --arch arm64 does everything with arm64 images under
 * qemu-aarch64 (emulated: those times say little about a real ARM64 machine).
 */
import { spawn, spawnSync } from 'child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { cpus, loadavg } from 'os';
import { join, resolve } from 'path';
import { loaderPath } from '@wagc/loader-c';
import { wagc } from '@wagc/cli';

const root = resolve(__dirname, '../..');
const outDir = join(root, 'out/bench/snapshot');
const gateRunJs = join(root, 'packages/cli/bin/gate-run.js');
const wagcJs = join(root, 'packages/cli/bin/wagc.js');
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : def;
};
const runs = Number(opt('runs', '5'));
const touches = opt('touch', '0,1,8,32,64').split(',').filter((s) => s !== '').map(Number);
const arches = opt('arch', 'x86-64').split(',').filter((s) => s !== '') as Arch[];
for (const a of arches) if (a !== 'x86-64' && a !== 'arm64') throw new Error(`--arch: x86-64 or arm64, not ${a}`);
const MIB = 1 << 20;
const EXIT_SUSPENDED = 3;

type Arch = 'x86-64' | 'arm64';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');

/** The program touching `mib` MiB, as a binary module. */
async function program(mib: number): Promise<Uint8Array> {
  const src = readFileSync(join(root, 'bench/programs/snapshot-touch.wat'), 'utf8');
  const marked = /\(i32\.const \d+\)\) ;; @touched-bytes/;
  if (!marked.test(src) || mib < 0 || mib > 64) throw new Error(`cannot set the touched size ${mib} MiB`);
  const text = src.replace(marked, `(i32.const ${mib * MIB})) ;; @touched-bytes`);
  const wabt = await wabtInit();
  const mod = wabt.parseWat(`snapshot-touch-${mib}.wat`, text, {});
  try {
    return mod.toBinary({ write_debug_names: true }).buffer;
  } finally {
    mod.destroy();
  }
}

/** `wagc IN -o OUT --arch A` in this process; its time in ms. */
async function compileHere(input: string, output: string, arch: Arch): Promise<number> {
  const t0 = now();
  const status = await wagc([input, '-o', output, '--arch', arch]);
  const ms = now() - t0;
  if (status !== 0) throw new Error(`wagc ${input} failed (status ${status})`);
  return ms;
}

/** `wagc IN -o OUT --arch A` as a process (node's start included); its wall time in ms. */
function compileCli(input: string, output: string, arch: Arch): number {
  const t0 = now();
  const r = spawnSync(process.execPath, [wagcJs, input, '-o', output, '--arch', arch], { encoding: 'utf8' });
  const ms = now() - t0;
  if (r.status !== 0) throw new Error(`wagc ${input}: status ${r.status} ${r.stderr}`);
  return ms;
}

/** The command line running the loader for `arch` (under qemu-aarch64 when emulated). */
function loaderCommand(arch: Arch, loaderArgs: string[]): [string, string[]] {
  if (arch === 'x86-64') return [loaderPath('x86-64'), loaderArgs];
  return ['qemu-aarch64', [loaderPath('arm64'), '--emulated', ...loaderArgs]];
}

interface Suspension { ms: number; status: number | null; signal: string | null; stdout: string; stderr: string }

/**
 * Starts `command` with stdin /dev/zero, waits for the program's "ready" and `settle` ms more, sends
 * SIGQUIT and times until the process exits.
 */
function suspendOnce(command: string, argv: string[], settle: number): Promise<Suspension> {
  return new Promise((resolvePromise, reject) => {
    const stdin = openSync('/dev/zero', 'r');
    const child = spawn(command, argv, { stdio: [stdin, 'pipe', 'pipe'] });
    closeSync(stdin);
    let stdout = '';
    let stderr = '';
    let sentAt = NaN;
    let exitAt = NaN;
    let exit: { status: number | null; signal: string | null } | null = null;
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${argv.join(' ')}: no exit 120 s after starting`));
    }, 120_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const first = !stdout.includes('ready\n');
      stdout += d;
      if (first && stdout.includes('ready\n')) {
        setTimeout(() => {
          sentAt = now();
          child.kill('SIGQUIT');
        }, settle);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('exit', (status, signal) => {
      exitAt = now();
      exit = { status, signal };
    });
    child.on('close', () => {
      clearTimeout(guard);
      resolvePromise({ ms: exitAt - sentAt, status: exit?.status ?? null, signal: exit?.signal ?? null, stdout, stderr });
    });
  });
}

/** Runs to the end with `stdin` (a path) as input; wall time of the process in ms. */
function runToEnd(command: string, argv: string[], stdin: string): { ms: number; status: number | null; stdout: string; stderr: string } {
  const fd = openSync(stdin, 'r');
  try {
    const t0 = now();
    const r = spawnSync(command, argv, { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', timeout: 120_000 });
    const ms = now() - t0;
    if (r.error) throw r.error;
    return { ms, status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    closeSync(fd);
  }
}

/** Sizes of a module's sections by id (customs under "custom"), with headers. */
function sectionSizes(bytes: Uint8Array): Map<number, number> {
  const sizes = new Map<number, number>();
  let p = 8;
  while (p < bytes.length) {
    const start = p;
    const id = bytes[p++];
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[p++];
      size += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    p += size;
    sizes.set(id, (sizes.get(id) ?? 0) + (p - start));
  }
  return sizes;
}

interface Row {
  mib: number;
  suspendLoader: number;
  suspendCli: number;
  dump: number;
  snapshot: number;
  data: number;
  compileProgram: number;
  compileHere: number;
  compileCli: number;
  image: number;
  resume: number;
  fresh: number;
  ok: boolean;
  note: string;
}

const SETTLE_MS = [20, 35, 50, 65, 80];

async function measure(arch: Arch, mib: number): Promise<Row> {
  const base = join(outDir, `touch-${mib}-${arch}`);
  const wasm = `${base}.wasm`;
  const img = `${base}.img`;
  const snap = `${base}.snapshot.wasm`;
  const resumed = `${base}.resumed.img`;
  const state = `${base}.state`;
  writeFileSync(wasm, await program(mib));
  await compileHere(wasm, img, arch); // warm-up
  const compileProgram = await compileHere(wasm, img, arch);
  const notes: string[] = [];

  // 1. suspend latency: the loader itself, then the gate-run CLI writing the snapshot
  const loaderRuns: number[] = [];
  let dump = 0;
  for (let k = 0; k < runs; k++) {
    rmSync(state, { force: true });
    const [cmd, argv] = loaderCommand(arch, [img, '--state-out', state, '--']);
    const s = await suspendOnce(cmd, argv, SETTLE_MS[k % SETTLE_MS.length]);
    if (s.status !== EXIT_SUSPENDED || !existsSync(state)) throw new Error(`loader ${img}: status ${s.status ?? s.signal}, no state dump? ${s.stderr}`);
    loaderRuns.push(s.ms);
    dump = statSync(state).size;
  }
  const cliRuns: number[] = [];
  for (let k = 0; k < runs; k++) {
    rmSync(snap, { force: true });
    const s = await suspendOnce(process.execPath, [gateRunJs, img, '--snapshot', snap, '--'], SETTLE_MS[k % SETTLE_MS.length]);
    if (s.status !== EXIT_SUSPENDED || !existsSync(snap)) throw new Error(`gate-run ${img}: status ${s.status ?? s.signal}, no snapshot? ${s.stderr}`);
    cliRuns.push(s.ms);
  }

  // 2. sizes (of the last snapshot, the one resumed below)
  const snapBytes = readFileSync(snap);
  const data = sectionSizes(snapBytes).get(11) ?? 0;

  // 3. back to running
  await compileHere(snap, resumed, arch); // warm-up
  const here: number[] = [];
  const cli: number[] = [];
  for (let k = 0; k < runs; k++) {
    here.push(await compileHere(snap, resumed, arch));
    cli.push(compileCli(snap, resumed, arch));
  }
  const resumes: number[] = [];
  const freshes: number[] = [];
  let line = '';
  for (let k = 0; k < runs; k++) {
    const [rc, ra] = loaderCommand(arch, [resumed, '--']);
    const r = runToEnd(rc, ra, '/dev/null');
    if (r.status !== 0 || !/^rounds [0-9a-f]{16} checksum [0-9a-f]{16}\n$/.test(r.stdout)) throw new Error(`resumed ${resumed}: status ${r.status}, output ${JSON.stringify(r.stdout)} ${r.stderr}`);
    if (line && r.stdout !== line) notes.push('resumed runs disagree');
    line = r.stdout;
    resumes.push(r.ms);
    const [fc, fa] = loaderCommand(arch, [img, '--']);
    const f = runToEnd(fc, fa, '/dev/null');
    if (f.status !== 0) throw new Error(`fresh ${img}: status ${f.status} ${f.stderr}`);
    freshes.push(f.ms);
  }
  // the uninterrupted run given R - 1 bytes of input must end the same way
  const rounds = parseInt(line.slice(7, 23), 16);
  const input = `${base}.input`;
  writeFileSync(input, new Uint8Array(rounds - 1));
  const [uc, ua] = loaderCommand(arch, [img, '--']);
  const u = runToEnd(uc, ua, input);
  if (u.stdout !== `ready\n${line}`) notes.push(`resumed: ${line.trim()}; uninterrupted: ${JSON.stringify(u.stdout)}`);

  return {
    mib,
    suspendLoader: median(loaderRuns),
    suspendCli: median(cliRuns),
    dump,
    snapshot: snapBytes.length,
    data,
    compileProgram,
    compileHere: median(here),
    compileCli: median(cli),
    image: statSync(resumed).size,
    resume: median(resumes),
    fresh: median(freshes),
    ok: notes.length === 0,
    note: notes.join('; '),
  };
}

const ms = (x: number, w: number): string => x.toFixed(1).padStart(w);
const mb = (x: number, w: number): string => (x / MIB).toFixed(2).padStart(w);

function report(arch: Arch, rows: Row[]): void {
  const emulated = arch === 'arm64' && process.arch !== 'arm64';
  console.log(`\n=== ${arch}${emulated ? ' (EMULATED: qemu-aarch64 on this host; not ARM64 hardware speed)' : ''}: 64 MiB memory, medians of ${runs} runs ===`);
  console.log('\n1. suspend latency, ms from SIGQUIT to exit (status 3)');
  console.log('touched MiB   loader (state dump)   gate-run CLI (snapshot .wasm)');
  for (const r of rows) console.log(`${String(r.mib).padStart(11)} ${ms(r.suspendLoader, 21)} ${ms(r.suspendCli, 31)}`);
  console.log('\n2. sizes, MiB');
  console.log('touched MiB   state dump   snapshot   data section   data share   snapshot - touched (KiB)');
  for (const r of rows) {
    const share = r.snapshot ? `${((100 * r.data) / r.snapshot).toFixed(1)}%` : '';
    console.log(`${String(r.mib).padStart(11)} ${mb(r.dump, 12)} ${mb(r.snapshot, 10)} ${mb(r.data, 14)} ${share.padStart(12)} ${((r.snapshot - r.mib * MIB) / 1024).toFixed(1).padStart(24)}`);
  }
  console.log('\n3. back to running, ms');
  console.log('touched MiB   wagc prog (in-proc)   wagc snap (in-proc)   wagc snap (CLI)   resumed image MiB   resume → exit   fresh → exit');
  for (const r of rows) {
    console.log(`${String(r.mib).padStart(11)} ${ms(r.compileProgram, 21)} ${ms(r.compileHere, 21)} ${ms(r.compileCli, 17)} ${mb(r.image, 19)} ${ms(r.resume, 15)} ${ms(r.fresh, 14)}${r.ok ? '' : `   !!! ${r.note}`}`);
  }
}

async function main(): Promise<number> {
  mkdirSync(outDir, { recursive: true });
  for (const arch of arches) if (!existsSync(loaderPath(arch))) throw new Error(`no ${arch} loader (${loaderPath(arch)}): npm run build`);
  const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
  console.log(`snapshot benchmark: node ${process.version}, ${runs} runs per measure, touched sizes ${touches.join(', ')} MiB`);
  console.log(`${cpus().length} CPUs, load average ${load()} at the start (times are wall times: a loaded machine stretches them)`);
  let failed = false;
  for (const arch of arches) {
    const rows: Row[] = [];
    for (const mib of touches) {
      process.stderr.write(`  ${arch}: ${mib} MiB...\n`);
      try {
        const row = await measure(arch, mib);
        failed ||= !row.ok;
        rows.push(row);
      } catch (e) {
        // the other sizes are still measured; this one is left out of the tables
        failed = true;
        console.log(`!!! ${arch}, ${mib} MiB: ${e instanceof Error ? e.message : e}`);
      }
    }
    report(arch, rows);
  }
  console.log(`\nload average ${load()} at the end`);
  if (failed) {
    console.log('\nbench: FAILED: a size failed, or a resumed program did not end as the uninterrupted one (see !!! above)');
    return 1;
  }
  return 0;
}

main().then(
  (status) => { process.exitCode = status; },
  (e) => {
    console.error(`bench: ${e instanceof Error ? e.message : e}`);
    process.exitCode = 1;
  },
);

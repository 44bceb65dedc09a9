/**
 * Issue 6, real programs: C programs built with wasi-libc (`clang --target=wasm32-wasi -O2`,
 * tests/e2e/wasi-c/build.sh) run by gate-run on x86-64 and on ARM64 (qemu-aarch64), with stdout,
 * stderr and exit status equal to node:wasi's run of the same .wasm. What varies run to run
 * (times, random bytes) the programs reduce to facts in their output; the check is never loosened.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { compileProgram, type Arch } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { loaderPath } from '@wagc/loader-c';

const root = join(__dirname, '../..');
const gateRun = join(root, 'packages/cli/bin/gate-run.js');
const haveClang = spawnSync('clang', ['--version']).status === 0 && existsSync('/usr/include/wasm32-wasi/stdio.h');
const haveArm = existsSync(loaderPath('arm64')) && spawnSync('qemu-aarch64', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'wagc-programs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Case { name: string; program: string; args?: string[]; env?: string[]; input?: string; status: number; expect?: RegExp[] }

const PROSE = `The quick brown fox jumps over the lazy dog.
  Indented line, with "quotes", (parentheses) and numbers: 42, 3.14, 1e10!
\tTabbed: the THE The tHe -- dashes; semicolons; colons:
Pack my box with five dozen liquor jugs. The end?
aeiou AEIOU aaeeiioouu queueing
the the the fox fox dog
`;

const TINY = `# from stdin
fn ack(m, n) {
  if (m == 0) { return n + 1; }
  if (n == 0) { return ack(m - 1, 1); }
  return ack(m - 1, ack(m, n - 1));
}
fn fact(n) { if (n < 2) { return 1; } return n * fact(n - 1); }
let a = array(64); let i = 0;
while (i < len(a)) { a[i] = (i * 37 + 11) % 64; i = i + 1; }
# bubble sort
let swapped = 1;
while (swapped) {
  swapped = 0; i = 1;
  while (i < len(a)) { if (a[i - 1] > a[i]) { let t = a[i]; a[i] = a[i - 1]; a[i - 1] = t; swapped = 1; } i = i + 1; }
}
print "sorted", a[0], a[1], a[32], a[63];
print "ack(2, 3) =", ack(2, 3), "fact(15) =", fact(15);
let x = 7; if (x > 5 && !(x == 8) || 0) { print "logic ok"; } else { print "logic broken"; }
print "negative", -x * 3, 17 / -5, 17 % -5, -17 % 5;
`;

const CASES: Case[] = [
  { name: 'printf formatting', program: 'format', status: 0, expect: [/\[2147483647\] \[2147483647\]/, /strtod\("0x1p-3"\) = 0\.125/] },
  { name: 'qsort through function pointers', program: 'sort', status: 0, expect: [/sorted=1 same-as-merge-sort=1/] },
  { name: 'malloc/free churn', program: 'alloc', status: 0, expect: [/, 0 corrupted/, /calloc gave zeros after dirty frees: yes/] },
  { name: 'string processing of stdin', program: 'text', input: PROSE, status: 0, expect: [/^ 1\. the +\d+$/m] },
  { name: 'string processing of empty stdin', program: 'text', input: '', status: 2 },
  {
    name: 'args and environment', program: 'args-env', status: 51,
    args: ['alpha', '42', '-7', 'beta gamma', '0x10', '99999999999999999999', ''],
    env: ['GREETING=hello', 'EMPTY=', 'WITH_EQUALS=a=b=c', 'LANG=C.UTF-8', 'Z_LAST=z'],
    expect: [/getenv\(WITH_EQUALS\) = "a=b=c"/, /getenv\(HOME\) = \(unset\)/],
  },
  { name: 'clocks', program: 'clocks', status: 0, expect: [/backwards 0 times/, /by monotonic: yes, by realtime: yes/] },
  { name: 'random bytes', program: 'random', status: 0, expect: [/differ: yes; first all zeros: no/, /below 480: yes/] },
  { name: 'interpreter: built-in program', program: 'interp', status: 0, expect: [/^fib\(22\) = 17711$/m, /^primes below 30000: 3245$/m] },
  { name: 'interpreter: program on stdin', program: 'interp', input: TINY, status: 0, expect: [/^sorted 0 1 32 63$/m, /^ack\(2, 3\) = 9 fact\(15\) = 1307674368000$/m] },
  { name: 'interpreter: runtime error', program: 'interp', input: 'let a = 10;\nlet b = a - 10;\nprint a / b;\n', status: 3, expect: [/^runtime error, line 3: division by zero$/m] },
  { name: 'interpreter: syntax error', program: 'interp', input: 'print (1 + ;\n', status: 2 },
];

interface Run { status: number | null; stdout: string; stderr: string }

/** The .wasm under node:wasi, argv[0] = `argv0`, exactly the given environment. */
function runNode(wasm: string, argv0: string, c: Case): Run {
  const env = Object.fromEntries((c.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const script = `
    const { WASI } = require('node:wasi');
    const [wasm, args, env] = JSON.parse(process.argv[1]);
    const wasi = new WASI({ version: 'preview1', args, env, returnOnExit: true });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(require('fs').readFileSync(wasm)), { wasi_snapshot_preview1: wasi.wasiImport });
    process.exitCode = wasi.start(inst);`;
  const r = spawnSync(process.execPath, ['--no-turbo-fast-api-calls', '--no-warnings', '-e', script, JSON.stringify([wasm, [argv0, ...(c.args ?? [])], env])], {
    encoding: 'utf8', timeout: 120000, input: c.input ?? '', maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** gate-run IMG --env ... -- ARGS (under qemu-aarch64 for arm64, which gate-run starts itself). */
function runGate(img: string, c: Case): Run {
  const envArgs = (c.env ?? []).flatMap((kv) => ['--env', kv]);
  const r = spawnSync(process.execPath, [gateRun, img, ...envArgs, '--', ...(c.args ?? [])], {
    encoding: 'utf8', timeout: 300000, input: c.input ?? '', cwd: dir, maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const images = new Map<string, string>();
function imageFor(program: string, arch: Arch): string {
  const key = `${program}-${arch}`;
  let img = images.get(key);
  if (!img) {
    img = join(dir, `${key}.img`);
    const bytes = new Uint8Array(readFileSync(join(dir, `${program}.wasm`)));
    writeFileSync(img, compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }], arch }));
    images.set(key, img);
  }
  return img;
}

(haveClang ? describe : describe.skip)('wasi-libc C programs: gate-run prints and exits as node:wasi does', () => {
  beforeAll(() => {
    const b = spawnSync('bash', [join(__dirname, 'wasi-c/build.sh'), dir], { encoding: 'utf8' });
    expect(b.stderr).toBe('');
    expect(b.status).toBe(0);
  });

  const oracle = new Map<string, Run>();
  function nodeRun(c: Case, img: string): Run {
    // argv[0] is the image path under gate-run: give node the same (x86-64 and arm64 images differ in name)
    const key = `${c.name}\0${img}`;
    if (!oracle.has(key)) oracle.set(key, runNode(join(dir, `${c.program}.wasm`), img, c));
    return oracle.get(key)!;
  }

  for (const arch of ['x86-64', 'arm64'] as Arch[]) {
    const maybe = arch === 'arm64' && !haveArm ? describe.skip : describe;
    maybe(`${arch}${arch === 'arm64' ? ' (qemu-aarch64)' : ''}`, () => {
      test.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
        const img = imageFor(c.program, arch);
        const n = nodeRun(c, img);
        const g = runGate(img, c);
        // the oracle itself ran the program as intended
        expect(n.status).toBe(c.status);
        for (const re of c.expect ?? []) expect(n.stdout).toMatch(re);
        expect(g.stdout).toBe(n.stdout);
        expect(g.stderr).toBe(n.stderr);
        expect(g.status).toBe(n.status);
      });
    });
  }
});

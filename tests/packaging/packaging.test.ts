/**
 * Issue 14, packaging: every package carries a license (a LICENSE file too), `files`, `repository`
 * and `engines`; `npm pack` of the CLI and the packages it needs, installed into an empty directory
 * outside the repository, gives `wagc` and `gate-run` that compile and run a WASI hello world there;
 * the loader's tarball holds the loaders and not their test build. And scripts/link-bins.sh (what
 * scripts/setup.sh runs) makes the three commands runnable by name from a PATH directory.
 */
import { spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { wat } from '../e2e/helpers';

const root = join(__dirname, '../..');
const packages = readdirSync(join(root, 'packages'));
const manifest = (p: string): Record<string, unknown> => JSON.parse(readFileSync(join(root, 'packages', p, 'package.json'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'wagc-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

jest.setTimeout(600000);

const HELLO = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from a tarball\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 21))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

beforeAll(async () => {
  writeFileSync(join(dir, 'hello.wasm'), await wat(HELLO));
});

/** The workspace packages `name` needs, itself included. */
function closure(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  const dir = packages.find((p) => manifest(p).name === name);
  if (!dir) throw new Error(`no workspace package ${name}`);
  for (const dep of Object.keys((manifest(dir).dependencies ?? {}) as Record<string, string>)) {
    if (dep.startsWith('@wagc/')) closure(dep, seen);
  }
  return seen;
}

describe('package manifests', () => {
  test.each(packages.map((p) => [p]))('%s: license, LICENSE, files, repository, engines', (p) => {
    const m = manifest(p);
    expect(m.license).toBe('MIT');
    expect(readFileSync(join(root, 'packages', p, 'LICENSE'), 'utf8')).toBe(readFileSync(join(root, 'LICENSE'), 'utf8'));
    expect(Array.isArray(m.files) && (m.files as string[]).length > 0).toBe(true);
    expect(m.repository).toEqual(expect.objectContaining({ type: 'git', directory: `packages/${p}` }));
    expect(m.engines).toEqual({ node: '>=20' });
  });
});

describe('the CLI packed and installed outside the repository', () => {
  const tarballs: string[] = [];
  const project = join(dir, 'project');

  beforeAll(() => {
    const names = [...closure('@wagc/cli')];
    const r = spawnSync('npm', ['pack', '--json', '--pack-destination', dir, ...names.flatMap((n) => ['-w', n])], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm pack: ${r.stderr}`);
    const packed = JSON.parse(r.stdout) as { name: string; filename: string; files: { path: string }[] }[];
    expect(packed.map((p) => p.name).sort()).toEqual(names.sort());
    for (const p of packed) {
      const paths = p.files.map((f) => f.path);
      expect(paths).toContain('LICENSE');
      expect(paths).toContain('package.json');
      // built output only: no sources' tests, no build info
      expect(paths.filter((f) => /\.test\.|tsbuildinfo|(^|\/)tests?\//.test(f))).toEqual([]);
      if (p.name === '@wagc/loader-c') {
        expect(paths).toEqual(expect.arrayContaining(['build/gate-run-x86_64', 'build/gate-run-aarch64', 'src/main.c']));
        expect(paths.filter((f) => f.includes('-test'))).toEqual([]);
      }
      tarballs.push(join(dir, p.filename));
    }
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'empty', version: '1.0.0', private: true }));
    const i = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs], { cwd: project, encoding: 'utf8' });
    if (i.status !== 0) throw new Error(`npm install: ${i.stderr}`);
  });

  test('wagc and gate-run run from there', () => {
    const bin = join(project, 'node_modules/.bin');
    const v = spawnSync(join(bin, 'wagc'), ['--version'], { cwd: project, encoding: 'utf8' });
    expect(v.stdout).toBe(`wagc ${manifest('cli').version}\n`);
    const c = spawnSync(join(bin, 'wagc'), [join(dir, 'hello.wasm'), '-o', 'hello.img'], { cwd: project, encoding: 'utf8' });
    expect(c.stderr).toBe('');
    expect(c.status).toBe(0);
    const g = spawnSync(join(bin, 'gate-run'), ['hello.img'], { cwd: project, encoding: 'utf8' });
    expect(g.stderr).toBe('');
    expect(g.stdout).toBe('hello from a tarball\n');
    expect(g.status).toBe(0);
    // the installed copy ran, not the repository's: nothing there resolves into the repository
    const where = spawnSync(process.execPath, ['-p', 'require.resolve("@wagc/loader-c")'], { cwd: project, encoding: 'utf8' });
    expect(where.stdout.startsWith(project)).toBe(true);
  });
});

test('scripts/link-bins.sh puts wagc, gate-run and gate-inspect on a PATH directory', () => {
  const binDir = join(dir, 'bin');
  const l = spawnSync('bash', [join(root, 'scripts/link-bins.sh'), binDir], { encoding: 'utf8', env: { ...process.env, PATH: `${binDir}:${process.env.PATH}` } });
  expect(l.stderr).toBe('');
  expect(l.status).toBe(0);
  const env = { ...process.env, PATH: `${binDir}:${process.env.PATH}` };
  for (const tool of ['wagc', 'gate-inspect']) {
    expect(spawnSync(tool, ['--version'], { env, encoding: 'utf8' }).stdout).toBe(`${tool} ${manifest('cli').version}\n`);
  }
  expect(spawnSync('wagc', ['hello.wasm', '-o', 'path.img'], { env, cwd: dir }).status).toBe(0);
  const g = spawnSync('gate-run', ['path.img'], { env, cwd: dir, encoding: 'utf8' });
  expect(g.stdout).toBe('hello from a tarball\n');
});

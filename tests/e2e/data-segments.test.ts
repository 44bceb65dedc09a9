/**
 * Passive data segments (issue 7): memory.init and data.drop through the loader's batch
 * protocol, on both arches, in an ordinary image and in a store image whose two instances share
 * one memory but each have their own segments and dropped state.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { compileProgram, type Arch } from '@wagc/linker';
import { loaderPath } from '@wagc/loader-c';
import { wat } from './helpers';

const haveArm = existsSync(loaderPath('arm64')) && spawnSync('qemu-aarch64', ['--version']).status === 0;
const ARCHES: Arch[] = haveArm ? ['x86-64', 'arm64'] : ['x86-64'];

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'wagc-data-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex = (s: string): string => Buffer.from(s).toString('hex');

/** Runs the batch protocol over an image: one answer line per request. */
function batch(image: Uint8Array, arch: Arch, requests: string[]): string[] {
  const path = join(dir, `${arch}-${Math.random().toString(36).slice(2)}.img`);
  writeFileSync(path, image);
  const cmd = arch === 'arm64' && process.arch !== 'arm64' ? ['qemu-aarch64', loaderPath(arch), path, '--batch', '--emulated'] : [loaderPath(arch), path, '--batch'];
  const r = spawnSync(cmd[0], cmd.slice(1), { input: requests.join('\n') + '\n', encoding: 'utf8', timeout: 60000 });
  expect(r.status).toBe(0); // traps are answers (their stack traces go to stderr)
  return r.stdout.trim().split('\n');
}

// memory.init/data.drop of two passive segments and an active one; load reads 8 bytes back
const segments = `
  (data $p "passive!")
  (data $q "second segment")
  (data (i32.const 8) "active")
  (func (export "init") (param $seg i32) (param $d i32) (param $s i32) (param $n i32)
    (if (i32.eqz (local.get $seg))
      (then (memory.init $p (local.get $d) (local.get $s) (local.get $n)))
      (else (if (i32.eq (local.get $seg) (i32.const 1))
        (then (memory.init $q (local.get $d) (local.get $s) (local.get $n)))
        (else (memory.init 2 (local.get $d) (local.get $s) (local.get $n)))))))
  (func (export "drop") (param $seg i32)
    (if (i32.eqz (local.get $seg)) (then (data.drop $p)) (else (data.drop $q))))
  (func (export "load") (param $a i32) (result i64) (i64.load (local.get $a)))`;

const OOB = 'trap 5 out of bounds memory access';
const le = (s: string): string => Buffer.from(s.padEnd(8, '\0').slice(0, 8)).readBigUInt64LE().toString(16).padStart(16, '0');

describe.each(ARCHES)('data segments on %s', (arch) => {
  test('memory.init copies, checks bounds before writing, and a dropped or active segment is empty', async () => {
    const image = compileProgram({ modules: [{ name: 'main', bytes: await wat(`(module (memory 1) ${segments})`) }], arch });
    const inv = (f: string, ...args: number[]): string => `invoke ${hex(f)}${args.map((a) => ' ' + (a >>> 0).toString(16)).join('')}`;
    const got = batch(image, arch, [
      inv('init', 0, 100, 0, 8), inv('load', 100),
      inv('init', 1, 200, 7, 7), inv('load', 200),
      // s + n past the segment, d + n past memory, n wrapping: nothing written
      inv('init', 0, 300, 1, 8), inv('init', 0, 65534, 0, 8), inv('init', 0, 300, 8, 0xffffffff), inv('load', 300),
      // the end of either is fine with n = 0, one past it is not
      inv('init', 0, 65536, 8, 0), inv('init', 0, 65537, 0, 0), inv('init', 0, 0, 9, 0),
      // the active segment was applied at instantiation and is dropped since
      inv('load', 8), inv('init', 2, 0, 0, 0), inv('init', 2, 0, 0, 1),
      // dropping: empty from now on (twice is fine); the other segment is untouched
      inv('drop', 0), inv('drop', 0), inv('init', 0, 400, 0, 0), inv('init', 0, 400, 0, 1), inv('init', 1, 400, 0, 6), inv('load', 400),
    ]);
    expect(got).toEqual([
      'ready',
      'ok', `ok ${le('passive!')}`,
      'ok', `ok ${le('segment')}`,
      OOB, OOB, OOB, `ok ${le('')}`,
      'ok', OOB, OOB,
      `ok ${le('active')}`, 'ok', OOB,
      'ok', 'ok', 'ok', OOB, 'ok', `ok ${le('second')}`,
    ]);
  }, 120000);

  test('store image: instances sharing a memory each have their own segments and dropped state', async () => {
    const a = await wat(`(module (memory (export "mem") 1) ${segments})`);
    const b = await wat(`(module (import "a" "mem" (memory 1)) ${segments})`);
    const image = compileProgram({ modules: [{ name: 'a', bytes: a }, { name: 'b', bytes: b, links: new Map([['a', 0]]) }], arch, store: true });
    const inv = (f: string, ...args: number[]): string => `invoke ${hex(f)}${args.map((x) => ' ' + x.toString(16)).join('')}`;
    const got = batch(image, arch, [
      'instantiate 0', 'instantiate 1',
      'use 0', inv('drop', 0), inv('init', 0, 100, 0, 1),
      'use 1', inv('init', 0, 100, 0, 8), inv('load', 100),
      inv('drop', 1), inv('init', 1, 100, 0, 1),
      'use 0', inv('init', 1, 100, 0, 6), inv('load', 100),
    ]);
    expect(got).toEqual([
      'ready', 'ok', 'ok',
      'ok', 'ok', OOB,
      'ok', 'ok', `ok ${le('passive!')}`,
      'ok', OOB,
      'ok', 'ok', `ok ${le('seconde!')}`,
    ]);
  }, 120000);

  test('without a data count section memory.init and data.drop are refused', async () => {
    // wabt writes the data count section whenever the code uses a segment: strip it (id 12)
    const bytes = await wat(`(module (memory 1) (data "x") (func (data.drop 0)))`);
    const sections: Uint8Array[] = [bytes.subarray(0, 8)];
    for (let at = 8; at < bytes.length;) {
      const start = at;
      at++;
      let size = 0, shift = 0, c;
      do { c = bytes[at++]; size |= (c & 0x7f) << shift; shift += 7; } while (c & 0x80);
      at += size;
      if (bytes[start] !== 12) sections.push(bytes.subarray(start, at));
    }
    const stripped = Buffer.concat(sections);
    expect(() => compileProgram({ modules: [{ name: 'main', bytes: stripped }], arch })).toThrow(/data count section required/);
  });
});

/**
 * A function whose code is longer than ARM64's b.cond/cbz reach (±1 MiB): forward and backward
 * conditional branches, br_table and calls across it must still land (issue 4). Runs on both
 * arches (arm64 under qemu-aarch64) and compares with V8.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { compileProgram, readImage } from '@wagc/linker';
import { loaderPath } from '@wagc/loader-c';
import { wat } from './helpers';

const N = 200000; // each repetition is 3 arm64 instructions with the locals in registers: over 2 MiB

function source(): string {
  const body = '(local.set $x (i32.add (i32.mul (local.get $x) (i32.const 31)) (local.get $i)))\n'.repeat(N);
  return `(module
    (func $f (export "f") (param $n i32) (result i32) (local $x i32) (local $i i32)
      (block $out
        (loop $top
          ;; forward conditional branch over the whole body
          (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
          (block $a (block $b (block $c
            (br_table $a $b $c (i32.and (local.get $i) (i32.const 3))))
            ${body}
            (local.set $x (i32.xor (local.get $x) (i32.const 0x55))))
            (local.set $x (i32.add (local.get $x) (i32.const 7))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          ;; backward conditional branch over the whole body
          (br_if $top (i32.lt_u (local.get $i) (local.get $n)))))
      (local.get $x)))`;
}

const hex = (s: string): string => Buffer.from(s).toString('hex');

test('functions longer than ±1 MiB of arm64 code branch correctly on both arches', async () => {
  const bytes = await wat(source());
  const inst = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes)));
  const f = inst.exports.f as (n: number) => number;
  const want = [0, 1, 2, 3, 4, 5, 9].map((n) => f(n) >>> 0);
  const dir = mkdtempSync(join(tmpdir(), 'wagc-long-'));
  const arches = existsSync(loaderPath('arm64')) && spawnSync('qemu-aarch64', ['--version']).status === 0 ? ['x86-64', 'arm64'] as const : ['x86-64'] as const;
  for (const arch of arches) {
    const image = compileProgram({ modules: [{ name: 'main', bytes }], arch });
    const text = readImage(image).text.length;
    if (arch === 'arm64') expect(text).toBeGreaterThan(1 << 21);
    const path = join(dir, `${arch}.img`);
    writeFileSync(path, image);
    const cmd = arch === 'arm64' && process.arch !== 'arm64' ? ['qemu-aarch64', loaderPath(arch), '--emulated'] : [loaderPath(arch)];
    const input = [0, 1, 2, 3, 4, 5, 9].map((n) => `invoke ${hex('f')} ${n.toString(16)}\n`).join('');
    const r = spawnSync(cmd[0], [...cmd.slice(1), path, '--batch'], { input, encoding: 'utf8', timeout: 120000 });
    const got = r.stdout.trim().split('\n');
    expect(got[0]).toBe('ready');
    expect(got.slice(1).map((l) => parseInt(l.split(' ')[1], 16) >>> 0)).toEqual(want);
  }
}, 300000);

import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { compileProgram } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { loaderPath } from '@wagc/loader-c';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');
let wabt: { parseWat(name: string, text: string, features?: object): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void } } | null = null;

export async function wat(text: string): Promise<Uint8Array> {
  if (!wabt) wabt = await wabtInit();
  const mod = wabt!.parseWat('test.wat', text, { multi_value: true, sat_float_to_int: true, sign_extension: true, simd: true });
  try {
    return mod.toBinary({ write_debug_names: true }).buffer;
  } finally {
    mod.destroy();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'wagc-e2e-'));
let counter = 0;

/** Compiles a WASI program (linked with the runtime library) and runs it under the loader. */
export function runWasi(bytes: Uint8Array, args: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const image = compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }], arch: 'x86-64' });
  const path = join(dir, `p${counter++}.img`);
  writeFileSync(path, image);
  const r = spawnSync(loaderPath('x86-64'), [path, '--', ...args], { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

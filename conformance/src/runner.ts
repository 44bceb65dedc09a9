import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CompileError } from '@wagc/frontend';
import { compileProgram, linkProgram, LinkError, type Arch } from '@wagc/linker';
import { spectestModule } from '@wagc/abi';
import { LoaderProcess } from './loader';
import { argBits, matches, nameHex, supportedType, type Value } from './values';

export type Kind = 'module' | 'assert_return' | 'assert_trap' | 'assert_exhaustion' | 'assert_invalid' |
  'assert_malformed' | 'assert_unlinkable' | 'assert_uninstantiable' | 'action' | 'register';

export interface Tally { passed: number; failed: number; skipped: number }
export interface Failure { file: string; line: number; kind: string; detail: string }
export interface FileResult {
  name: string;
  featureSet: string;
  byKind: Map<string, Tally>;
  skipReasons: Map<string, number>;
  failures: Failure[];
}

interface Command {
  type: string;
  line: number;
  filename?: string;
  name?: string;
  as?: string;
  module_type?: string;
  text?: string;
  action?: { type: string; module?: string; field: string; args?: Value[] };
  expected?: Value[];
}

const TIMEOUT = 10000;

/**
 * A module instance. One that imports from another instance (other than spectest) lives with it
 * in a store: one loader process whose image links them all as separate instances (linker
 * `store` mode), built again, and its history replayed, whenever a new importer joins.
 */
interface Instance {
  proc: LoaderProcess | null;
  reason: string | null;
  bytes: Uint8Array;
  /** when it was instantiated, in the file's sequence of state-changing events */
  seq: number;
  /** the instances its import module names referred to when it was instantiated */
  imports: Map<string, Instance>;
  /** invocations sent to it, replayed when its store is rebuilt */
  log: { seq: number; line: string }[];
  store: Store | null;
  /** its instance index in the store's image */
  storeIndex: number;
}
interface Store { proc: LoaderProcess; members: Instance[] }

export interface RunOptions { arch: Arch; loader: string; loaderPrefix: string[]; cpuFeatures?: number }

/** Runs one spec test file: every command, one loader process per module instance. */
export async function runFile(dir: string, name: string, featureSet: string, opts: RunOptions): Promise<FileResult> {
  const res: FileResult = { name, featureSet, byKind: new Map(), skipReasons: new Map(), failures: [] };
  const json = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { commands: Command[] };
  const tmp = mkdtempSync(join(tmpdir(), `wagc-conf-${name}-`));
  const named = new Map<string, Instance>();
  const registered = new Map<string, Uint8Array>();
  const registeredInst = new Map<string, Instance>();
  let current: Instance | null = null;
  let imageCount = 0;
  let seq = 0;
  const newInstance = (bytes: Uint8Array): Instance =>
    ({ proc: null, reason: null, bytes, seq: seq++, imports: new Map(), log: [], store: null, storeIndex: -1 });

  /** Sends a request to an instance (selecting it first in a store), logging invocations. */
  const send = async (inst: Instance, line: string): Promise<string | null> => {
    if (!inst.proc) return null;
    if (inst.store) {
      const ok = await inst.proc.request(`use ${inst.storeIndex}`, TIMEOUT);
      if (ok !== 'ok') return null;
    }
    if (line.startsWith('invoke')) inst.log.push({ seq: seq++, line });
    return inst.proc.request(line, TIMEOUT);
  };

  /**
   * Instantiates `inst` in a store with every instance it imports from (and their stores'
   * members): compiles one image, replays the members' instantiations and invocations in their
   * original order, then instantiates `inst`. Returns its instantiation answer.
   */
  const joinStore = async (inst: Instance): Promise<string | null> => {
    const members = new Set<Instance>();
    for (const dep of inst.imports.values()) {
      if (dep.store) for (const m of dep.store.members) members.add(m);
      else members.add(dep);
    }
    const list = [...members].sort((a, b) => a.seq - b.seq);
    list.push(inst);
    const index = new Map<Instance, number>(list.map((m, k) => [m, k + 1]));
    const modules = [{ name: 'spectest', bytes: spectestModule() }, ...list.map((m, k) => ({
      name: `instance${k + 1}`,
      bytes: m.bytes,
      links: new Map([...m.imports].map(([n, d]) => [n, index.get(d)!] as [string, number]).concat([['spectest', 0]])),
    }))];
    const image = compileProgram({ modules, arch: opts.arch, store: true, cpuFeatures: opts.cpuFeatures });
    const path = join(tmp, `m${imageCount++}.img`);
    writeFileSync(path, image);
    const proc = new LoaderProcess(opts.loader, path, opts.loaderPrefix);
    if ((await proc.next(TIMEOUT)) !== 'ready' || (await proc.request('instantiate 0', TIMEOUT)) !== 'ok') {
      proc.kill();
      throw new Error(`store loader did not start: ${proc.stderr.trim()}`);
    }
    const events: { seq: number; lines: string[] }[] = [];
    list.slice(0, -1).forEach((m, k) => {
      events.push({ seq: m.seq, lines: [`instantiate ${k + 1}`] });
      for (const l of m.log) events.push({ seq: l.seq, lines: [`use ${k + 1}`, l.line] });
    });
    events.sort((a, b) => a.seq - b.seq);
    for (const e of events) {
      for (const line of e.lines) {
        if ((await proc.request(line, TIMEOUT)) === null) throw new Error(`store replay: loader died at "${line}": ${proc.stderr.trim()}`);
      }
    }
    const answer = await proc.request(`instantiate ${list.length}`, TIMEOUT);
    const st: Store = { proc, members: list };
    for (const old of new Set(list.map((m) => m.proc))) if (old) old.kill();
    list.forEach((m, k) => {
      m.store = st;
      m.storeIndex = k + 1;
      m.proc = proc;
    });
    return answer;
  };

  /** The registered instances a module imports from (null: none), or why it cannot be built. */
  const importedInstances = (bytes: Uint8Array): Map<string, Instance> | string | null => {
    let names: Set<string>;
    try {
      names = linkProgramModules(bytes);
    } catch {
      return null;
    }
    names.delete('spectest');
    if (names.size === 0) return null;
    const deps = new Map<string, Instance>();
    for (const n of names) {
      const d = registeredInst.get(n);
      if (!d) return null; // unknown module: linking reports it
      if (!d.proc) return d.reason && !/failed/.test(d.reason) ? d.reason : null;
      deps.set(n, d);
    }
    return deps;
  };

  const tally = (kind: string): Tally => {
    let t = res.byKind.get(kind);
    if (!t) res.byKind.set(kind, (t = { passed: 0, failed: 0, skipped: 0 }));
    return t;
  };
  const pass = (c: Command): void => { tally(c.type).passed++; };
  const fail = (c: Command, detail: string): void => {
    tally(c.type).failed++;
    res.failures.push({ file: name, line: c.line, kind: c.type, detail });
  };
  const skip = (c: Command, reason: string): void => {
    tally(c.type).skipped++;
    res.skipReasons.set(reason, (res.skipReasons.get(reason) ?? 0) + 1);
  };

  /** spectest, the registered modules the module imports from (for type checks), the module. */
  const program = (bytes: Uint8Array) => {
    let wanted = new Set<string>();
    try {
      wanted = linkProgramModules(bytes);
    } catch {
      // malformed: compileProgram reports it
    }
    const deps = [...registered].filter(([n]) => wanted.has(n)).map(([n, b]) => ({ name: n, bytes: b }));
    return { modules: [{ name: 'spectest', bytes: spectestModule() }, ...deps, { name: 'main', bytes }], arch: opts.arch, cpuFeatures: opts.cpuFeatures };
  };

  try {
    for (const c of json.commands) {
      switch (c.type) {
        case 'module': {
          const bytes = new Uint8Array(readFileSync(join(dir, c.filename!)));
          const inst = newInstance(bytes);
          const deps = importedInstances(bytes);
          if (typeof deps === 'string') {
            inst.reason = deps;
            skip(c, deps);
          } else if (deps) {
            inst.imports = deps;
            try {
              const answer = await joinStore(inst);
              if (answer === 'ok') pass(c);
              else {
                inst.proc = null; // still a member: what it wrote before failing persists
                inst.reason = 'module failed to instantiate';
                fail(c, `instantiation: ${answer ?? 'no answer'}`);
              }
            } catch (e) {
              inst.reason = 'module failed to compile';
              if (e instanceof CompileError && e.feature !== null) {
                inst.reason = `unsupported feature: ${e.reason}`;
                skip(c, inst.reason);
              } else fail(c, `store: ${e instanceof Error ? e.message : e}`);
            }
          } else {
            try {
              const image = compileProgram(program(bytes));
              const path = join(tmp, `m${imageCount++}.img`);
              writeFileSync(path, image);
              const proc = new LoaderProcess(opts.loader, path, opts.loaderPrefix);
              const first = await proc.next(TIMEOUT);
              if (first === 'ready') {
                inst.proc = proc;
                pass(c);
              } else {
                inst.reason = 'module failed to instantiate';
                fail(c, `instantiation: ${first ?? 'no answer'} ${proc.stderr.trim()}`);
                proc.kill();
              }
            } catch (e) {
              inst.reason = 'module failed to compile';
              if (e instanceof CompileError && e.feature !== null) {
                inst.reason = `unsupported feature: ${e.reason}`;
                skip(c, inst.reason);
              } else fail(c, `compile: ${e instanceof Error ? e.message : e}`);
            }
          }
          // an unnamed instance nothing can refer to any more ends here (a store lives on)
          if (current && current.proc && !current.store && ![...named.values()].includes(current) &&
              ![...registeredInst.values()].includes(current)) current.proc.kill();
          current = inst;
          if (c.name) named.set(c.name, inst);
          break;
        }
        case 'register': {
          // not an assertion: remembers the module's bytes for later links' type checks
          const src = findModuleFile(json.commands, c);
          if (src) registered.set(c.as!, new Uint8Array(readFileSync(join(dir, src))));
          const inst = c.name ? named.get(c.name) : current;
          if (inst) registeredInst.set(c.as!, inst);
          break;
        }
        case 'assert_return':
        case 'assert_trap':
        case 'assert_exhaustion':
        case 'action': {
          const a = c.action!;
          const inst = a.module ? named.get(a.module) : current;
          if (!inst || !inst.proc) {
            if (inst?.reason && !/failed/.test(inst.reason)) skip(c, inst.reason);
            else fail(c, inst?.reason ?? 'no module');
            break;
          }
          const args = a.args ?? [];
          const types = [...args, ...(c.expected ?? [])].map((v) => v.type);
          if (!types.every(supportedType)) {
            skip(c, 'values of an unknown type');
            break;
          }
          const line = a.type === 'get'
            ? `get ${nameHex(a.field)}`
            : `invoke ${nameHex(a.field)}${args.map((v) => ' ' + argBits(v)).join('')}`;
          const answer = await send(inst, line);
          if (answer === null) {
            fail(c, `loader died or hung: ${inst.proc.stderr.trim().split('\n')[0] ?? ''}`);
            inst.proc = null;
            inst.reason = 'loader died';
            break;
          }
          if (c.type === 'assert_return' || c.type === 'action') {
            if (!answer.startsWith('ok')) {
              fail(c, `expected return, got "${answer}"`);
              break;
            }
            const got = answer.split(' ').slice(1).map((h) => BigInt('0x' + h));
            const exp = c.expected ?? [];
            if (c.type === 'action' || (got.length === exp.length && exp.every((e, k) => matches(e, got[k])))) pass(c);
            else fail(c, `expected ${exp.map((e) => `${e.type}:${e.value}`).join(' ')}, got ${got.map((g) => `0x${g.toString(16)}`).join(' ')}`);
          } else {
            const want = c.type === 'assert_exhaustion' ? 'call stack exhausted' : c.text!;
            const m = /^trap \d+ (.*)$/.exec(answer);
            if (m && (m[1].startsWith(want) || want.startsWith(m[1]))) pass(c);
            else fail(c, `expected trap "${want}", got "${answer}"`);
          }
          break;
        }
        case 'assert_invalid':
        case 'assert_malformed': {
          if (c.module_type === 'text') {
            skip(c, 'text-format module (binary compiler)');
            break;
          }
          const bytes = new Uint8Array(readFileSync(join(dir, c.filename!)));
          try {
            linkProgram({ modules: [{ name: 'main', bytes }], arch: opts.arch, unresolved: 'trap' });
            fail(c, `accepted a module that is ${c.type === 'assert_invalid' ? 'invalid' : 'malformed'} ("${c.text}")`);
          } catch (e) {
            if (e instanceof CompileError) pass(c);
            else fail(c, `expected CompileError, got ${e instanceof Error ? e.message : e}`);
          }
          break;
        }
        case 'assert_unlinkable': {
          const bytes = new Uint8Array(readFileSync(join(dir, c.filename!)));
          try {
            compileProgram(program(bytes));
            fail(c, 'linked a module that should not link');
          } catch (e) {
            if (e instanceof LinkError) pass(c);
            else if (e instanceof CompileError && e.feature !== null) skip(c, `unsupported feature: ${e.reason}`);
            else fail(c, `expected LinkError, got ${e instanceof Error ? e.message : e}`);
          }
          break;
        }
        case 'assert_uninstantiable': {
          const bytes = new Uint8Array(readFileSync(join(dir, c.filename!)));
          const deps = importedInstances(bytes);
          if (typeof deps === 'string') {
            skip(c, deps);
            break;
          }
          if (deps) {
            // it stays in the store: what its segments wrote before the trap persists
            const inst = newInstance(bytes);
            inst.imports = deps;
            try {
              const answer = await joinStore(inst);
              if (answer && answer.startsWith('trap')) pass(c);
              else fail(c, `expected instantiation to trap, got "${answer}"`);
            } catch (e) {
              if (e instanceof CompileError && e.feature !== null) skip(c, `unsupported feature: ${e.reason}`);
              else fail(c, `store: ${e instanceof Error ? e.message : e}`);
            }
            break;
          }
          try {
            const path = join(tmp, `m${imageCount++}.img`);
            writeFileSync(path, compileProgram(program(bytes)));
            const proc = new LoaderProcess(opts.loader, path, opts.loaderPrefix);
            const first = await proc.next(TIMEOUT);
            proc.kill();
            if (first && first.startsWith('trap')) pass(c);
            else fail(c, `expected instantiation to trap, got "${first}"`);
          } catch (e) {
            if (e instanceof CompileError && e.feature !== null) skip(c, `unsupported feature: ${e.reason}`);
            else fail(c, `compile: ${e instanceof Error ? e.message : e}`);
          }
          break;
        }
        default:
          skip(c, `command ${c.type}`);
      }
    }
  } finally {
    for (const inst of [...named.values(), ...registeredInst.values()]) inst.proc?.kill();
    current?.proc?.kill();
    rmSync(tmp, { recursive: true, force: true });
  }
  return res;
}

function findModuleFile(cmds: Command[], reg: Command): string | null {
  let last: string | null = null;
  for (const c of cmds) {
    if (c === reg) break;
    if (c.type === 'module' && (!reg.name || c.name === reg.name)) last = c.filename!;
  }
  return last;
}

/** Import module names of a binary, without validating it. */
function linkProgramModules(bytes: Uint8Array): Set<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { decodeModule } = require('@wagc/frontend') as typeof import('@wagc/frontend');
  const m = decodeModule(bytes);
  return new Set(m.imports.map((i) => i.module));
}

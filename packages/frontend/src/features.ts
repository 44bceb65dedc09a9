import { CompileError } from './errors';

/**
 * WebAssembly proposals the compiler does not implement, and how it refuses a module that uses
 * one: a CompileError naming the feature, its proposal and where it was met, e.g. `shared memory
 * (threads proposal) is not supported (in import section, import 3, at offset 410)`, instead of
 * the decoder's reason for the byte it did not expect ("integer too large"). The decoder and the
 * code generator recognise each proposal by the bytes it adds (docs/ARCHITECTURE.md, "Unsupported
 * features", has the list).
 */

/**
 * A CompileError for valid WebAssembly of a proposal the compiler does not implement. `what` is
 * the construct (`shared memory`, `instruction try`), `proposal` the proposal's name as the
 * WebAssembly CG spells it; `item` names the entry of the section (`import 3`).
 */
export function notSupported(what: string, proposal: string, offset: number, section?: string, item?: string, funcIndex = -1): CompileError {
  const e = new CompileError(`${what} (${proposal} proposal) is not supported`, offset, funcIndex, section, item);
  e.feature = proposal;
  return e;
}

/** Proposals, by the names the messages use. */
export const PROPOSAL = {
  threads: 'threads',
  memory64: 'memory64',
  multiMemory: 'multi-memory',
  exceptions: 'exception-handling',
  tailCall: 'tail-call',
  gc: 'gc',
  functionReferences: 'function-references',
} as const;

/**
 * Value and reference type bytes of later proposals: the GC proposal's heap types and typed
 * references, exception handling's exnref. (v128, 0x7b, is SIMD's and supported.)
 */
const TYPE_FEATURES: Record<number, [string, string]> = {
  0x64: ['typed reference (ref ...)', PROPOSAL.gc],
  0x63: ['typed reference (ref null ...)', PROPOSAL.gc],
  0x6e: ['type anyref', PROPOSAL.gc],
  0x6d: ['type eqref', PROPOSAL.gc],
  0x6c: ['type i31ref', PROPOSAL.gc],
  0x6b: ['type structref', PROPOSAL.gc],
  0x6a: ['type arrayref', PROPOSAL.gc],
  0x71: ['type nullref', PROPOSAL.gc],
  0x72: ['type nullexternref', PROPOSAL.gc],
  0x73: ['type nullfuncref', PROPOSAL.gc],
  0x69: ['type exnref', PROPOSAL.exceptions],
  0x74: ['type nullexnref', PROPOSAL.exceptions],
};

/** The feature of a value type byte no supported proposal has, or undefined. */
export function typeFeature(b: number): [string, string] | undefined {
  return TYPE_FEATURES[b];
}

/** Type section forms other than `func` (0x60): the GC proposal's composite and recursive types. */
export const TYPE_FORM_FEATURES: Record<number, string> = {
  0x5f: 'struct type',
  0x5e: 'array type',
  0x50: 'subtype declaration (sub)',
  0x4f: 'subtype declaration (sub final)',
  0x4e: 'recursive type group (rec)',
};

/**
 * Single-byte opcodes and prefixes of later proposals, each a row of the code generator's opcode
 * table that refuses it: opcode, what it is, proposal, whether a sub-opcode follows (named in the
 * message). 0xfd (SIMD) is supported: its rows are the code generator's own.
 */
export const OPCODE_FEATURES: [number, string, string, boolean][] = [
  [0x06, 'instruction try', PROPOSAL.exceptions, false], [0x07, 'instruction catch', PROPOSAL.exceptions, false],
  [0x08, 'instruction throw', PROPOSAL.exceptions, false], [0x09, 'instruction rethrow', PROPOSAL.exceptions, false],
  [0x0a, 'instruction throw_ref', PROPOSAL.exceptions, false], [0x18, 'instruction delegate', PROPOSAL.exceptions, false],
  [0x19, 'instruction catch_all', PROPOSAL.exceptions, false], [0x1f, 'instruction try_table', PROPOSAL.exceptions, false],
  [0x12, 'instruction return_call', PROPOSAL.tailCall, false], [0x13, 'instruction return_call_indirect', PROPOSAL.tailCall, false],
  [0x14, 'instruction call_ref', PROPOSAL.functionReferences, false], [0x15, 'instruction return_call_ref', PROPOSAL.functionReferences, false],
  [0xd3, 'instruction ref.eq', PROPOSAL.gc, false], [0xd4, 'instruction ref.as_non_null', PROPOSAL.functionReferences, false],
  [0xd5, 'instruction br_on_null', PROPOSAL.functionReferences, false], [0xd6, 'instruction br_on_non_null', PROPOSAL.functionReferences, false],
  [0xfb, 'GC instruction', PROPOSAL.gc, true],
  [0xfe, 'atomic instruction', PROPOSAL.threads, true],
];

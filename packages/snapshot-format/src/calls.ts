/**
 * What each site of a function is, read from the module alone (docs/snapshot-format.md, "Resume
 * rules"). Sites are numbered by wasm events in opcode order (DESIGN §2): site 0 is the entry
 * check, then every `loop` (a check), `call` and `call_indirect` in the order its opcode appears,
 * reachable or not. That numbering needs no compiler, so one scan of a body's opcodes says which
 * function a call site calls, or which type an indirect one expects: what a frame above it must be.
 */
import { FD_BASE, FD_COUNT, H, opHandler, type Module } from '@wagc/frontend';
import { Cursor } from './binary';

export const enum SiteKind {
  Entry = 0,
  Loop = 1,
  Call = 2,
  CallIndirect = 3,
}

/** The sites of one function: kind and operand (callee function index, or type index) by site index. */
export interface FunctionSites {
  kind: Uint8Array;
  operand: Uint32Array;
  /** call_indirect: the table index. */
  table: Uint32Array;
  count: number;
}

/** Immediates of the 0xFC-prefixed opcodes after the sub-opcode: how many u32s, then how many bytes. */
const FC_U32 = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 2, 1, 2, 1, 1, 1];
const FC_BYTES = [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 1, 0, 0, 0, 0, 0, 0];

/**
 * Scans body `f` (module function index of a defined function) of `m` and returns its sites.
 * An opcode the scan does not know is a SnapshotError (the compiler would refuse the body too).
 */
export function functionSites(m: Module, func: number): FunctionSites {
  const body = m.bodies[func - m.importedFuncs];
  const rd = new Cursor(m.bytes, body.start, body.end, `function ${func}'s body`);
  const groups = rd.u32();
  for (let g = 0; g < groups; g++) {
    rd.u32();
    rd.u8();
  }
  let cap = 16;
  let kind = new Uint8Array(cap);
  let operand = new Uint32Array(cap);
  let table = new Uint32Array(cap);
  let count = 1; // site 0: the entry check
  const add = (k: number, op: number, t: number): void => {
    if (count === cap) {
      cap *= 2;
      const k2 = new Uint8Array(cap); k2.set(kind); kind = k2;
      const o2 = new Uint32Array(cap); o2.set(operand); operand = o2;
      const t2 = new Uint32Array(cap); t2.set(table); table = t2;
    }
    kind[count] = k;
    operand[count] = op;
    table[count] = t;
    count++;
  };
  while (!rd.eof()) {
    const at = rd.pos;
    const op = rd.u8();
    switch (op) {
      case 0x02: case 0x04: blockType(rd); break;
      case 0x03: blockType(rd); add(SiteKind.Loop, 0, 0); break;
      case 0x0c: case 0x0d: rd.u32(); break;
      case 0x0e: {
        const n = rd.u32();
        for (let k = 0; k <= n; k++) rd.u32();
        break;
      }
      case 0x10: add(SiteKind.Call, rd.u32(), 0); break;
      case 0x11: {
        const type = rd.u32();
        add(SiteKind.CallIndirect, type, rd.u32());
        break;
      }
      case 0x1c: {
        const n = rd.u32();
        for (let k = 0; k < n; k++) rd.u8();
        break;
      }
      case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: case 0xd2: rd.u32(); break;
      case 0xd0: rd.u8(); break;
      case 0x3f: case 0x40: rd.u8(); break;
      case 0x41: sleb(rd, 5); break;
      case 0x42: sleb(rd, 10); break;
      case 0x43: rd.bytesN(4); break;
      case 0x44: rd.bytesN(8); break;
      case 0xfc: {
        const sub = rd.u32();
        if (sub >= FC_U32.length) rd.fail(`unknown opcode 0xfc ${sub}`, at);
        for (let k = 0; k < FC_U32[sub]; k++) rd.u32();
        for (let k = 0; k < FC_BYTES[sub]; k++) rd.u8();
        break;
      }
      case 0xfd: {
        // SIMD: the frontend's opcode table says which immediates a sub-opcode has
        const sub = rd.u32();
        const h = sub < FD_COUNT ? opHandler[FD_BASE + sub] : H.Illegal;
        if (h === H.Illegal) rd.fail(`unknown opcode 0xfd ${sub}`, at);
        if (h === H.VecLoad || h === H.VecStore || h === H.LoadLane || h === H.StoreLane) {
          rd.u32(); // memarg
          rd.u32();
        }
        if (h === H.LoadLane || h === H.StoreLane || h === H.ExtractLane || h === H.ReplaceLane) rd.u8();
        if (h === H.VecConst || h === H.Shuffle) rd.bytesN(16);
        break;
      }
      default:
        if (op >= 0x28 && op <= 0x3e) {
          rd.u32(); // memarg: alignment, offset
          rd.u32();
        } else if (!(op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b || op === 0xd1 || (op >= 0x45 && op <= 0xc4))) {
          rd.fail(`unknown opcode 0x${op.toString(16)}`, at);
        }
    }
  }
  return { kind: kind.subarray(0, count), operand: operand.subarray(0, count), table: table.subarray(0, count), count };
}

function blockType(rd: Cursor): void {
  // 0x40, a value type (one byte, high bit clear), or a type index as s33
  sleb(rd, 5);
}

function sleb(rd: Cursor, max: number): void {
  const at = rd.pos;
  for (let k = 0; k < max; k++) if ((rd.u8() & 0x80) === 0) return;
  rd.fail('integer representation too long', at);
}

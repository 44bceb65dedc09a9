import { LIMITS } from '../limits';
import { Base } from './backend';
import { Loc } from './valuestack';
import { SiteTable, SiteWord } from './output';
import { V128 } from './operations';
import { ConstPool } from './constpool';
import type { CodeGenContext } from './context';

/**
 * Sites (docs/ARCHITECTURE.md, "Sites") and the out-of-line code of a function: the slow paths of
 * its entry and loop checks and the calls of its trap branches. Backends record a trap branch
 * (`addTrap`) wherever an operation checks something; the code generator records each check with
 * the register state its slow path must save. At the function's end `emitSlowPaths` writes all of
 * them, the same way on every ISA, through the backend's ordinary methods.
 *
 * A register state is what must be in a canonical slot when execution stops at a site but may be
 * in a register on the fast path: triples (type, register, fp offset). A check's slow path stores
 * them before it calls the runtime and loads them back after it (a resumed frame enters there),
 * so the check's fast path leaves registers alone. Operand values are all in their slots at a
 * check (the code generator stores them before a loop); the register locals are what the states
 * hold. Trap branches carry an empty state: a trap never resumes, and its frame is no site.
 */
export class OutOfLine {
  /** Trap branches, 5 words each: (branch position, trap id, register state start, register state count, wasm offset). */
  traps: Int32Array = new Int32Array(5 * 64);
  trapCount = 0;
  /** Checks: (branch position, resume position, fp offset or −1 for the entry check, state start, state count, row in checkSites). */
  checks: Int32Array = new Int32Array(6 * 16);
  checkCount = 0;
  /**
   * The checks' sites, until their slow paths give them a code offset (the resume address):
   * emitSlowPaths appends them to the output's sites then, after the function's calls.
   */
  checkSites = new SiteTable();
  /** Register states: (type, register, fp offset) triples. */
  saves: Int32Array = new Int32Array(3 * 64);
  saveCount = 0;
  /** The register state a trap branch recorded now would carry (start, count). */
  trapStateStart = 0;
  trapStateCount = 0;
  /** Wasm offset of the instruction being compiled (the code generator sets it with its own). */
  opOffset = 0;
  /**
   * The function's trap map (docs/ARCHITECTURE.md, "Trap maps"): pairs (code position, wasm
   * offset) in code order, each the start of code that may trap for that instruction.
   */
  map: Int32Array = new Int32Array(2 * 256);
  mapCount = 0;
  /** The function's 16-byte constants, placed after its out-of-line code. */
  readonly pool = new ConstPool();

  reset(): void {
    this.pool.reset();
    this.trapCount = 0;
    this.checkCount = 0;
    this.checkSites.clear();
    this.saveCount = 0;
    this.trapStateStart = 0;
    this.trapStateCount = 0;
    this.mapCount = 0;
  }

  /** Code from `codePos` on may trap, for the instruction at `wasmOffset` (a memory access, a trap call). */
  mark(codePos: number, wasmOffset: number): void {
    if (2 * this.mapCount + 2 > this.map.length) this.map = grown(this.map);
    const m = this.map, k = 2 * this.mapCount++;
    m[k] = codePos;
    m[k + 1] = wasmOffset;
  }

  /** A conditional branch at `at` to a call of trap stub `trapId` (called by backends). */
  addTrap(at: number, trapId: number): void {
    if (5 * this.trapCount + 5 > this.traps.length) this.traps = grown(this.traps);
    const t = this.traps, k = 5 * this.trapCount++;
    t[k] = at;
    t[k + 1] = trapId;
    t[k + 2] = this.trapStateStart;
    t[k + 3] = this.trapStateCount;
    t[k + 4] = this.opOffset;
  }

  /** A check whose branch to the slow path is at `at`; `siteRow` is its row in checkSites. */
  addCheck(at: number, resume: number, fpOffset: number, siteRow: number, stateStart: number, stateCount: number): void {
    if (6 * this.checkCount + 6 > this.checks.length) this.checks = grown(this.checks);
    const c = this.checks, k = 6 * this.checkCount++;
    c[k] = at;
    c[k + 1] = resume;
    c[k + 2] = fpOffset;
    c[k + 3] = stateStart;
    c[k + 4] = stateCount;
    c[k + 5] = siteRow;
  }

  addSave(type: number, reg: number, offset: number): void {
    if (3 * this.saveCount + 3 > this.saves.length) this.saves = grown(this.saves);
    const s = this.saves, k = 3 * this.saveCount++;
    s[k] = type;
    s[k + 1] = reg;
    s[k + 2] = offset;
  }
}

function grown(a: Int32Array): Int32Array<ArrayBuffer> {
  const n = new Int32Array(a.length * 2);
  n.set(a);
  return n;
}

/**
 * Records the site of a call returning to `codeOffset` whose frame holds `slotCount` slots
 * (FrameLayout.siteSlots): the locals and the operand stack from the bottom (docs/ARCHITECTURE.md,
 * "Sites"); a v128 is two slots of its type. Returns its row.
 */
export function addSite(fc: CodeGenContext, codeOffset: number, site: number, fpOffset: number, slotCount: number, wasmOffset: number): number {
  return recordSite(fc, fc.out.sites, codeOffset, site, fpOffset, slotCount, wasmOffset);
}

/** addSite into `table`: the output's sites, or the out-of-line checkSites for a check. */
function recordSite(fc: CodeGenContext, table: SiteTable, codeOffset: number, site: number, fpOffset: number, slotCount: number, wasmOffset: number): number {
  // every site keeps its slot types: bounded for the image as a whole
  const sites = fc.out.sites;
  const count = sites.count + fc.ool.checkSites.count;
  if (count >= LIMITS.sites) fc.failLimit('too many sites (calls, loops and function entries) in the image', count + 1, LIMITS.sites);
  if (sites.typesUsed + slotCount > LIMITS.siteSlots) fc.failLimit('too many frame slots at the sites of the image', sites.typesUsed + slotCount, LIMITS.siteSlots);
  // the types go with the output's in either case, in the order sites are recorded
  const at = sites.addTypes(slotCount);
  const types = sites.types;
  const nl = fc.frame.paramSlots + fc.frame.localSlots;
  const lt = fc.frame.localSlotTypes;
  const st = fc.stack.type;
  let s = 0;
  for (; s < slotCount && s < nl; s++) types[at + s] = lt[s];
  // a v128 takes two slots, each of type v128 (frame.ts)
  for (let i = 0; s < slotCount; i++) {
    const t = st[i];
    types[at + s++] = t;
    if (t === V128) types[at + s++] = t;
  }
  return table.add(codeOffset, fc.linkedIndex, site, fpOffset, wasmOffset, slotCount, at, table === sites ? 0 : 1);
}

/**
 * The register state of a check here: every value in a register that has a canonical slot, the
 * register locals first (all of them: the runtime call clobbers every register, and the stores of
 * the unchanged ones are harmless on a path taken once per suspension). Returns its start in
 * OutOfLine.saves; its count is `saveCount − start`.
 */
export function captureRegisterState(fc: CodeGenContext): number {
  const ool = fc.ool;
  const start = ool.saveCount;
  if (fc.localsLive) {
    for (let k = 0; k < fc.nRegLocals; k++) {
      const x = fc.regLocals[k];
      ool.addSave(fc.localTypes[x], fc.localReg[x], fc.frame.localOffset(x));
    }
  }
  const s = fc.stack;
  for (let i = 0; i < s.height; i++) {
    if (s.loc[i] === Loc.Reg) ool.addSave(s.type[i], s.reg[i], fc.frame.homeOffset(i));
  }
  return start;
}

/**
 * A check (the entry check, `fpOffset` −1, or a loop header's) whose branch to the slow path is at
 * `at` and whose fast path continues at the current position: records its site and slow path.
 */
export function addCheck(fc: CodeGenContext, at: number, site: number, fpOffset: number, slotCount: number, wasmOffset: number): void {
  const row = recordSite(fc, fc.ool.checkSites, -1, site, fpOffset < 0 ? 0 : fpOffset, slotCount, wasmOffset);
  const start = captureRegisterState(fc);
  fc.ool.addCheck(at, fc.out.buf.pos, fpOffset, row, start, fc.ool.saveCount - start);
}

/** Stores, or (`reload`) loads back, the registers of a register state. */
function saveState(fc: CodeGenContext, start: number, count: number, reload: boolean): void {
  const s = fc.ool.saves;
  for (let k = 3 * start, end = 3 * (start + count); k < end; k += 3) {
    if (reload) fc.be.loadSlot(s[k], s[k + 1], Base.Frame, s[k + 2]);
    else fc.be.storeSlot(s[k], Base.Frame, s[k + 2], s[k + 1]);
  }
}

/**
 * The function's out-of-line code, after its body: each check's slow path (registers saved, the
 * stack pointer at the site's frame, the runtime's check called, the site's resume address, the
 * frame and the registers back, a jump to the fast path) and each trap branch's stub call.
 */
export function emitSlowPaths(fc: CodeGenContext): void {
  const be = fc.be;
  const b = fc.out.buf;
  const ool = fc.ool;
  const stubs = fc.out.stubs;
  const c = ool.checks;
  const pending = ool.checkSites;
  for (let k = 0; k < ool.checkCount; k++) {
    const j = 6 * k;
    const fpOffset = c[j + 2];
    be.patchJump(c[j], b.pos);
    // a check that finds the stack exhausted traps in here: at the loop, or the function's entry
    ool.mark(b.pos, pending.get(c[j + 5], SiteWord.WasmOffset));
    saveState(fc, c[j + 3], c[j + 4], false);
    // the entry check runs with the stack pointer at fp already: the site's frame is the parameters
    if (fpOffset >= 0) be.enterCall(fpOffset);
    be.callStub(stubs.check);
    // the site's resume address; its row goes after the function's calls, in code order
    const r = c[j + 5];
    fc.out.sites.add(b.pos, pending.get(r, SiteWord.Func), pending.get(r, SiteWord.Site), pending.get(r, SiteWord.FpOffset),
      pending.get(r, SiteWord.WasmOffset), pending.get(r, SiteWord.SlotCount), pending.get(r, SiteWord.TypesOff), 1);
    if (fpOffset >= 0) be.frameBottom();
    saveState(fc, c[j + 3], c[j + 4], true);
    be.jump(c[j + 1]);
  }
  const t = ool.traps;
  for (let k = 0; k < ool.trapCount; k++) {
    const j = 5 * k;
    be.patchJump(t[j], b.pos);
    ool.mark(b.pos, t[j + 4]);
    saveState(fc, t[j + 2], t[j + 3], false);
    be.callStub(stubs.traps[t[j + 1]]);
  }
  emitConstPool(fc);
}

/** The constant pool after everything else, 16-byte aligned, and every reference to it patched. */
function emitConstPool(fc: CodeGenContext): void {
  const pool = fc.ool.pool;
  if (pool.count === 0) return;
  const b = fc.out.buf;
  b.align(16, 0xcc); // as between functions
  const start = b.pos;
  const w = pool.words;
  for (let k = 0; k < 4 * pool.count; k++) b.emit32(w[k]);
  const r = pool.refs;
  for (let k = 0; k < 3 * pool.refCount; k += 3) fc.be.patchConstRef(r[k], r[k + 1], start + 16 * r[k + 2]);
}

/**
 * Writes the function's trap map after its code (docs/ARCHITECTURE.md, "Trap maps"): the pairs as
 * LEB128 deltas (code position from the function's start, unsigned; wasm offset from the body's
 * start `wasmStart`, signed), then their byte length as a LEB128 written backwards (read from the
 * function's last byte toward its start). The function's code ends there: the loader finds the
 * map from the function's end.
 */
export function emitTrapMap(fc: CodeGenContext, codeStart: number, wasmStart: number): void {
  const b = fc.out.buf;
  const ool = fc.ool;
  const m = ool.map;
  const start = b.pos;
  let code = codeStart, wasm = wasmStart;
  for (let k = 0; k < 2 * ool.mapCount; k += 2) {
    let d = m[k] - code;
    code = m[k];
    while (d >= 0x80) { b.emit8((d & 0x7f) | 0x80); d >>>= 7; }
    b.emit8(d);
    let w = m[k + 1] - wasm;
    wasm = m[k + 1];
    for (;;) {
      const byte = w & 0x7f;
      w >>= 7;
      if ((w === 0 && (byte & 0x40) === 0) || (w === -1 && (byte & 0x40) !== 0)) { b.emit8(byte); break; }
      b.emit8(byte | 0x80);
    }
  }
  // the length, most significant group first: every byte but that first one has bit 7 set, so a
  // reader going backwards from the end stops at the byte without it
  const len = b.pos - start;
  let groups = 1;
  while (len >>> (7 * groups) !== 0) groups++;
  for (let g = groups - 1; g >= 0; g--) b.emit8(((len >>> (7 * g)) & 0x7f) | (g === groups - 1 ? 0 : 0x80));
}

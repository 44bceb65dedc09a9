/**
 * The code generator against a recording backend: the sequence of typed operations a small
 * function produces, with the registers, immediates and slots it hands over. This pins down what
 * the ISA-neutral side decides (folding, flags kept for a branch, spills before a call, values in
 * their slots at a loop, the slow paths made from the check records), whatever an ISA emits.
 */
import {
  CompileOutput, Form, FunctionCompiler, OpClass, OperandKind, SiteWord, decodeModule, emitSlowPaths, validateModule,
  type Backend, type FunctionEnv, type Module, type Operand, type OutOfLine, type CompileOutput as Out,
} from '@wagc/frontend';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');

const I32 = 0x7f, F64 = 0x7c;
const typeName = (t: number): string => ({ 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128' } as Record<number, string>)[t] ?? `t${t}`;
const base = (b: number): string => (b === 0 ? 'fp' : 'vmctx');
const opnd = (o: Operand): string =>
  o.kind === OperandKind.Reg ? `r${o.reg}` : o.kind === OperandKind.Imm ? (o.type === 0x7b ? `#${o.lo},${o.hi},${o.lo2},${o.hi2}` : `#${o.lo}`) : `[fp${o.offset < 0 ? '' : '+'}${o.offset}]`;

/** Records each call as one line; a condition code is 100 + the comparison kind, inverted by + 50. */
class RecordingBackend implements Backend {
  readonly arch = 'x86-64' as const;
  readonly gprMask = 0b1111; // r0–r3
  readonly fprMask = 0b1111; // v128 operations may take a temporary besides their operands
  /** No local in a register unless a test asks (r2–r3 and f1 then). */
  readonly localGprMask: number;
  readonly localFprMask: number;
  constructor(locals = false) {
    this.localGprMask = locals ? 0b1100 : 0;
    this.localFprMask = locals ? 0b10 : 0;
  }
  log: string[] = [];
  out!: Out;
  private at = 0;
  private rec(s: string): number {
    this.log.push(s);
    this.out.buf.emit8(0x90); // every operation takes a byte, so positions differ
    return this.at++;
  }
  bind(out: CompileOutput, _ool: OutOfLine): void { this.out = out; }
  formOf(cls: OpClass): number {
    switch (cls) {
      case OpClass.IntCompare: return Form.BAny | Form.Cond;
      case OpClass.TestZero: return Form.ASlot | Form.Cond;
      case OpClass.Load: return Form.AImm | Form.Fresh;
      case OpClass.Store: return Form.AImm | Form.BImm | Form.NoResult;
      case OpClass.Convert: return Form.Fresh;
      case OpClass.VecBinary: return Form.AOwn | Form.BImm | Form.InPlace | Form.Temps1;
      case OpClass.VecLoad: case OpClass.ExtractLane: case OpClass.Splat: return Form.AImm | Form.Fresh;
      default: return Form.AOwn | Form.BAny | Form.InPlace;
    }
  }
  beginFunction(n: number): void { this.log.length = 0; this.rec(`beginFunction ${n}`); }
  enterFrame(): void { this.rec('enterFrame'); }
  entryCheck(): number { return this.rec('entryCheck'); }
  frameBottom(): void { this.rec('frameBottom'); }
  zeroSlots(lowest: number, bytes: number): void { this.rec(`zeroSlots ${lowest} ${bytes}`); }
  loopCheck(): number { return this.rec('loopCheck'); }
  finishFrame(size: number): void { this.rec(`finishFrame ${size}`); }
  beginReturn(over: boolean): void { this.rec(`beginReturn ${over}`); }
  endReturn(over: boolean): void { this.rec(`endReturn ${over}`); }
  /** Not allocatable, as on the real ISAs (rax/xmm0 are scratch on x86-64). */
  resultReg(t: number): number { return t === F64 || t === 0x7d || t === 0x7b ? 9 : 8; }
  patchConstRef(at: number, from: number, target: number): void { this.rec(`patchConstRef ${at} ${from} ${target}`); }
  loadMemoryBase(desc: number): void { this.rec(`loadMemoryBase ${desc}`); }
  loadConst(t: number, dst: number, lo: number): void { this.rec(`loadConst ${typeName(t)} r${dst} #${lo}`); }
  loadSlot(t: number, dst: number, b: number, off: number): void { this.rec(`loadSlot ${typeName(t)} r${dst} [${base(b)}${off < 0 ? '' : '+'}${off}]`); }
  storeSlot(t: number, b: number, off: number, src: number): void { this.rec(`storeSlot ${typeName(t)} [${base(b)}${off < 0 ? '' : '+'}${off}] r${src}`); }
  storeSlotConst(t: number, b: number, off: number, lo: number): void { this.rec(`storeSlotConst ${typeName(t)} [${base(b)}${off < 0 ? '' : '+'}${off}] #${lo}`); }
  copySlot(b: number, off: number, from: number): void { this.rec(`copySlot [${base(b)}${off}] [fp${from}]`); }
  setFromCond(cc: number, dst: number): void { this.rec(`setFromCond c${cc} r${dst}`); }
  storeSlotCond(cc: number, b: number, off: number): void { this.rec(`storeSlotCond c${cc} [${base(b)}${off}]`); }
  move(t: number, dst: number, src: number): void { this.rec(`move ${typeName(t)} r${dst} r${src}`); }
  invertCond(cc: number): number { return cc >= 150 ? cc - 50 : cc + 50; }
  intBinary(k: number, w: number, dst: number, a: Operand, b: Operand): void { this.rec(`intBinary ${k} ${w} r${dst} ${opnd(a)} ${opnd(b)}`); }
  addShifted(w: number, dst: number, a: Operand, index: number, shift: number): void { this.rec(`addShifted ${w} r${dst} ${opnd(a)} r${index}<<${shift}`); }
  intUnary(k: number, w: number, dst: number, a: number): void { this.rec(`intUnary ${k} ${w} r${dst} r${a}`); }
  floatBinary(k: number, sz: number, dst: number, a: Operand, b: Operand): void { this.rec(`floatBinary ${k} ${sz} r${dst} ${opnd(a)} ${opnd(b)}`); }
  floatUnary(k: number, sz: number, dst: number, a: number): void { this.rec(`floatUnary ${k} ${sz} r${dst} r${a}`); }
  intCompare(k: number, w: number, _dst: number, a: Operand, b: Operand): number { this.rec(`intCompare ${k} ${w} ${opnd(a)} ${opnd(b)}`); return 100 + k; }
  floatCompare(k: number, sz: number, _dst: number, a: Operand, b: Operand): number { this.rec(`floatCompare ${k} ${sz} ${opnd(a)} ${opnd(b)}`); return 100 + k; }
  testZero(w: number, a: Operand): number { this.rec(`testZero ${w} ${opnd(a)}`); return 100; }
  convert(k: number, from: number, to: number, dst: number, a: Operand): void { this.rec(`convert ${k} ${typeName(from)} ${typeName(to)} r${dst} ${opnd(a)}`); }
  select(t: number, dst: number, b: number, cc: number): void { this.rec(`select ${typeName(t)} r${dst} r${b} c${cc}`); }
  memLoad(t: number, bytes: number, signed: boolean, dst: number, addr: Operand, offset: number): void { this.rec(`memLoad ${typeName(t)} ${bytes} ${signed} r${dst} ${opnd(addr)}+${offset}`); }
  memStore(t: number, bytes: number, addr: Operand, offset: number, value: Operand): void { this.rec(`memStore ${typeName(t)} ${bytes} ${opnd(addr)}+${offset} ${opnd(value)}`); }
  memorySize(dst: number): void { this.rec(`memorySize r${dst}`); }
  memoryGrow(dst: number, delta: number): void { this.rec(`memoryGrow r${dst} [fp${delta}]`); }
  memoryCopy(): void { this.rec('memoryCopy'); }
  memoryFill(): void { this.rec('memoryFill'); }
  memoryInit(): void { this.rec('memoryInit'); }
  dataDrop(): void { this.rec('dataDrop'); }
  tableCall(op: number, _a: number, _b: number, operands: number, dst: number): void { this.rec(`tableCall ${op} [fp${operands}] r${dst}`); }
  jump(target: number): number { return this.rec(`jump ${target}`); }
  patchJump(at: number, target: number): void { this.rec(`patchJump ${at} ${target}`); }
  branchIf(cc: number, target: number): number { return this.rec(`branchIf c${cc} ${target}`); }
  branchIfZero(ifZero: boolean, a: Operand, target: number): number { return this.rec(`branchIfZero ${ifZero} ${opnd(a)} ${target}`); }
  branchTable(index: Operand, count: number): void { this.rec(`branchTable ${opnd(index)} ${count}`); }
  enterCall(fpOffset: number): void { this.rec(`enterCall ${fpOffset}`); }
  leaveCall(fpOffset: number): void { this.rec(`leaveCall ${fpOffset}`); }
  callDirect(func: number): void { this.rec(`callDirect ${func}`); }
  loadIndirectTarget(typeId: number, _desc: number, index: Operand): void { this.rec(`loadIndirectTarget ${typeId} ${opnd(index)}`); }
  callIndirect(): void { this.rec('callIndirect'); }
  callStub(target: number): void { this.rec(`callStub ${target}`); }
  loadConstV128(dst: number, w0: number, w1: number, w2: number, w3: number): void { this.rec(`loadConstV128 r${dst} #${w0},${w1},${w2},${w3}`); }
  vecUnary(k: number, sh: number, dst: number, a: Operand): void { this.rec(`vecUnary ${k} ${sh} r${dst} ${opnd(a)}`); }
  vecBinary(k: number, sh: number, dst: number, a: Operand, b: Operand, t0: number): void { this.rec(`vecBinary ${k} ${sh} r${dst} ${opnd(a)} ${opnd(b)} t${t0}`); }
  vecShift(k: number, sh: number, dst: number, a: Operand, c: Operand): void { this.rec(`vecShift ${k} ${sh} r${dst} ${opnd(a)} ${opnd(c)}`); }
  vecTest(k: number, sh: number, dst: number, a: Operand): void { this.rec(`vecTest ${k} ${sh} r${dst} ${opnd(a)}`); }
  vecSplat(sh: number, dst: number, a: Operand): void { this.rec(`vecSplat ${sh} r${dst} ${opnd(a)}`); }
  vecExtractLane(sh: number, signed: boolean, lane: number, dst: number, a: Operand): void { this.rec(`vecExtractLane ${sh} ${signed} ${lane} r${dst} ${opnd(a)}`); }
  vecReplaceLane(sh: number, lane: number, dst: number, a: Operand, b: Operand): void { this.rec(`vecReplaceLane ${sh} ${lane} r${dst} ${opnd(a)} ${opnd(b)}`); }
  vecShuffle(dst: number, a: Operand, b: Operand, m0: number): void { this.rec(`vecShuffle r${dst} ${opnd(a)} ${opnd(b)} ${m0}`); }
  vecBitselect(dst: number, a: Operand, b: Operand, c: Operand): void { this.rec(`vecBitselect r${dst} ${opnd(a)} ${opnd(b)} ${opnd(c)}`); }
  vecLoad(k: number, sh: number, dst: number, addr: Operand, offset: number): void { this.rec(`vecLoad ${k} ${sh} r${dst} ${opnd(addr)}+${offset}`); }
  vecStore(addr: Operand, offset: number, value: Operand): void { this.rec(`vecStore ${opnd(addr)}+${offset} ${opnd(value)}`); }
  vecLoadLane(log2: number, lane: number, dst: number, addr: Operand, offset: number): void { this.rec(`vecLoadLane ${log2} ${lane} r${dst} ${opnd(addr)}+${offset}`); }
  vecStoreLane(log2: number, lane: number, addr: Operand, offset: number, value: Operand): void { this.rec(`vecStoreLane ${log2} ${lane} ${opnd(addr)}+${offset} ${opnd(value)}`); }
}

async function moduleOf(text: string): Promise<Module> {
  const wabt = await wabtInit();
  const w = wabt.parseWat('t.wat', text, { multi_value: true, simd: true });
  try {
    const m = decodeModule(new Uint8Array(w.toBinary({}).buffer));
    validateModule(m);
    return m;
  } finally {
    w.destroy();
  }
}

const STUBS = { entry: 0, entryReturn: 0, resume: 0, check: 1000, grow: 1001, table: 1002, traps: Array.from({ length: 13 }, (_, k) => 2000 + k) };

/** The operations of function `f` of the module, after the prologue (from its first op on). */
async function ops(text: string, f = 0, locals = false): Promise<string[]> {
  const m = await moduleOf(text);
  const be = new RecordingBackend(locals);
  const out = new CompileOutput();
  out.stubs = STUBS;
  const fc = new FunctionCompiler(be, out);
  const typeOf = (fi: number) => m.types[fi < m.importedFuncs ? (m.imports.filter((i) => i.desc.kind === 'func')[fi].desc as { typeIndex: number }).typeIndex : m.functions[fi - m.importedFuncs]];
  const env: FunctionEnv = {
    module: m, funcType: typeOf, linkedFunc: (fi) => fi, typeId: (ti) => ti, globalSlot: (g) => g,
    globalType: (g) => m.globals[g].type, memoryCount: m.memories.length, tableCount: m.tables.length,
    tableElemType: (t) => m.tables[t].elemType, funcDeclared: () => true, stubs: STUBS,
    memoryDesc: 8, tableDesc: () => 72, linkedTable: (t) => t, linkedElem: (e) => e, funcTypeId: () => 0,
    switchMemory: false, funcMemoryDesc: () => -1, dataSlot: (d) => d,
  };
  fc.compile(env, m.importedFuncs + f, f);
  return be.log;
}

/** The body's operations: after the prologue (zeroed locals, frame bottom) and up to the return. */
function body(log: string[]): string[] {
  const from = log.findIndex((l) => l.startsWith('frameBottom')) + 1;
  const start = log[from]?.startsWith('zeroSlots') ? from + 1 : from;
  return log.slice(start, log.findIndex((l) => l.startsWith('endReturn')) + 1);
}

test('prologue, entry check slow path and frame size: every ISA gets the same sequence', async () => {
  const log = await ops('(module (func (param i32) (local i64 f64)))');
  expect(log).toEqual([
    'beginFunction 6', 'enterFrame', 'entryCheck', 'frameBottom', 'zeroSlots -16 16',
    'beginReturn false', 'endReturn false',
    // the entry check's slow path: the runtime's check, then back to the fast path
    'patchJump 2 7', 'callStub 1000', 'jump 3',
    'finishFrame 24',
  ]);
});

test('a local and a constant: the local is loaded, the constant is an immediate, the result returned', async () => {
  const log = await ops('(module (func (param i32) (result i32) local.get 0 i32.const 5 i32.add))');
  expect(body(log)).toEqual([
    'loadSlot i32 r0 [fp+8]', // parameter 0 above the return address
    'intBinary 0 4 r0 r0 #5', // IntBinOp.Add, width 4, in place
    'move i32 r8 r0', // to the result register
    'beginReturn false', 'endReturn false',
  ]);
});

test('constants fold: no arithmetic, the folded value is the result', async () => {
  const log = await ops('(module (func (result i32) i32.const 2 i32.const 3 i32.add i32.const 4 i32.mul i64.const 7 i32.wrap_i64 i32.sub))');
  expect(body(log)).toEqual(['loadConst i32 r8 #13', 'beginReturn false', 'endReturn false']);
});

test('a constant first operand of a commutative operation goes second; of a comparison, swapped', async () => {
  const log = await ops('(module (func (param i32) (result i32) i32.const 9 local.get 0 i32.mul i32.const 3 local.get 0 i32.lt_s i32.add))');
  expect(body(log)).toEqual([
    'loadSlot i32 r0 [fp+8]', 'intBinary 2 4 r0 r0 #9', // 9·x as x·9
    'loadSlot i32 r1 [fp+8]', 'intCompare 4 4 r1 #3', // 3 < x as x > 3 (IntCmp.GtS)
    'setFromCond c104 r1', // the flags into a register for the add
    'intBinary 0 4 r0 r0 r1',
    'move i32 r8 r0', 'beginReturn false', 'endReturn false',
  ]);
});

test('a comparison feeding br_if stays in the flags; eqz of it inverts the condition', async () => {
  const log = await ops(`(module (func (param i32 i32) (result i32)
    (block (br_if 0 (i32.eqz (i32.lt_u (local.get 0) (local.get 1)))))
    (local.get 0)))`);
  expect(body(log)).toEqual([
    'loadSlot i32 r0 [fp+16]', 'intCompare 3 4 r0 [fp+8]', // local 1 read where it is
    'branchIf c153 -1', // IntCmp.LtU (103), inverted: no 0/1 in a register
    'patchJump 6 7', // the block's end
    'loadSlot i32 r8 [fp+16]', 'beginReturn false', 'endReturn false',
  ]);
});

test('select on a constant picks its operand at compile time', async () => {
  const log = await ops('(module (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.const 0 select))');
  expect(body(log)).toEqual([
    'loadSlot i32 r8 [fp+8]', // the second operand, into the result register
    'beginReturn false', 'endReturn false',
  ]);
});

test('a call: every live value to its slot, the stack pointer at the arguments, the result pushed', async () => {
  const log = await ops(`(module
    (func $f (param i32) (result i32) local.get 0)
    (func (param i32) (result i32) (i32.add (i32.const 1) (i32.add (local.get 0) (call $f (local.get 0))))))`, 1);
  expect(body(log)).toEqual([
    // the operand stack: 1 (a constant), x, and the argument x; all go to their slots (x from its own)
    'storeSlotConst i32 [fp-8] #1', 'copySlot [fp-16] [fp8]', 'copySlot [fp-24] [fp8]',
    'enterCall 24', 'callDirect 0', 'leaveCall 24',
    'move i32 r0 r8', // the result register holds no values: the result moves to an allocatable one
    // x + f(x), x still the local's own value (in its slot); 1 + … still a constant
    'loadSlot i32 r1 [fp+8]', 'intBinary 0 4 r1 r1 r0', 'intBinary 0 4 r1 r1 #1',
    'move i32 r8 r1', 'beginReturn false', 'endReturn false',
  ]);
});

test('a loop: values in their slots at the header check, whose slow path the code generator writes', async () => {
  const log = await ops(`(module (func (param i32) (result i32) (local i32)
    (local.get 0)
    (loop $l (param i32) (result i32)
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.ne (local.get 1) (i32.const 10))))))`);
  const check = log.indexOf('loopCheck');
  expect(log.slice(check - 1, check + 1)).toEqual(['copySlot [fp-16] [fp8]', 'loopCheck']);
  // the slow path: the stack pointer at the site's frame (1 local, 1 operand: 16 bytes), the
  // runtime's check, the frame bottom again, back to the loop
  const at = log.indexOf('loopCheck');
  const slow = log.findIndex((l) => l.startsWith(`patchJump ${at} `));
  expect(log.slice(slow + 1, slow + 5)).toEqual(['enterCall 16', 'callStub 1000', 'frameBottom', `jump ${at + 1}`]);
  expect(log.at(-1)).toBe('finishFrame 40'); // 1 local, 3 operands at most, the return address
});

test('the code generator places operands in the forms the backend accepts', async () => {
  const log = await ops('(module (memory 1) (func (param i32) (i32.store offset=4 (local.get 0) (i32.const 7)) (i32.store (i32.const 16) (i32.load8_s (i32.const 3)))))');
  expect(body(log)).toEqual([
    'loadSlot i32 r0 [fp+8]', 'memStore i32 4 r0+4 #7',
    'memLoad i32 1 true r0 #3+0', 'memStore i32 4 #16+0 r0',
    'beginReturn false', 'endReturn false',
  ]);
});

test('a register state made by hand: a check stores and reloads it, a trap branch stores it', async () => {
  // the code generator's own trap branches carry empty states (a trap does not resume): a state
  // on one is made by hand here
  const be = new RecordingBackend();
  const out = new CompileOutput();
  out.stubs = STUBS;
  const fc = new FunctionCompiler(be, out);
  be.beginFunction(0);
  fc.ool.reset();
  const site = fc.ool.checkSites.add(-1, 0, 1, 32, 0, 0, 0, 1);
  fc.ool.addSave(I32, 3, -8);
  fc.ool.addSave(F64, 1, -16);
  fc.ool.addCheck(5, 6, 32, site, 0, 2);
  // a trap branch taken while the same registers hold locals writes them back too
  fc.ool.trapStateStart = 0;
  fc.ool.trapStateCount = 2;
  fc.ool.addTrap(9, 2);
  emitSlowPaths(fc);
  expect(be.log.slice(1)).toEqual([
    'patchJump 5 1', 'storeSlot i32 [fp-8] r3', 'storeSlot f64 [fp-16] r1', 'enterCall 32', 'callStub 1000',
    'frameBottom', 'loadSlot i32 r3 [fp-8]', 'loadSlot f64 r1 [fp-16]', 'jump 6',
    'patchJump 9 10', 'storeSlot i32 [fp-8] r3', 'storeSlot f64 [fp-16] r1', 'callStub 2002',
  ]);
  // right after the runtime's check (6 one-byte operations): where a resumed frame continues
  expect(out.sites.count).toBe(1);
  expect(out.sites.get(0, SiteWord.CodeOffset)).toBe(6);
  expect(out.sites.get(0, SiteWord.Check)).toBe(1);
});

// --- locals in registers (localregs.ts): the recording backend gives r3, r2 and f1 to locals ----

test('a loop keeps its locals in registers: no load or store per iteration; its check saves them', async () => {
  const log = await ops(`(module (func (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top)))
    (local.get $acc)))`, 0, true);
  // i and acc (8 uses each in the loop) get r3 and r2; n (once in the loop) stays in its slot
  const check = log.indexOf('loopCheck');
  const loopEnd = log.findIndex((l, k) => k > check && l.startsWith('jump '));
  expect(log.slice(check - 2, loopEnd + 1)).toEqual([
    'loadConst i32 r3 #0', 'loadConst i32 r2 #0', // the declared locals: zero, their slots not written
    'loopCheck',
    'intCompare 9 4 r3 [fp+8]', 'branchIf c109 -1', // i ≥ n: n read in its slot
    'intBinary 0 4 r2 r2 r3', // acc += i, in acc's register
    'intBinary 0 4 r3 r3 #1', // i += 1
    `jump ${check}`,
  ]);
  expect(log.some((l) => l.startsWith('zeroSlots'))).toBe(false);
  // the check's slow path: both locals to their slots, the runtime's check, both back
  const slow = log.findIndex((l) => l.startsWith(`patchJump ${check} `));
  expect(log.slice(slow + 1, slow + 8)).toEqual([
    'storeSlot i32 [fp-8] r3', 'storeSlot i32 [fp-16] r2', 'enterCall 16', 'callStub 1000',
    'frameBottom', 'loadSlot i32 r3 [fp-8]', 'loadSlot i32 r2 [fp-16]',
  ]);
});

test('a call writes back the register locals changed since their last write-back and reloads them all', async () => {
  const log = await ops(`(module
    (func $f (param i32) (result i32) local.get 0)
    (func (param $p i32) (result i32) (local $x i32)
      (loop $l
        (local.set $x (i32.add (local.get $x) (i32.mul (local.get $p) (local.get $p))))
        (local.set $x (call $f (local.get $x)))
        (drop (call $f (local.get $p)))
        (br_if $l (local.get $x)))
      (local.get $x)))`, 1, true);
  const calls = log.map((l, k) => (l.startsWith('callDirect') ? k : -1)).filter((k) => k >= 0);
  // x (5 uses in the loop) has r3, p (3) r2. First call: x changed (p never is): x written back
  // (its argument is stored from its register); the result goes straight into x's register,
  // which is not reloaded
  expect(log.slice(calls[0] - 3, calls[0] + 4)).toEqual([
    'storeSlot i32 [fp-16] r3', 'storeSlot i32 [fp-8] r3', 'enterCall 16',
    'callDirect 0', 'leaveCall 16', 'move i32 r3 r8', 'loadSlot i32 r2 [fp+8]',
  ]);
  // second call: x changed by the first's result: written back; both reloaded after
  expect(log.slice(calls[1] - 3, calls[1] + 5)).toEqual([
    'storeSlot i32 [fp-16] r2', 'storeSlot i32 [fp-8] r3', 'enterCall 16', 'callDirect 0', 'leaveCall 16',
    'move i32 r0 r8', 'loadSlot i32 r3 [fp-8]', 'loadSlot i32 r2 [fp+8]',
  ]);
});

test('a result goes straight into the register of the local set next; readers of its old value keep it', async () => {
  const log = await ops(`(module (func (param $a i32) (param $b i32) (result i32)
    (local.set $a (i32.mul (local.get $a) (local.get $b)))
    (local.set $a (i32.mul (local.get $a) (local.get $a)))
    (local.get $a)
    (local.set $a (i32.sub (local.get $b) (local.get $a)))
    (local.set $a (i32.sub (local.get $b) (i32.const 1)))
    (local.get $a)
    i32.add))`, 0, true);
  expect(body(log).slice(2)).toEqual([
    'intBinary 2 4 r3 r3 r2', // a ·= b in a's register
    'intBinary 2 4 r3 r3 r3', // a ·= a
    // a = b − a would overwrite a before reading it: the result goes to a new register; the a
    // pushed before is still read by the add: it gets a copy before a is written
    'intBinary 1 4 r0 r2 r3', 'move i32 r1 r3', 'move i32 r3 r0',
    'intBinary 1 4 r3 r2 #1', // a = b − 1: straight into a's register
    'intBinary 0 4 r1 r1 r3', 'move i32 r8 r1', 'beginReturn false', 'endReturn false',
  ]);
});

test('the pre-scan weighs uses by loop depth; a local used no more often than calls reload it stays in its slot', async () => {
  const log = await ops(`(module
    (func $g)
    (func (param $once i32) (param $twice i32) (param $inloop i32) (result i32) (local $k i32)
      (call $g) (call $g) (call $g)
      (drop (local.get $twice)) (drop (local.get $twice)) (drop (local.get $once))
      (loop $l (local.set $k (i32.add (local.get $k) (local.get $inloop))) (br_if $l (local.get $k)))
      (local.get $k)))`, 1, true);
  // three calls: twice (2 uses) stays in its slot; k (24 by weight, its set included) and inloop
  // (8) get r3 and r2: the prologue gives them their values
  const prologue = log.slice(log.indexOf('frameBottom') + 1, log.findIndex((l) => l.startsWith('storeSlot')));
  expect(prologue).toEqual(['loadConst i32 r3 #0', 'loadSlot i32 r2 [fp+8]']);
  expect(log).toContain('intBinary 0 4 r3 r3 r2');
});

test('SIMD rows: the pre-scan reads past their immediates; a v128 local stays in its two slots', async () => {
  // every SIMD immediate kind before the loop (a const and a shuffle whose bytes look like
  // opcodes, memargs, a lane byte, memarg + lane): if the scan stopped at one, $i would be no
  // register local
  const log = await ops(`(module (memory 1)
    (func (param $p i32) (result i32) (local $v v128) (local $i i32)
      (local.set $v (v128.const i32x4 0x20202020 0x21212121 0x10101010 0x0b0b0b0b))
      (local.set $v (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (local.get $v) (v128.load offset=16 (local.get $p))))
      (local.set $v (v128.load32_lane 2 (local.get $p) (local.get $v)))
      (v128.store (local.get $p) (i32x4.replace_lane 1 (local.get $v) (i32x4.extract_lane 3 (local.get $v))))
      (loop $l
        (local.set $v (i32x4.add (local.get $v) (local.get $v)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $p))))
      (i32.add (local.get $i) (i32x4.extract_lane 0 (local.get $v)))))`, 0, true);
  // $i and $p in r3, r2; $v (weighed most) in no register: each iteration loads it from its slots
  // and stores it back there, and the loop check's slow path saves only the two i32s
  expect(log).toContain('intBinary 0 4 r3 r3 #1');
  const body = log.slice(log.indexOf('loopCheck') + 1, log.findIndex((l) => l.startsWith('branchIf')));
  expect(body.slice(0, 4)).toEqual(['loadSlot v128 r0 [fp-16]', 'loadSlot v128 r1 [fp-16]', 'vecBinary 0 2 r0 r0 r1 t2', 'storeSlot v128 [fp-16] r0']);
  const slow = log.slice(log.lastIndexOf('frameBottom') - 4, log.lastIndexOf('frameBottom'));
  expect(slow).toEqual(['storeSlot i32 [fp-24] r3', 'storeSlot i32 [fp+8] r2', 'enterCall 24', 'callStub 1000']);
});

test('changed on either arm of an if: written back at the next call', async () => {
  const log = await ops(`(module
    (func $f)
    (func (param $c i32) (result i32) (local $x i32) (local $y i32)
      (loop $l
        (if (local.get $c) (then (local.set $x (i32.const 1))) (else (local.set $y (i32.const 2))))
        (call $f)
        (br_if $l (i32.add (local.get $x) (local.get $y))))
      (i32.add (local.get $x) (local.get $y))))`, 1, true);
  const call = log.indexOf('callDirect 0');
  const stores = log.slice(0, call).filter((l) => l.startsWith('storeSlot'));
  expect(stores.slice(-2).sort()).toEqual(['storeSlot i32 [fp-16] r2', 'storeSlot i32 [fp-8] r3'].sort());
});

test('an index shifted by 1–3 and added is one scaled add; a shift used otherwise is computed', async () => {
  const log = await ops(`(module (memory 1) (func (param $base i32) (param $i i32) (result i32)
    (i32.load (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 2))))
    (i32.load (i32.add (i32.shl (local.get $i) (i32.const 3)) (i32.const 64)))
    i32.add
    (i32.shl (local.get $i) (i32.const 2))
    i32.xor))`, 0, true);
  expect(body(log).slice(2)).toEqual([
    // $i (used thrice) lives in r3; $base (used once) is read from its slot into r0
    'addShifted 4 r0 r0 r3<<2', 'memLoad i32 4 false r0 r0+0', // base + i·4
    'addShifted 4 r1 #64 r3<<3', 'memLoad i32 4 false r1 r1+0', // (i·8) + 64
    'intBinary 0 4 r0 r0 r1',
    'intBinary 10 4 r1 r3 #2', // i << 2 for an xor: a shift of its own
    'intBinary 9 4 r0 r0 r1', 'move i32 r8 r0', 'beginReturn false', 'endReturn false',
  ]);
});

test('a call result set into a local that an entry below still reads: the entry keeps the value from before the call', async () => {
  // fputs's pattern: fwrite(s, 1, s = strlen(s)): the first s is read after the call clobbered every register
  const log = await ops(`(module
    (func $len (param i32) (result i32) local.get 0)
    (func $write (param i32 i32) (result i32) local.get 0)
    (func (param $s i32) (result i32)
      (call $write (local.get $s) (local.tee $s (call $len (local.get $s))))
      (local.get $s) i32.add (local.get $s) i32.add (local.get $s) i32.add))`, 2, true);
  const call = log.indexOf('callDirect 0');
  const after = log.slice(call + 1, log.indexOf('callDirect 1'));
  // the local's register is reloaded from its slot before anything copies it
  const reload = after.findIndex((l) => l.startsWith('loadSlot'));
  expect(reload).toBeGreaterThanOrEqual(0);
  expect(after.slice(0, reload).some((l) => l.startsWith('move') && !l.endsWith('r8'))).toBe(false);
});

describe('v128 in the canonical frame: two 8-byte slots (docs/ARCHITECTURE.md, "Frames")', () => {
  test('parameters and locals: a v128 at its second slot, the lower address; later ones moved two slots', async () => {
    const log = await ops(`(module (func (param i32 v128 i32) (result v128) (local v128 i64)
      (drop (i32.eqz (local.get 0))) (drop (i32.eqz (local.get 2))) (drop (i64.eqz (local.get 4)))
      (local.set 3 (local.get 1)) (local.get 3)))`);
    // (eqz: a local.get alone is no load, the local's slot is read where it is used)
    // parameter slots: i32 (slot 0), v128 (1, 2), i32 (3): at fp+32, fp+16 (slot 2's), fp+8
    expect(log).toContain('testZero 4 [fp+32]');
    expect(log).toContain('testZero 4 [fp+8]');
    // declared locals: v128 (slots 4, 5) at fp−16, i64 (6) at fp−24; zeroed together
    expect(log).toContain('zeroSlots -24 24');
    expect(log).toContain('testZero 8 [fp-24]');
    expect(body(log)).toEqual(expect.arrayContaining(['loadSlot v128 r0 [fp+16]', 'storeSlot v128 [fp-16] r0', 'loadSlot v128 r0 [fp-16]', 'move v128 r9 r0']));
  });

  test('operand stack positions count the slots below them; the frame size too', async () => {
    const log = await ops(`(module (func (param i32) (result i32)
      (i32.add (i32.const 1)
        (i32x4.extract_lane 0 (i32x4.add (v128.const i32x4 1 2 3 4)
          (i32x4.splat (call 0 (local.get 0))))))))`);
    // before the call: the 1 (slot 0 of the stack, fp−8), the v128 constant (slots 1, 2: fp−24, as two halves), the argument (slot 3: fp−32)
    // (the argument, a local's value, is copied from the local's slot)
    expect(body(log).slice(0, 4)).toEqual([
      'storeSlotConst i32 [fp-8] #1', 'storeSlotConst i64 [fp-24] #1', 'storeSlotConst i64 [fp-16] #3', 'copySlot [fp-32] [fp8]',
    ]);
    expect(log).toContain('enterCall 32');
    // the add takes the constant (still one after the call: storeAllForCall), the splat in a
    // register, a temporary of its form
    expect(log).toContain('loadConstV128 r1 #1,2,3,4');
    expect(log.find((l) => l.startsWith('vecBinary'))).toMatch(/^vecBinary 0 2 r1 r1 r0 t\d$/);
    // the splat's v128 where the argument was: 5 operand slots at most, and the return address
    expect(log.at(-1)).toBe('finishFrame 48');
  });

  test('a site records a v128 as two slots of its type', async () => {
    const m = await moduleOf(`(module (func (param v128 i32) (local f32)
      (v128.const i64x2 7 8) (loop (param v128) (result v128) (br_if 0 (local.get 1))) (drop)))`);
    const out = new CompileOutput();
    out.stubs = STUBS;
    const fc = new FunctionCompiler(new RecordingBackend(), out);
    fc.compile({
      module: m, funcType: (fi) => m.types[m.functions[fi]], linkedFunc: (fi) => fi, typeId: (ti) => ti, globalSlot: (g) => g,
      globalType: (g) => m.globals[g].type, memoryCount: 0, tableCount: 0, tableElemType: () => 0x70, funcDeclared: () => true,
      stubs: STUBS, memoryDesc: 8, tableDesc: () => 72, linkedTable: (t) => t, linkedElem: (e) => e, funcTypeId: () => 0, switchMemory: false, funcMemoryDesc: () => -1, dataSlot: (d) => d,
    }, 0, 0);
    const row = (site: number): number => {
      for (let k = 0; k < out.sites.count; k++) if (out.sites.get(k, SiteWord.Site) === site) return k;
      throw new Error(`no site ${site}`);
    };
    const loop = row(1);
    expect(Array.from(out.sites.slotTypes(loop))).toEqual([0x7b, 0x7b, 0x7f, 0x7d, 0x7b, 0x7b]);
    expect(out.sites.get(loop, SiteWord.FpOffset)).toBe(24); // the local's slot and the loop parameter's two
    expect(Array.from(out.sites.slotTypes(row(0)))).toEqual([0x7b, 0x7b, 0x7f]);
  });

  test('several results fill the parameters\' area from its top, each its size; over the return address when they are more slots', async () => {
    const log = await ops('(module (func (param i64) (result v128 i32) (v128.const i32x4 5 6 7 8) (i32.const 9)))');
    // result 0 (v128, slots 0–1) at fp+8+8−16 = fp+0: the return address slot and below, read first
    expect(body(log)).toEqual([
      'beginReturn true', 'storeSlotConst i64 [fp+0] #5', 'storeSlotConst i64 [fp+8] #7', 'storeSlotConst i32 [fp-8] #9', 'endReturn true',
    ]);
  });
});

test('a v128 moved one slot up (a merge) overlaps itself: its high half is copied first', async () => {
  const log = await ops(`(module (func (param v128) (result v128)
    (block (result v128) (i32.const 0) (local.get 0) (call 1) (br_table 1 1 (i32.const 0))))
    (func (param v128) (result v128) (local.get 0)))`);
  // br_table stores every value at its home first; then the v128 (slots 1, 2, over the i32's
  // slot 0) moves to the function label's position 0 (slots 0, 1): 8 bytes up, for each target
  const copies = log.filter((l) => l.startsWith('copySlot'));
  expect(copies.slice(0, 2)).toEqual(['copySlot [fp-8] [fp-16]', 'copySlot [fp-16] [fp-24]']);
});

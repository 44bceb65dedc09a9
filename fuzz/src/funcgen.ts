/**
 * The function generator of gen.ts: a function body as a tree of typed expressions and
 * statements, each a node with its own forked PRNG and a path id (GenOptions.skip).
 */
import { Bytes } from './bytes';
import { Rng, weighted } from './rng';
import {
  I32, I64, F32, F64, V128, VALTYPES, VOID, UNARY, BINARY, DIVISION, EQZ, COMPARE, CONVERSIONS, SATURATING,
  SIGN_EXTEND, LOADS, STORES, VUNARY, VBINARY, VSHIFT, VSPLAT, VREPLACE, VEXTRACT, VTEST, VLOADS,
  constInstr, constValue, f32Bits, f64Bits,
  type ValType, type FuncType, type Conversion, type Access,
} from './ops';
import type { GenNode } from './gen';

export interface Global { type: ValType; mutable: boolean }
/** A branch to the label carries these values (a loop's parameters, a block's results). */
interface Label { types: ValType[] }

const key = (types: ValType[]): string => types.join(',');

export const FUEL_PER_CALL = 40;
export const MIX = 0x100000001b3n; // FNV-1a 64-bit prime

/** What the function generator needs to know of its module. */
export interface ModuleInfo {
  types: FuncType[];
  /** Types before the block types the bodies add: call_indirect picks among these. */
  funcTypeCount: number;
  /** Type index of every function in the index space: imports, then the generated functions. */
  funcTypes: number[];
  /** Index of the first generated function (= imported functions). */
  firstDefined: number;
  /** Global indices of `fuel` and `acc` (after the imported globals). */
  fuel: number;
  acc: number;
  globals: Global[];
  table: (number | null)[];
  memPages: number;
  memMax: number;
  pTrap: number;
  /** Weight of constants among the leaves: the code generator folds and uses immediates. */
  constBias: number;
  /** Post-1.0 features in use (GenOptions.mvp). */
  extended: boolean;
  /** Multi-value: block types with parameters and several results (type indices added to `types`). */
  multi: boolean;
  /** Lengths of the passive data segments, indices 0 … n−1 (memory.init, data.drop). */
  passive: number[];
  /** Rare shapes that outgrow the compiler's initial arrays: deep nesting, tall stacks. */
  stress: boolean;
  /** SIMD: v128 values among the types (locals, parameters, results, globals, blocks) and the 0xfd operations. */
  simd: boolean;
  /** The value types of this module: the four scalar ones, and v128 with `simd`. */
  valtypes: readonly ValType[];
  skip: ReadonlySet<string>;
  nodes: GenNode[];
  limits: { exprDepth: number; nest: number; stmts: number };
}


export class FuncGen {
  private code = new Bytes();
  /** Innermost last; [0] is the function's own label. */
  private labels: Label[];
  private locals: ValType[];
  private readonly scratchF32: number;
  private readonly scratchF64: number;
  /** A v128 scratch local (SIMD modules; −1 otherwise): NaN lanes made canonical, v128s mixed into acc. */
  private readonly scratchV128: number;
  /** The first loop counter local: they follow the scratch locals. */
  private readonly firstCounter: number;
  private counters = 0;
  private child = 0;

  constructor(private m: ModuleInfo, private rng: Rng, private path: string, private type: FuncType, declared: number) {
    this.labels = [{ types: type.results }];
    this.locals = [...type.params];
    for (let k = 0; k < declared; k++) this.locals.push(rng.pick(m.valtypes));
    this.scratchF32 = this.locals.length;
    this.scratchF64 = this.locals.length + 1;
    this.scratchV128 = m.simd ? this.locals.length + 2 : -1;
    this.firstCounter = this.locals.length + (m.simd ? 3 : 2);
  }

  /** Local declarations + code + end. */
  finish(): Bytes {
    const b = new Bytes();
    const decl = this.locals.slice(this.type.params.length);
    b.uleb(decl.length + 2 + (this.m.simd ? 1 : 0) + (this.counters ? 1 : 0));
    for (const t of decl) b.uleb(1).u8(t);
    b.uleb(1).u8(F32).uleb(1).u8(F64);
    if (this.m.simd) b.uleb(1).u8(V128);
    if (this.counters) b.uleb(this.counters).u8(I32);
    return b.append(this.code).u8(0x0b);
  }

  functionBody(stmts: number, fuel = true): void {
    const c = this.code;
    if (fuel) {
      // a function called with no fuel left returns zeros
      c.u8(0x23).uleb(this.m.fuel).u8(0x45, 0x04, VOID);
      for (const t of this.type.results) this.zero(t);
      c.u8(0x0f, 0x0b);
      c.u8(0x23).uleb(this.m.fuel).u8(0x41, 1, 0x6b, 0x24).uleb(this.m.fuel);
    }
    for (let k = 0; k < stmts; k++) this.stmt(this.m.limits.exprDepth);
    for (const t of this.type.results) this.expr(t, this.m.limits.exprDepth);
  }

  runBody(calls: number, deep: { index: number; params: ValType[]; results: ValType[] } | null): void {
    const first = this.m.firstDefined;
    const nFuncs = this.m.funcTypes.length - first;
    for (let k = 0; k < calls; k++) {
      this.node(() => undefined, () => {
        this.code.u8(0x41).sleb(FUEL_PER_CALL).u8(0x24).uleb(this.m.fuel);
        const f = first + (k < nFuncs ? k : this.rng.int(nFuncs));
        let results: ValType[] | undefined;
        if (k >= nFuncs && this.rng.chance(0.3)) results = this.callIndirect(null, 1);
        if (results === undefined) {
          const t = this.m.types[this.m.funcTypes[f]];
          for (const p of t.params) this.expr(p, 1);
          this.code.u8(0x10).uleb(f);
          results = t.results;
        }
        if (results.length === 0) this.code.u8(0x42).sleb(k + 1);
        else this.keepFirst(results);
        if (results.length) this.toI64(results[0]);
        this.mixAcc();
      });
    }
    // v128 globals are not exported (JS cannot read them): their values go into acc
    this.m.globals.forEach((g, k) => {
      if (g.type !== V128) return;
      this.code.u8(0x23).uleb(k);
      this.toI64(V128);
      this.mixAcc();
    });
    if (deep !== null) {
      this.code.u8(0x42, 0);
      for (const t of deep.params.slice(1)) constInstr(this.code, t, t === I64 || t === F64 ? 0n : 0);
      this.code.u8(0x10).uleb(deep.index);
      for (let j = 1; j < deep.results.length; j++) this.code.u8(0x1a);
      this.mixAcc();
    }
    this.code.u8(0x23).uleb(this.m.acc);
  }

  // ---- nodes

  private node(skipped: () => void, body: () => void): void {
    const id = `${this.path}.${this.child++}`;
    const rng = this.rng.fork();
    if (this.m.skip.has(id)) {
      skipped();
      return;
    }
    const saved = { rng: this.rng, path: this.path, child: this.child };
    this.rng = rng;
    this.path = id;
    this.child = 0;
    const start = this.code.length;
    body();
    this.m.nodes.push({ id, size: this.code.length - start });
    this.rng = saved.rng;
    this.path = saved.path;
    this.child = saved.child;
  }

  /** Pushes one value of type t. */
  private expr(t: ValType, depth: number): void {
    this.node(() => this.zero(t), () => this.exprBody(t, depth));
  }

  /** Leaves the operand stack as it was (or unreachable). */
  private stmt(depth: number): void {
    this.node(() => undefined, () => this.stmtBody(depth));
  }

  // ---- helpers

  private trap(): boolean {
    return this.m.pTrap > 0 && this.rng.chance(this.m.pTrap);
  }

  private zero(t: ValType): void {
    constInstr(this.code, t, t === I64 || t === F64 ? 0n : 0);
  }

  private constant(t: ValType): void {
    constInstr(this.code, t, constValue(this.rng, t));
  }

  private nest(): number {
    return this.labels.length - 1;
  }

  private localsOf(t: ValType): number[] {
    const r: number[] = [];
    this.locals.forEach((l, k) => l === t && r.push(k));
    return r;
  }

  private globalsOf(t: ValType, mutable: boolean): number[] {
    const r: number[] = [];
    this.m.globals.forEach((g, k) => g.type === t && (!mutable || (g.mutable && k !== this.m.fuel)) && r.push(k));
    return r;
  }

  private blockType(t: ValType | null): number {
    return t === null ? VOID : t;
  }

  /** A block type for params → results: the short forms, else a type index (s33) of `types`. */
  private blockTypeOf(params: ValType[], results: ValType[]): void {
    if (!params.length && results.length <= 1) {
      this.code.u8(results.length ? results[0] : VOID);
      return;
    }
    const types = this.m.types;
    let k = types.findIndex((t) => key(t.params) === key(params) && key(t.results) === key(results));
    if (k < 0) {
      k = types.length;
      types.push({ params, results });
    }
    this.code.sleb(k);
  }

  /** Results after the first are mixed into acc, top first: one value (the first) stays. */
  private keepFirst(results: ValType[]): void {
    for (let k = results.length - 1; k >= 1; k--) {
      this.toI64(results[k]);
      this.mixAcc();
    }
  }

  /** Pushes a value of each type, in order. */
  private exprs(types: ValType[], depth: number): void {
    for (const t of types) this.expr(t, depth);
  }

  /** Random value types, `min` … `max` of them. */
  private valtypes(min: number, max: number): ValType[] {
    return Array.from({ length: this.rng.range(min, max) }, () => this.rng.pick(this.m.valtypes));
  }

  /**
   * Where a float's bits become observable (reinterpret, store, global.set, copysign's sign,
   * mixing into acc), a NaN is replaced by the canonical NaN: the spec leaves the payload and
   * sign of NaN results open, and V8 uses that freedom (constant folding, its f32.min/max).
   */
  private canonicalNaN(t: ValType): void {
    if (t !== F32 && t !== F64) return;
    const tmp = t === F32 ? this.scratchF32 : this.scratchF64;
    this.code.u8(0x22).uleb(tmp);
    if (t === F32) this.code.u8(0x43).f32bits(0x7fc00000);
    else this.code.u8(0x44).f64bits(0x7ff8000000000000n);
    this.code.u8(0x20).uleb(tmp).u8(0x20).uleb(tmp).u8(t === F32 ? 0x5b : 0x61, 0x1b);
  }

  private toI64(t: ValType): void {
    this.canonicalNaN(t);
    if (t === I32) this.code.u8(0xad);
    else if (t === F32) this.code.u8(0xbc, 0xad);
    else if (t === F64) this.code.u8(0xbd);
    else if (t === V128) {
      // lane 0 ^ rotl(lane 1, 17)
      this.code.u8(0x22).uleb(this.scratchV128).u8(0xfd, 0x1d, 0).u8(0x20).uleb(this.scratchV128).u8(0xfd, 0x1d, 1);
      this.code.u8(0x42, 17, 0x89, 0x85);
    }
  }

  /**
   * After a float SIMD operation: NaN lanes (f32x4: `lanes` 4, f64x2: 2) become the canonical NaN
   * (bitselect of the value and a NaN splat on the value's self-equality), the scalar
   * canonicalNaN's counterpart.
   */
  private canonicalNaNLanes(lanes: 2 | 4): void {
    const c = this.code;
    c.u8(0x22).uleb(this.scratchV128);
    constInstr(c, V128, lanes === 4 ? 0x7fc000007fc000007fc000007fc00000n : 0x7ff80000000000007ff8000000000000n);
    c.u8(0x20).uleb(this.scratchV128).u8(0x20).uleb(this.scratchV128).u8(0xfd, lanes === 4 ? 0x41 : 0x47);
    c.u8(0xfd, 0x52);
  }

  private mixAcc(): void {
    this.code.u8(0x23).uleb(this.m.acc).u8(0x85, 0x42).sleb(BigInt.asIntN(64, MIX)).u8(0x7e, 0x24).uleb(this.m.acc);
  }

  private memarg(a: Access, guarded: boolean): void {
    const natural = Math.log2(a.bytes);
    this.code.uleb(this.rng.int(natural + 1));
    if (guarded) this.code.uleb(this.rng.chance(0.5) ? 0 : this.rng.int(1024));
    else this.code.uleb(this.rng.pick([0, a.bytes - 1, 65535, 65536 - a.bytes, 0xfffffff0, this.rng.u32(), this.rng.int(70000)]));
  }

  /** An address: guarded ones stay within the first 32 KiB (+ offset < 1 KiB). */
  private address(a: Access, depth: number): boolean {
    const guarded = this.m.memPages > 0 && !this.trap();
    if (guarded) {
      this.expr(I32, depth - 1);
      this.code.u8(0x41).sleb(this.rng.pick([0xff, 0xfff, 0x7fff, 0x7ff8])).u8(0x71);
    } else {
      const k = this.rng.int(4);
      if (k === 0) this.expr(I32, depth - 1);
      else if (k === 1) this.code.u8(0x41).sleb(this.m.memPages * 65536 - this.rng.int(2 * a.bytes));
      else if (k === 2) this.code.u8(0x41).sleb(this.rng.int(this.m.memMax * 65536 + 16)); // grown pages
      else this.code.u8(0x41).sleb(this.rng.u32() | 0);
    }
    return guarded;
  }

  // ---- expressions

  private exprBody(t: ValType, depth: number): void {
    if (t === V128) return this.vexprBody(depth);
    const c = this.code;
    const rng = this.rng;
    const locals = this.localsOf(t);
    const globals = this.globalsOf(t, false);
    const deep = depth > 0;
    const canNest = deep && this.nest() < this.m.limits.nest;
    const leaf = 2 + 6 * (1 - depth / this.m.limits.exprDepth);
    const conversions = (this.m.extended ? [...CONVERSIONS, ...SATURATING] : CONVERSIONS).filter((cv) => cv.to === t);
    const branchable = this.labels.some((l) => key(l.types) === key([t]));
    const callees = this.m.funcTypes.map((ti, f) => [f, ti]).filter(([, ti]) => this.m.types[ti].results[0] === t);
    const w = [
      leaf * this.m.constBias, // 0 const
      locals.length ? leaf : 0, // 1 local.get
      globals.length ? leaf / 3 : 0, // 2 global.get
      deep ? 2 : 0, // 3 unary
      deep ? 5 : 0, // 4 binary
      deep && t === I32 ? 2.5 : 0, // 5 compare
      deep ? 2 : 0, // 6 conversion
      deep ? 2 : 0, // 7 load
      deep && t === I32 ? 0.4 : 0, // 8 memory.size / grow
      deep && locals.length ? 1 : 0, // 9 local.tee
      deep ? 1 : 0, // 10 select
      canNest ? 1 : 0, // 11 block
      canNest ? 1 : 0, // 12 if
      canNest ? 0.6 : 0, // 13 loop
      deep && callees.length ? 1 : 0, // 14 call
      deep ? 0.6 : 0, // 15 call_indirect
      deep && branchable ? 0.5 : 0, // 16 br_if
      deep ? 0.25 : 0, // 17 polymorphic: br, br_table, return, unreachable
      deep ? 0.4 : 0, // 18 wide: many values live at once (register pressure, spills)
      deep && this.m.stress ? 0.3 : 0, // 19 tower of blocks / a very tall operand stack
      canNest && this.m.multi ? 1.2 : 0, // 20 multi-value block or loop with parameters
      deep && this.m.simd ? 2 : 0, // 21 from a v128: extract_lane, any/all_true, bitmask
    ];
    switch (weighted(rng, w)) {
      case 21: return this.fromVector(t, depth);
      case 0: return this.constant(t);
      case 1: c.u8(0x20).uleb(rng.pick(locals)); return;
      case 2: c.u8(0x23).uleb(rng.pick(globals)); return;
      case 3:
        this.expr(t, depth - 1);
        c.u8(rng.pick(this.m.extended && SIGN_EXTEND[t] ? [...UNARY[t], ...SIGN_EXTEND[t]!] : UNARY[t]));
        return;
      case 4: {
        const op = rng.pick(BINARY[t]);
        const division = DIVISION.has(op);
        // MIN / -1 and MIN % -1 are the cases x86's idiv faults on
        if (division && rng.chance(0.2)) constInstr(c, t, t === I32 ? -0x80000000 : -0x8000000000000000n);
        else this.expr(t, depth - 1);
        if (division && !this.trap()) this.divisor(t, op, depth - 1);
        else if (division && rng.chance(0.3)) constInstr(c, t, rng.chance(0.5) ? 0 : t === I32 ? -1 : -1n);
        else this.expr(t, depth - 1);
        if (op === 0x98 || op === 0xa6) this.canonicalNaN(t); // copysign takes the sign of a NaN
        c.u8(op);
        return;
      }
      case 5: {
        const s = rng.pick(VALTYPES);
        if (EQZ[s] !== undefined && rng.chance(0.25)) {
          this.expr(s, depth - 1);
          c.u8(EQZ[s]!);
        } else {
          this.expr(s, depth - 1);
          this.expr(s, depth - 1);
          c.u8(rng.pick(COMPARE[s]));
        }
        return;
      }
      case 6: {
        if (!conversions.length) return this.constant(t);
        const cv = rng.pick(conversions);
        this.expr(cv.from, depth - 1);
        if (cv.trunc && !this.trap()) this.truncGuard(cv);
        if (cv.sat) c.u8(0xfc).uleb(cv.op);
        else {
          if (cv.op === 0xbc || cv.op === 0xbd) this.canonicalNaN(cv.from);
          c.u8(cv.op);
        }
        return;
      }
      case 7: {
        const a = rng.pick(LOADS.filter((l) => l.type === t));
        const guarded = this.address(a, depth);
        c.u8(a.op);
        this.memarg(a, guarded);
        return;
      }
      case 8:
        if (rng.chance(0.5)) c.u8(0x3f, 0x00);
        else {
          if (rng.chance(0.8)) c.u8(0x41).sleb(rng.int(3));
          else this.expr(I32, depth - 1);
          c.u8(0x40, 0x00);
        }
        return;
      case 9: this.expr(t, depth - 1); c.u8(0x22).uleb(rng.pick(locals)); return;
      case 10:
        this.expr(t, depth - 1);
        this.expr(t, depth - 1);
        this.expr(I32, depth - 1);
        c.u8(0x1b);
        return;
      case 11: return this.block(t, depth);
      case 12: return this.ifElse(t, depth);
      case 13: return this.loop(t, depth);
      case 14: {
        const [f, ti] = rng.pick(callees);
        for (const p of this.m.types[ti].params) this.expr(p, depth - 1);
        c.u8(0x10).uleb(f);
        this.keepFirst(this.m.types[ti].results);
        return;
      }
      case 15: {
        const results = this.callIndirect(t, depth);
        if (results === undefined) this.constant(t);
        else this.keepFirst(results);
        return;
      }
      case 20:
        return this.multiBlock(t, depth);
      case 16: {
        const targets = this.labels.map((l, k) => k).filter((k) => key(this.labels[k].types) === key([t]));
        this.expr(t, depth - 1);
        this.expr(I32, depth - 1);
        c.u8(0x0d).uleb(this.nest() - rng.pick(targets));
        return;
      }
      case 17:
        return this.polymorphic(depth);
      case 19: {
        if (rng.chance(0.5)) {
          const n = rng.range(1000, 1600);
          for (let k = 0; k < n; k++) this.constant(t);
          for (let k = 1; k < n; k++) c.u8(rng.pick(BINARY[t].filter((op) => !DIVISION.has(op) && op !== 0x98 && op !== 0xa6)));
          return;
        }
        // block (t) nested n deep; the innermost branches out to any of them
        const n = rng.range(40, 300);
        for (let k = 0; k < n; k++) {
          c.u8(0x02, t);
          this.labels.push({ types: [t] });
        }
        this.expr(t, 1);
        const targets = this.labels.map((l, k) => k).filter((k) => key(this.labels[k].types) === key([t]));
        if (rng.chance(0.5)) {
          this.expr(I32, 1);
          c.u8(0x0d).uleb(this.nest() - rng.pick(targets));
        } else {
          this.expr(I32, 1);
          const m = rng.range(1, 600);
          c.u8(0x0e).uleb(m);
          for (let k = 0; k <= m; k++) c.uleb(this.nest() - rng.pick(targets));
        }
        for (let k = 0; k < n; k++) {
          this.labels.pop();
          c.u8(0x0b);
        }
        return;
      }
      default: {
        // v1 … vn pushed, then folded from the top: all n live together
        const n = rng.range(4, 20);
        // no copysign: its sign operand could be an uncanonicalised NaN
        const ops = BINARY[t].filter((op) => !DIVISION.has(op) && op !== 0x98 && op !== 0xa6);
        for (let k = 0; k < n; k++) this.expr(t, rng.chance(0.7) ? 0 : depth - 2);
        for (let k = 1; k < n; k++) c.u8(rng.pick(ops));
        return;
      }
    }
  }

  /** A scalar of type t from a v128: a lane, or (i32) any_true, all_true, bitmask. */
  private fromVector(t: ValType, depth: number): void {
    const c = this.code;
    const rng = this.rng;
    const lanes = VEXTRACT.filter(([, lt]) => lt === t);
    this.expr(V128, depth - 1);
    if (t === I32 && rng.chance(0.4)) {
      c.u8(0xfd).uleb(rng.pick(VTEST));
      return;
    }
    const [sub, , n] = rng.pick(lanes);
    c.u8(0xfd).uleb(sub).u8(rng.int(n));
  }

  /** Pushes one v128: SIMD operations of every shape, and the typed constructs as for scalars. */
  private vexprBody(depth: number): void {
    const c = this.code;
    const rng = this.rng;
    const t = V128;
    const locals = this.localsOf(t);
    const globals = this.globalsOf(t, false);
    const deep = depth > 0;
    const canNest = deep && this.nest() < this.m.limits.nest;
    const leaf = 2 + 6 * (1 - depth / this.m.limits.exprDepth);
    const branchable = this.labels.some((l) => key(l.types) === key([t]));
    const callees = this.m.funcTypes.map((ti, f) => [f, ti]).filter(([, ti]) => this.m.types[ti].results[0] === t);
    const w = [
      leaf * this.m.constBias, // 0 const
      locals.length ? leaf : 0, // 1 local.get
      globals.length ? leaf / 3 : 0, // 2 global.get
      deep ? 3 : 0, // 3 unary
      deep ? 5 : 0, // 4 binary
      deep ? 1.5 : 0, // 5 shift
      deep ? 0.8 : 0, // 6 bitselect
      deep ? 1.5 : 0, // 7 shuffle
      deep ? 2 : 0, // 8 splat
      deep ? 1 : 0, // 9 replace_lane
      deep ? 2 : 0, // 10 load, lane load
      deep && locals.length ? 1 : 0, // 11 local.tee
      deep ? 0.8 : 0, // 12 select
      canNest ? 0.5 : 0, // 13 block
      canNest ? 0.5 : 0, // 14 if
      canNest ? 0.4 : 0, // 15 loop
      deep && callees.length ? 1 : 0, // 16 call
      deep ? 0.4 : 0, // 17 call_indirect
      deep && branchable ? 0.4 : 0, // 18 br_if
      deep ? 0.2 : 0, // 19 polymorphic
      deep ? 0.4 : 0, // 20 wide: many v128s live at once
      canNest && this.m.multi ? 0.8 : 0, // 21 multi-value block or loop
    ];
    switch (weighted(rng, w)) {
      case 0: return this.constant(t);
      case 1: c.u8(0x20).uleb(rng.pick(locals)); return;
      case 2: c.u8(0x23).uleb(rng.pick(globals)); return;
      case 3: {
        const op = rng.pick(VUNARY);
        this.expr(t, depth - 1);
        c.u8(0xfd).uleb(op.sub);
        if (op.canon) this.canonicalNaNLanes(op.canon);
        return;
      }
      case 4: {
        const op = rng.pick(VBINARY);
        this.expr(t, depth - 1);
        this.expr(t, depth - 1);
        c.u8(0xfd).uleb(op.sub);
        if (op.canon) this.canonicalNaNLanes(op.canon);
        return;
      }
      case 5:
        this.expr(t, depth - 1);
        // counts past the lane width too (taken modulo it)
        if (rng.chance(0.6)) c.u8(0x41).sleb(rng.chance(0.7) ? rng.int(70) : rng.u32() | 0);
        else this.expr(I32, depth - 1);
        c.u8(0xfd).uleb(rng.pick(VSHIFT));
        return;
      case 6:
        this.exprs([t, t, t], depth - 1);
        c.u8(0xfd, 0x52);
        return;
      case 7: {
        this.exprs([t, t], depth - 1);
        c.u8(0xfd, 0x0d);
        // random lane indices of a and b; now and then from one operand only
        const from = rng.int(4);
        for (let k = 0; k < 16; k++) c.u8(from === 0 ? rng.int(16) : from === 1 ? 16 + rng.int(16) : rng.int(32));
        return;
      }
      case 8: {
        const [sub, lt] = rng.pick(VSPLAT);
        this.expr(lt, depth - 1);
        this.canonicalNaN(lt);
        c.u8(0xfd).uleb(sub);
        return;
      }
      case 9: {
        const [sub, lt, n] = rng.pick(VREPLACE);
        this.expr(t, depth - 1);
        this.expr(lt, depth - 1);
        this.canonicalNaN(lt);
        c.u8(0xfd).uleb(sub).u8(rng.int(n));
        return;
      }
      case 10: {
        const lane = rng.chance(0.3) ? rng.int(4) : -1;
        if (lane >= 0) {
          const a: Access = { op: 0, type: t, bytes: 1 << lane };
          const guarded = this.address(a, depth);
          this.expr(t, depth - 1);
          c.u8(0xfd).uleb(0x54 + lane);
          this.memarg(a, guarded);
          c.u8(rng.int(16 >> lane));
          return;
        }
        const [sub, bytes] = rng.pick(VLOADS);
        const a: Access = { op: 0, type: t, bytes };
        const guarded = this.address(a, depth);
        c.u8(0xfd).uleb(sub);
        this.memarg(a, guarded);
        return;
      }
      case 11: this.expr(t, depth - 1); c.u8(0x22).uleb(rng.pick(locals)); return;
      case 12:
        this.exprs([t, t], depth - 1);
        this.expr(I32, depth - 1);
        if (rng.chance(0.5)) c.u8(0x1b);
        else c.u8(0x1c, 1, t);
        return;
      case 13: return this.block(t, depth);
      case 14: return this.ifElse(t, depth);
      case 15: return this.loop(t, depth);
      case 16: {
        const [f, ti] = rng.pick(callees);
        for (const p of this.m.types[ti].params) this.expr(p, depth - 1);
        c.u8(0x10).uleb(f);
        this.keepFirst(this.m.types[ti].results);
        return;
      }
      case 17: {
        const results = this.callIndirect(t, depth);
        if (results === undefined) this.constant(t);
        else this.keepFirst(results);
        return;
      }
      case 18: {
        const targets = this.labels.map((l, k) => k).filter((k) => key(this.labels[k].types) === key([t]));
        this.expr(t, depth - 1);
        this.expr(I32, depth - 1);
        c.u8(0x0d).uleb(this.nest() - rng.pick(targets));
        return;
      }
      case 19: return this.polymorphic(depth);
      case 21: return this.multiBlock(t, depth);
      default: {
        const n = rng.range(4, 20);
        const ops = VBINARY.filter((op) => !op.canon);
        for (let k = 0; k < n; k++) this.expr(t, rng.chance(0.7) ? 0 : depth - 2);
        for (let k = 1; k < n; k++) c.u8(0xfd).uleb(rng.pick(ops).sub);
      }
    }
  }

  /** A divisor that is not 0, and not -1 for div_s (rem_s of MIN by -1 is 0, not a trap). */
  private divisor(t: ValType, op: number, depth: number): void {
    const c = this.code;
    const divS = op === 0x6d || op === 0x7f;
    const i32 = t === I32;
    if (this.rng.chance(0.4)) {
      let v = this.rng.chance(0.2) ? (i32 ? -1 : -1n) : constValue(this.rng, t);
      if (v === 0 || v === 0n || (divS && (v === -1 || v === -1n))) v = i32 ? 7 : 7n;
      constInstr(c, t, v);
      return;
    }
    this.expr(t, depth);
    const k = this.rng.int(divS ? 2 : 3);
    const imm = (v: number): void => void (i32 ? c.u8(0x41).sleb(v) : c.u8(0x42).sleb(BigInt(v)));
    if (k === 0) { // (x & -2) | 2: even, either sign
      imm(-2);
      c.u8(i32 ? 0x71 : 0x83);
      imm(2);
    } else if (k === 1) { // (x >>> 1) | 1: positive, odd
      imm(1);
      c.u8(i32 ? 0x76 : 0x88);
      imm(1);
    } else imm(1); // x | 1: -1 possible
    c.u8(i32 ? 0x72 : 0x84);
  }

  /** Replaces an out-of-range operand of a truncation by 0 (select on a range check). */
  private truncGuard(cv: Conversion): void {
    const c = this.code;
    const f32 = cv.from === F32;
    const tmp = f32 ? this.scratchF32 : this.scratchF64;
    const bits = cv.to === I32 ? 32 : 64;
    const lo = cv.trunc === 's' ? -(2 ** (bits - 1)) - (bits === 32 ? 1 : 0) : -1;
    const hi = cv.trunc === 's' ? 2 ** (bits - 1) : 2 ** bits;
    const fc = (x: number): void => {
      if (f32) c.u8(0x43).f32bits(f32Bits(x));
      else c.u8(0x44).f64bits(f64Bits(x));
    };
    c.u8(0x22).uleb(tmp);
    fc(0);
    c.u8(0x20).uleb(tmp);
    fc(hi);
    c.u8(f32 ? 0x5d : 0x63); // lt
    c.u8(0x20).uleb(tmp);
    fc(lo);
    c.u8(f32 ? 0x5e : 0x64, 0x71, 0x1b); // gt, and, select
  }

  private block(t: ValType | null, depth: number): void {
    this.code.u8(0x02, this.blockType(t));
    this.labels.push({ types: t === null ? [] : [t] });
    this.stmts(depth);
    if (t !== null) this.expr(t, depth - 1);
    this.labels.pop();
    this.code.u8(0x0b);
  }

  private ifElse(t: ValType | null, depth: number): void {
    this.expr(I32, depth - 1);
    this.code.u8(0x04, this.blockType(t));
    this.labels.push({ types: t === null ? [] : [t] });
    this.stmts(depth);
    if (t !== null) this.expr(t, depth - 1);
    if (t !== null || this.rng.chance(0.5)) {
      this.code.u8(0x05);
      this.stmts(depth);
      if (t !== null) this.expr(t, depth - 1);
    }
    this.labels.pop();
    this.code.u8(0x0b);
  }

  /**
   * block $B (t) ; loop $L [t] ; exit to $B when the counter is 0 ; counter-- ; body ;
   * br_if $L ; [t] end ; [t] end. The counter local is this loop's alone.
   */
  private loop(t: ValType | null, depth: number): void {
    const c = this.code;
    const counter = this.firstCounter + this.counters++;
    c.u8(0x41).sleb(this.rng.int(5)).u8(0x21).uleb(counter);
    c.u8(0x02, this.blockType(t));
    this.labels.push({ types: t === null ? [] : [t] });
    const valued = t !== null && this.rng.chance(0.5);
    c.u8(0x03, valued ? t! : VOID);
    this.labels.push({ types: [] });
    if (t !== null) this.zero(t);
    c.u8(0x20).uleb(counter).u8(0x45, 0x0d, 1);
    if (t !== null) c.u8(0x1a);
    c.u8(0x20).uleb(counter).u8(0x41, 1, 0x6b, 0x21).uleb(counter);
    this.stmts(depth);
    if (this.rng.chance(0.5)) c.u8(0x20).uleb(counter);
    else this.expr(I32, depth - 1);
    c.u8(0x0d, 0);
    if (valued) this.expr(t!, depth - 1);
    this.labels.pop();
    c.u8(0x0b);
    if (t !== null && !valued) this.expr(t, depth - 1);
    this.labels.pop();
    c.u8(0x0b);
  }

  /**
   * A block, if or loop whose type is a type index: parameters P, pushed before it, and results
   * R, the first of type t (the others are mixed into acc after it). Inside, P is mixed into acc,
   * top first, before or after its statements. A loop (block $B (P → R) (loop $L (P → R) …)) exits
   * to $B when its counter is 0 (with zeros for R) and branches back with new values for P.
   */
  private multiBlock(t: ValType, depth: number): void {
    const c = this.code;
    const rng = this.rng;
    const P = this.valtypes(0, 3);
    const R = [t, ...this.valtypes(P.length ? 0 : 1, 3)];
    const mixParams = (): void => {
      for (let k = P.length - 1; k >= 0; k--) {
        this.toI64(P[k]);
        this.mixAcc();
      }
    };
    const body = (): void => {
      const early = rng.chance(0.5);
      if (early) mixParams();
      this.stmts(depth);
      if (!early) mixParams();
      this.exprs(R, depth - 1);
    };
    const kind = rng.int(3);
    if (kind === 2) {
      const counter = this.firstCounter + this.counters++;
      c.u8(0x41).sleb(rng.int(5)).u8(0x21).uleb(counter);
      this.exprs(P, depth - 1);
      c.u8(0x02);
      this.blockTypeOf(P, R);
      this.labels.push({ types: R });
      c.u8(0x03);
      this.blockTypeOf(P, R);
      this.labels.push({ types: P });
      mixParams();
      for (const r of R) this.zero(r);
      c.u8(0x20).uleb(counter).u8(0x45, 0x0d, 1);
      for (const _ of R) c.u8(0x1a);
      c.u8(0x20).uleb(counter).u8(0x41, 1, 0x6b, 0x21).uleb(counter);
      this.stmts(depth);
      // the back edge, with new parameters
      if (rng.chance(0.5)) c.u8(0x20).uleb(counter);
      else this.expr(I32, depth - 1);
      c.u8(0x04, VOID);
      this.labels.push({ types: [] });
      this.exprs(P, depth - 1);
      c.u8(0x0c, 1, 0x0b);
      this.labels.pop();
      this.exprs(R, depth - 1);
      this.labels.pop();
      c.u8(0x0b);
      this.labels.pop();
      c.u8(0x0b);
    } else {
      this.exprs(P, depth - 1);
      if (kind === 1) this.expr(I32, depth - 1);
      c.u8(kind === 1 ? 0x04 : 0x02);
      this.blockTypeOf(P, R);
      this.labels.push({ types: R });
      body();
      if (kind === 1) {
        // an if with parameters needs its else: its arm starts from the same parameters
        c.u8(0x05);
        body();
      }
      this.labels.pop();
      c.u8(0x0b);
    }
    this.keepFirst(R);
  }

  /**
   * memory.init of a passive segment (guarded: inside the segment and the first 33 KiB of
   * memory), or now and then data.drop: then the segment traps for any later n > 0.
   */
  private memoryInit(depth: number): void {
    const c = this.code;
    const rng = this.rng;
    const seg = rng.int(this.m.passive.length);
    if (rng.chance(0.1)) {
      c.u8(0xfc).uleb(9).uleb(seg);
      return;
    }
    const len = this.m.passive[seg];
    const guarded = !this.trap();
    if (rng.chance(0.3)) c.u8(0x41).sleb(guarded ? rng.int(0x8000) : rng.int(this.m.memMax * 65536 + 64));
    else {
      this.expr(I32, depth - 1);
      if (guarded) c.u8(0x41).sleb(0x7fff).u8(0x71);
    }
    if (guarded) {
      const s = rng.int(len + 1);
      c.u8(0x41).sleb(s).u8(0x41).sleb(rng.int(len - s + 1));
    } else {
      c.u8(0x41).sleb(rng.chance(0.5) ? rng.int(len + 4) : rng.u32() | 0);
      c.u8(0x41).sleb(rng.chance(0.5) ? rng.int(len + 4) : rng.u32() | 0);
    }
    c.u8(0xfc).uleb(8).uleb(seg).u8(0x00);
  }

  private stmts(depth: number): void {
    const n = this.rng.int(1 + Math.max(1, this.m.limits.stmts - 2 * this.nest()));
    for (let k = 0; k < n; k++) this.stmt(depth - 1);
  }

  /**
   * call_indirect with a type whose result is `want` (any type when null). Usually through an
   * entry known to match; sometimes (trap budget) a random index. Returns the result types, or
   * `undefined` when it emitted nothing.
   */
  private callIndirect(want: ValType | null, depth: number): ValType[] | undefined {
    const rng = this.rng;
    const { types, table } = this.m;
    // the module's function types (block types come later and would shift the choice)
    const typeIdx = types.slice(0, this.m.funcTypeCount).map((t, k) => k).filter((k) => want === null || types[k].results[0] === want);
    if (!typeIdx.length) return undefined;
    const ti = rng.pick(typeIdx);
    const sig = (k: number): string => `${key(types[k].params)}:${key(types[k].results)}`;
    const matching = table.map((f, k) => k).filter((k) => table[k] !== null && sig(this.m.funcTypes[table[k]!]) === sig(ti));
    const wild = this.trap();
    if (!wild && !matching.length) return undefined;
    for (const p of types[ti].params) this.expr(p, depth - 1);
    if (!wild) this.code.u8(0x41).sleb(rng.pick(matching));
    else if (rng.chance(0.5)) this.code.u8(0x41).sleb(rng.int(table.length + 3));
    else this.expr(I32, depth - 1);
    this.code.u8(0x11).uleb(ti).u8(0x00);
    return types[ti].results;
  }

  /** br, br_table, return or unreachable: the stack becomes polymorphic. */
  private polymorphic(depth: number): void {
    const c = this.code;
    const rng = this.rng;
    const k = weighted(rng, [3, 2, 1, this.m.pTrap > 0 ? 0.5 : 0]);
    if (k === 0) {
      const target = rng.int(this.labels.length);
      this.exprs(this.labels[target].types, depth - 1);
      c.u8(0x0c).uleb(this.nest() - target);
    } else if (k === 1) {
      const lt = rng.pick(this.labels).types;
      const targets = this.labels.map((l, j) => j).filter((j) => key(this.labels[j].types) === key(lt));
      this.exprs(lt, depth - 1);
      if (rng.chance(0.5)) c.u8(0x41).sleb(rng.int(7));
      else this.expr(I32, depth - 1);
      const n = rng.int(5);
      c.u8(0x0e).uleb(n);
      for (let j = 0; j <= n; j++) c.uleb(this.nest() - rng.pick(targets));
    } else if (k === 2) {
      this.exprs(this.type.results, depth - 1);
      c.u8(0x0f);
    } else c.u8(0x00);
  }

  // ---- statements

  private stmtBody(depth: number): void {
    const c = this.code;
    const rng = this.rng;
    const canNest = depth > 0 && this.nest() < this.m.limits.nest;
    const mutables = this.m.globals.map((g, k) => k).filter((k) => k !== this.m.fuel && this.m.globals[k].mutable);
    const w = [
      3, // 0 local.set
      mutables.length ? 2 : 0, // 1 global.set
      3, // 2 store
      1, // 3 drop
      1.5, // 4 mix into acc
      canNest ? 1 : 0, // 5 block
      canNest ? 1.5 : 0, // 6 if
      canNest ? 1 : 0, // 7 loop
      1, // 8 call
      0.5, // 9 call_indirect
      1, // 10 br_if
      0.2, // 11 polymorphic
      0.3, // 12 memory.grow
      this.m.extended ? 0.8 : 0, // 13 memory.copy / memory.fill
      this.m.passive.length ? 0.8 : 0, // 14 memory.init / data.drop
      this.m.extended ? 0.8 : 0, // 15 table 0: get/set/size/grow/fill/copy, references (tableOp)
      this.m.simd ? 1.5 : 0, // 16 v128.store, v128.storeN_lane
    ];
    switch (weighted(rng, w)) {
      case 16: {
        const lane = rng.chance(0.4) ? rng.int(4) : -1;
        const a: Access = { op: 0, type: V128, bytes: lane < 0 ? 16 : 1 << lane };
        const guarded = this.address(a, depth);
        this.expr(V128, depth - 1);
        c.u8(0xfd).uleb(lane < 0 ? 0x0b : 0x58 + lane);
        this.memarg(a, guarded);
        if (lane >= 0) c.u8(rng.int(16 >> lane));
        return;
      }
      case 0: {
        const l = rng.int(this.locals.length);
        if (this.locals.length === 0) return;
        this.expr(this.locals[l], depth);
        c.u8(0x21).uleb(l);
        return;
      }
      case 1: {
        const g = rng.pick(mutables);
        this.expr(this.m.globals[g].type, depth);
        this.canonicalNaN(this.m.globals[g].type);
        c.u8(0x24).uleb(g);
        return;
      }
      case 2: {
        const a = rng.pick(STORES);
        const guarded = this.address(a, depth);
        this.expr(a.type, depth - 1);
        this.canonicalNaN(a.type);
        c.u8(a.op);
        this.memarg(a, guarded);
        return;
      }
      case 3: this.expr(rng.pick(this.m.valtypes), depth); c.u8(0x1a); return;
      case 4: {
        const t = rng.pick(this.m.valtypes);
        this.expr(t, depth);
        this.toI64(t);
        this.mixAcc();
        return;
      }
      case 5: return this.block(null, depth);
      case 6: return this.ifElse(null, depth);
      case 7: return this.loop(null, depth);
      case 8: {
        const f = rng.int(this.m.funcTypes.length);
        const t = this.m.types[this.m.funcTypes[f]];
        for (const p of t.params) this.expr(p, depth - 1);
        c.u8(0x10).uleb(f);
        for (let k = 0; k < t.results.length; k++) c.u8(0x1a);
        return;
      }
      case 9: {
        const r = this.callIndirect(null, depth);
        if (r !== undefined) for (const _ of r) c.u8(0x1a);
        return;
      }
      case 10: {
        const target = rng.int(this.labels.length);
        const lt = this.labels[target].types;
        this.exprs(lt, depth - 1);
        this.expr(I32, depth - 1);
        c.u8(0x0d).uleb(this.nest() - target);
        for (const _ of lt) c.u8(0x1a);
        return;
      }
      case 11: return this.polymorphic(depth);
      case 12:
        if (rng.chance(0.8)) c.u8(0x41).sleb(rng.int(2));
        else this.expr(I32, depth - 1);
        c.u8(0x40, 0x00, 0x1a);
        return;
      case 14: return this.memoryInit(depth);
      case 15: return this.tableOp(depth);
      default: {
        // dst, src or value, length: guarded ones stay within the first 33 KiB
        const guarded = this.m.memPages > 0 && !this.trap();
        const operand = (mask: number): void => {
          if (rng.chance(0.3)) c.u8(0x41).sleb(guarded ? rng.int(mask + 1) : rng.int(this.m.memMax * 65536 + 64));
          else {
            this.expr(I32, depth - 1);
            if (guarded) c.u8(0x41).sleb(mask).u8(0x71);
          }
        };
        const copy = rng.chance(0.5);
        operand(0x7fff);
        if (copy) operand(0x7fff);
        else this.expr(I32, depth - 1);
        operand(rng.pick([0xf, 0xff, 0x3ff]));
        c.u8(0xfc).uleb(copy ? 10 : 11);
        if (copy) c.u8(0x00, 0x00);
        else c.u8(0x00);
      }
    }
  }

  /**
   * A reference-types statement on table 0 (reference values V8 can compare: through
   * ref.is_null, call_indirect after it, and table.size): table.set of a table.get, a ref.func
   * or null (through a typed select), table.fill, table.copy, table.grow, or a null test mixed
   * into acc. Guarded indices stay below the initial size (tables never shrink); unguarded ones
   * may trap "out of bounds table access" on both sides.
   */
  private tableOp(depth: number): void {
    const c = this.code;
    const rng = this.rng;
    const size = this.m.table.length;
    const guarded = size > 0 && !this.trap();
    const index = (): void => {
      if (guarded || rng.chance(0.5)) c.u8(0x41).sleb(guarded ? rng.int(size) : rng.int(size + 3));
      else this.expr(I32, depth - 1);
    };
    const count = (): void => {
      if (guarded) c.u8(0x41).sleb(0);
      else c.u8(0x41).sleb(rng.pick([0, 1, 2, 5]));
    };
    const declared = this.m.table.filter((f): f is number => f !== null);
    const ref = (): void => {
      const k = rng.int(3);
      if (k === 0 || !declared.length) c.u8(0xd0, 0x70); // ref.null func
      else if (k === 1) { index(); c.u8(0x25, 0x00); } // table.get 0
      else {
        c.u8(0xd2).uleb(rng.pick(declared)).u8(0xd0, 0x70);
        this.expr(I32, depth - 1);
        c.u8(0x1c, 0x01, 0x70); // select (result funcref)
      }
    };
    switch (rng.int(6)) {
      case 0: index(); ref(); c.u8(0x26, 0x00); return; // table.set
      case 1: index(); ref(); count(); c.u8(0xfc, 17, 0x00); return; // table.fill
      case 2: index(); index(); count(); c.u8(0xfc, 14, 0x00, 0x00); return; // table.copy
      case 3: { // table.grow: small, or far beyond any maximum (fails on both sides)
        ref();
        c.u8(0x41).sleb(rng.pick([0, 1, 2, 0x7fffffff]));
        c.u8(0xfc, 15, 0x00, 0x1a);
        return;
      }
      case 4: c.u8(0xfc, 16, 0x00, 0xad); this.mixAcc(); return; // table.size
      default: ref(); c.u8(0xd1, 0xad); this.mixAcc(); // ref.is_null
    }
  }
}

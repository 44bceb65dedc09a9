import { Form } from './backend';
import { I32, FUNCREF } from './operations';
import { addSite } from './sites';
import { tableElemType } from './tables';
import type { FunctionCompiler } from './function';

/**
 * call and call_indirect. A call is a site (docs/ARCHITECTURE.md, "Sites"): every value is in its
 * slot before it (CodeGenContext.prepareCall), the stack pointer sits at the last argument's slot,
 * and the site records the return address with the frame's slot types, the arguments excluded
 * (they are the callee's parameters).
 */

export function call(fc: FunctionCompiler): void {
  const dead = fc.dead;
  const env = fc.env;
  const f = fc.rd.u32();
  const m = env.module;
  if (f >= m.importedFuncs + m.functions.length) fc.fail('unknown function');
  const type = env.funcType(f);
  const site = fc.siteCount++; // numbered by opcode, reachable or not
  fc.popN(type.params);
  if (dead) {
    fc.pushTypes(type.results);
    return;
  }
  fc.stack.height += type.params.length;
  fc.prepareCall();
  const func = env.linkedFunc(f);
  // a callee of another memory returns with its base in the memory register
  emitCall(fc, false, func, type.params.length, type.results, site, env.switchMemory ? env.funcMemoryDesc(func) : -2);
}

export function callIndirect(fc: FunctionCompiler): void {
  const dead = fc.dead;
  const env = fc.env;
  const s = fc.stack;
  const typeIndex = fc.rd.u32();
  const tableIndex = fc.rd.u32();
  if (tableIndex >= env.tableCount) fc.fail('unknown table');
  if (tableElemType(fc, tableIndex) !== FUNCREF) fc.fail('type mismatch');
  if (typeIndex >= env.module.types.length) fc.fail('unknown type');
  const type = env.module.types[typeIndex];
  const site = fc.siteCount++;
  fc.pop(I32);
  fc.popN(type.params);
  if (dead) {
    fc.pushTypes(type.results);
    return;
  }
  s.height += type.params.length + 1; // the arguments and the callee's table index
  fc.prepareCall();
  const idx = s.height - 1;
  fc.be.loadIndirectTarget(env.typeId(typeIndex), env.tableDesc(tableIndex), fc.place(idx, Form.AAny, fc.opA));
  s.height--;
  emitCall(fc, true, 0, type.params.length, type.results, site, -2);
}

/**
 * The call with the stack pointer at the last of the `nArgs` arguments (the top values), the
 * site, the frame restored, the memory register reloaded when the callee may have another memory
 * (`calleeMemory` is its descriptor, −2 when not known), the results pushed.
 */
function emitCall(fc: FunctionCompiler, indirect: boolean, func: number, nArgs: number, results: Uint8Array, site: number, calleeMemory: number): void {
  const be = fc.be;
  const env = fc.env;
  const s = fc.stack;
  const depth = s.height;
  const fpOffset = fc.frame.siteFpOffset(depth);
  be.enterCall(fpOffset);
  if (indirect) be.callIndirect();
  else be.callDirect(func);
  addSite(fc, fc.out.buf.pos, site, fpOffset, fc.frame.siteSlots(depth - nArgs), fc.opOffset);
  be.leaveCall(fpOffset);
  if (env.switchMemory && env.memoryDesc >= 0 && calleeMemory !== env.memoryDesc) be.loadMemoryBase(env.memoryDesc);
  s.height = depth - nArgs;
  fc.callResults(results);
}

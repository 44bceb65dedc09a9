import type { GlobalType, Limits, Module, TableType } from './module';

/** A module's imports of each kind, in index-space order. */
export interface ImportIndex {
  /** Type index of each imported function. */
  funcTypes: number[];
  tables: TableType[];
  memories: Limits[];
  globals: GlobalType[];
}

const cache = new WeakMap<Module, ImportIndex>();

/**
 * The imports of each kind, computed once per module: looking an imported function's type up by
 * walking the imports at every call made compiling quadratic (100,000 imports and a body of calls
 * took hours). Call it after decoding, when the imports no longer change.
 */
export function importIndex(m: Module): ImportIndex {
  let ix = cache.get(m);
  if (ix) return ix;
  ix = { funcTypes: [], tables: [], memories: [], globals: [] };
  for (const imp of m.imports) {
    const d = imp.desc;
    if (d.kind === 'func') ix.funcTypes.push(d.typeIndex);
    else if (d.kind === 'table') ix.tables.push(d.type);
    else if (d.kind === 'memory') ix.memories.push(d.limits);
    else ix.globals.push(d.type);
  }
  cache.set(m, ix);
  return ix;
}

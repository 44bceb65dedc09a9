import * as core from './core';
import * as alu from './alu';
import * as move from './move';
import * as mul from './mul';
import * as shift from './shift';
import * as bit from './bit';
import * as cond from './cond';
import * as branch from './branch';
import * as memory from './memory';
import * as float from './float';
import * as system from './system';

/**
 * Every encoder as a plain data property of one object: `export *` compiles (CommonJS) to a
 * getter per name, which costs the hot compile path (see packages/x86-64/src/encode/flat.ts).
 */
export const a = Object.freeze({ ...core, ...alu, ...move, ...mul, ...shift, ...bit, ...cond, ...branch, ...memory, ...float, ...system });

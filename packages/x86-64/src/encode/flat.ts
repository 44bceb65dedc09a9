import * as core from './core';
import * as int from './int';
import * as branch from './branch';
import * as sse from './sse';

/**
 * Every encoder as a plain data property of one object. `export *` compiles (CommonJS) to a
 * getter per name, and the compile path calls encoders millions of times: a profile of
 * esbuild.wasm spent ~9% in those getters.
 */
export const x = Object.freeze({ ...core, ...int, ...branch, ...sse });

export * from './core';
export * from './int';
export * from './branch';
export * from './sse';

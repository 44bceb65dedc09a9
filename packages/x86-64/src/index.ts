export * from './encode';
export { X64Backend, x64Stubs } from './backend';
export { disassemble, disassembleSync, decodeSync, formatInsn, initDisassembler, constantRef, type DisasmInsn, type DisasmOptions } from './disasm';

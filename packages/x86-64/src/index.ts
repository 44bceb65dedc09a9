export * from './encode';
export { X64Backend, x64Stubs } from './backend';
export { disassemble, disassembleSync, decodeSync, formatInsn, initDisassembler, type DisasmInsn, type DisasmOptions } from './disasm';

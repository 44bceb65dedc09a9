/**
 * @wagc/arm64: the ARM64 backend (issue 4): instruction encoders (src/encode, which know nothing
 * of wasm), the macro layer the code generator drives (binary, unary, convert, memory, branch,
 * frame, stubs, mirroring packages/x86-64/src), and capstone disassembly.
 */
export * from './encode';
export { a } from './encode/flat';
export { A64Backend, a64Stubs } from './backend';
export { disassemble, disassembleSync, decodeSync, formatInsn, initDisassembler, constantRef, type DisasmInsn, type DisasmOptions } from './disasm';

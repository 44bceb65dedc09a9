/**
 * @wagc/arm64: the ARM64 backend (issue 4). So far the instruction encoders (src/encode, which
 * know nothing of wasm) and capstone disassembly; the macro layer the code generator drives
 * (binary, unary, convert, memory, branch, frame, stubs, mirroring packages/x86-64/src) comes next.
 */
export * from './encode';
export { a } from './encode/flat';
export { disassemble, disassembleSync, decodeSync, formatInsn, initDisassembler, type DisasmInsn, type DisasmOptions } from './disasm';

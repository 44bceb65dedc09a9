export * from './encode';
export { X64Backend, x64Stubs } from './backend';

export * from './types';
export { SnapshotError } from './errors';
export { writeSnapshot, maskBits } from './write';
export { readSnapshot, restoreModule, siteValueTypes, memoryPages, residentPages, type SiteInfo, type RestoreOptions } from './read';
export { typeName } from './module-info';
export { checkResume, RUNTIME_MODULE, type ResumeCheckOptions } from './validate';
export { functionSites, SiteKind, type FunctionSites } from './calls';
export { snapshotTemplate, snapshotBaseModule, TEMPLATE_FLAG, TEMPLATE_HEADER, TEMPLATE_VERSION, PIECE } from './template';

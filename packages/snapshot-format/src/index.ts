export * from './types';
export { SnapshotError } from './errors';
export { writeSnapshot } from './write';
export { readSnapshot, restoreModule, checkFrames, memoryPages, residentPages, type SiteInfo, type RestoreOptions } from './read';
export { typeName } from './module-info';

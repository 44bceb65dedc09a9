export * from './types';
export { SnapshotError } from './errors';
export { writeSnapshot, maskBits } from './write';
export { readSnapshot, restoreModule, checkFrames, siteValueTypes, memoryPages, residentPages, type SiteInfo, type RestoreOptions } from './read';
export { typeName } from './module-info';

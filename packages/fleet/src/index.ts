export { Fleet, FleetError, type FleetOptions, type SubmitOptions, type Status } from './client';
export { FleetWorker, type WorkerOptions, type WorkerInfo, DEFAULTS } from './worker';
export { Blobs, BlobError, type BlobStore, DEFAULT_REDIS_BLOB_MAX } from './blobs';
export { statusLine, type JobRecord, type JobState, type Arch } from './jobs';

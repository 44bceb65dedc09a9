export * from './link';
export * from './image';
export { linkProgramParallel, defaultJobs, startWorkers, PARALLEL_MIN_CODE, COLD_PARALLEL_MIN_CODE, type ParallelReport } from './parallel';

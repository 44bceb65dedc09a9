export * from './link';
export * from './image';
export { linkProgramParallel, type ParallelReport } from './parallel';

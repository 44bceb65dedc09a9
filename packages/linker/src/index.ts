export * from './link';
export * from './image';

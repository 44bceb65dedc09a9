export * from './types';
export * from './format';
export { writeImage, writeImageFile } from './write';
export { readImage, imageArch, ImageError } from './read';

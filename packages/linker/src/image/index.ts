export * from './types';
export * from './format';
export { writeImage, writeImageFile, imageParts, type ImageParts } from './write';
export { readImage, imageArch, ImageError } from './read';

export { processImage, type ImageResult, type ProgressReporter } from './process-image';
export { DEFAULT_SPEC, FILE_EXTENSIONS, OUTPUT_FORMATS, type OutputFormat, type PipelineSpec } from './spec';
export { detectImageType, HEADER_BYTES, IMAGE_TYPES, mimeTypeOf, type ImageType } from './detect-type';
export { InvalidImageError, type InvalidImageCode } from './errors';

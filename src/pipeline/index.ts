export { transformImage, type ImageResult, type TransformedImage } from './transform-image';
export { DEFAULT_SPEC, FILE_EXTENSIONS, OUTPUT_FORMATS, type OutputFormat, type PipelineSpec } from './spec';
export { detectImageType, HEADER_BYTES, IMAGE_TYPES, mimeTypeOf, type ImageType } from './detect-type';
export { decodeBudgetBytes, decodeShapeOf, describeShape, maxPixelsToDecode, type DecodeShape } from './decode-budget';
export { InvalidImageError, type InvalidImageCode } from './errors';

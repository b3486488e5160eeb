export { transformImage, type ImageResult, type TransformedImage, type VariantResult } from './transform-image';
export {
  AUTO_QUALITY_FORMATS, BASE_OUTPUT, DEFAULT_OUTPUT, DEFAULT_SPEC, EFFORT_RANGES, FILE_EXTENSIONS, FITS, MAX_DIMENSION, MAX_FRAMES, OUTPUT_FORMATS, POSITIONS, ROTATIONS,
  type AutoQualityFormat, type Fit, type OutputFormat, type OutputSpec, type PipelineSpec, type Position, type Rotation, type VariantSpec,
} from './spec';
export { plannedOutputSize, type Size } from './output-size';
export { detectImageType, HEADER_BYTES, IMAGE_TYPES, mimeTypeOf, type ImageType } from './detect-type';
export { decodeBudgetBytes, decodeShapeOf, describeShape, maxPixelsToDecode, type DecodeShape } from './decode-budget';
export { InvalidImageError, type InvalidImageCode } from './errors';
export { declaredSizeOf, pixelLimitProblem } from './declared-size';
export { readFileStart } from './read-start';

export const OUTPUT_FORMATS = ['jpeg', 'png', 'webp', 'avif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** What to make of one input image. Plain data, so presets and variants are data too. */
export interface PipelineSpec {
  /** Target width in pixels; the height follows the aspect ratio. */
  readonly width: number;
  /** Never upscale: a small input keeps its size rather than gaining blurry pixels. */
  readonly withoutEnlargement: boolean;
  readonly grayscale: boolean;
  readonly format: OutputFormat;
  /** Encoder quality, 1–100 (ignored by PNG). */
  readonly quality: number;
  /**
   * Decompression-bomb guard: a few KB of PNG can declare 20000x20000 pixels (1.6 GB decoded).
   * sharp refuses to decode past this, before allocating the pixels.
   */
  readonly maxInputPixels: number;
}

export const DEFAULT_SPEC: PipelineSpec = Object.freeze({
  width: 512,
  withoutEnlargement: true,
  grayscale: true,
  format: 'jpeg',
  quality: 80,
  maxInputPixels: 100_000_000,
});

export const FILE_EXTENSIONS: Record<OutputFormat, string> = {
  jpeg: 'jpg',
  png: 'png',
  webp: 'webp',
  avif: 'avif',
};

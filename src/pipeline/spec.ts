export const OUTPUT_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'gif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** sharp's resize fits: how the image meets a box given by both width and height. */
export const FITS = ['cover', 'contain', 'fill', 'inside', 'outside'] as const;
export type Fit = (typeof FITS)[number];

/** Where `cover` crops and `contain` pads: the nine gravities, or sharp's two content strategies for `cover`. */
export const POSITIONS = ['centre', 'north', 'northeast', 'east', 'southeast', 'south', 'southwest', 'west', 'northwest', 'entropy', 'attention'] as const;
export type Position = (typeof POSITIONS)[number];

export const ROTATIONS = [0, 90, 180, 270] as const;
export type Rotation = (typeof ROTATIONS)[number];

/** The formats `quality: "auto"` searches; PNG and GIF have no quality to search. */
export const AUTO_QUALITY_FORMATS = ['jpeg', 'webp', 'avif'] as const;
export type AutoQualityFormat = (typeof AUTO_QUALITY_FORMATS)[number];

/** Largest width or height an output may ask for. */
export const MAX_DIMENSION = 8192;
/** Most frames an animated output keeps; every frame is decoded, so the pixel budget covers them all too. */
export const MAX_FRAMES = 300;

/** Encoder effort per format, where the format has one (JPEG has none). */
export const EFFORT_RANGES: Readonly<Record<Exclude<OutputFormat, 'jpeg'>, readonly [number, number]>> = {
  png: [1, 10],
  webp: [0, 6],
  avif: [0, 9],
  gif: [1, 10],
};

/**
 * One output's settings, every one resolved (defaults, then preset, then options). Plain data,
 * so presets and variants are data too; the zod schema that checks it is the queue's contract.
 */
export interface OutputSpec {
  /** Target width in pixels; with no height the height follows the aspect ratio. Neither: no resize. */
  readonly width?: number | undefined;
  readonly height?: number | undefined;
  readonly fit: Fit;
  readonly position: Position;
  /** Never upscale: a small input keeps its size rather than gaining blurry pixels. */
  readonly withoutEnlargement: boolean;
  readonly format: OutputFormat;
  /** Encoder quality, 1–100 (PNG and GIF have none), or the lowest that keeps the perceptual target. */
  readonly quality: number | 'auto';
  /** WebP and AVIF only. */
  readonly lossless: boolean;
  /** Encoder speed/size trade-off (EFFORT_RANGES); the encoder's default when undefined. */
  readonly effort?: number | undefined;
  readonly grayscale: boolean;
  /** Gaussian blur sigma, 0.3–100; none when undefined. */
  readonly blur?: number | undefined;
  readonly sharpen: boolean;
  /** Clockwise, after the EXIF orientation has been applied. */
  readonly rotate: Rotation;
  /** Mirror top to bottom. */
  readonly flip: boolean;
  /** Mirror left to right. */
  readonly flop: boolean;
  /** CSS colour for `contain` padding and for flattening alpha into JPEG. */
  readonly background: string;
  /** Keep the ICC profile and EXIF (never GPS); otherwise every piece of metadata is dropped. */
  readonly keepMetadata: boolean;
  /** Keep every frame of an animated GIF/WebP (output WebP or GIF); otherwise the first frame only. */
  readonly animated: boolean;
}

/** One named output of a job. The name is the variant's (a preset's, or `custom`) and part of its file name. */
export interface VariantSpec extends OutputSpec {
  readonly name: string;
}

/** What to make of one input image: every variant, from one decode. */
export interface PipelineSpec {
  readonly variants: readonly [VariantSpec, ...VariantSpec[]];
  /**
   * Decompression-bomb guard: a few KB of PNG can declare 20000x20000 pixels (1.6 GB decoded).
   * sharp refuses to decode past this, before allocating the pixels.
   */
  readonly maxInputPixels: number;
  /** Most pixels one output may have; unchecked when undefined. */
  readonly maxOutputPixels?: number | undefined;
  /** The perceptual score `quality: "auto"` keeps (AUTO_QUALITY_TARGET). */
  readonly autoQualityTarget?: number | undefined;
}

/** What an output is when no setting says otherwise: colour, no resize, JPEG 80, metadata stripped. */
export const BASE_OUTPUT: OutputSpec = Object.freeze({
  fit: 'cover',
  position: 'centre',
  withoutEnlargement: true,
  format: 'jpeg',
  quality: 80,
  lossless: false,
  grayscale: false,
  sharpen: false,
  rotate: 0,
  flip: false,
  flop: false,
  background: '#ffffff',
  keepMetadata: false,
  animated: false,
});

/** The mission's pipeline: auto-orient, 512 px wide, never enlarged, grey, JPEG 80, metadata stripped. */
export const DEFAULT_OUTPUT: OutputSpec = Object.freeze({ ...BASE_OUTPUT, width: 512, grayscale: true });

const DEFAULT_VARIANT: VariantSpec = Object.freeze({ name: 'default', ...DEFAULT_OUTPUT });

export const DEFAULT_SPEC: PipelineSpec = Object.freeze({ variants: [DEFAULT_VARIANT] as const, maxInputPixels: 100_000_000 });

export const FILE_EXTENSIONS: Record<OutputFormat, string> = {
  jpeg: 'jpg',
  png: 'png',
  webp: 'webp',
  avif: 'avif',
  gif: 'gif',
};

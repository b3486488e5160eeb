import type { OutputSpec } from './spec';

export interface Size {
  readonly width: number;
  readonly height: number;
}

/** The input as the settings see it: EXIF orientation already applied, then the explicit rotation. */
function rotated(upright: Size, spec: OutputSpec): Size {
  return spec.rotate === 90 || spec.rotate === 270 ? { width: upright.height, height: upright.width } : upright;
}

/**
 * The scale an output needs of its (rotated) input: what one shared decode must keep for it.
 * 1 when it is not resized; over 1 when it enlarges.
 */
export function scaleNeeded(upright: Size, spec: OutputSpec): number {
  const { width: w, height: h } = rotated(upright, spec);
  if (spec.width === undefined && spec.height === undefined) return 1;
  if (spec.height === undefined) return (spec.width as number) / w;
  if (spec.width === undefined) return spec.height / h;
  const sx = spec.width / w;
  const sy = spec.height / h;
  return spec.fit === 'contain' || spec.fit === 'inside' ? Math.min(sx, sy) : Math.max(sx, sy);
}

/**
 * The size sharp's resize gives an output of an input this size (within a pixel of rounding),
 * without decoding anything: for the output-size limit, checked before work is queued.
 */
export function plannedOutputSize(upright: Size, spec: OutputSpec): Size {
  const input = rotated(upright, spec);
  if (spec.width === undefined && spec.height === undefined) return input;
  const scale = spec.withoutEnlargement ? Math.min(1, scaleNeeded(upright, spec)) : scaleNeeded(upright, spec);
  const scaled = { width: Math.max(1, Math.round(input.width * scale)), height: Math.max(1, Math.round(input.height * scale)) };
  // A box of both sides is the output's exact size when the image is cropped, padded or stretched to it.
  if (spec.width !== undefined && spec.height !== undefined && (spec.fit === 'cover' || spec.fit === 'contain' || spec.fit === 'fill')) {
    return spec.withoutEnlargement && scale >= 1 ? { width: Math.min(spec.width, input.width), height: Math.min(spec.height, input.height) } : { width: spec.width, height: spec.height };
  }
  return scaled;
}

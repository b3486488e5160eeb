import { z } from 'zod';
import {
  BASE_OUTPUT, EFFORT_RANGES, FITS, MAX_DIMENSION, OUTPUT_FORMATS, POSITIONS, ROTATIONS,
  type OutputSpec, type PipelineSpec, type VariantSpec,
} from '../pipeline/spec';

const dimension = (side: string) =>
  z.number().int().min(1).max(MAX_DIMENSION).meta({ description: `Target ${side} in pixels, 1–${MAX_DIMENSION}. Alone, the other side follows the aspect ratio; neither: no resize.` });

// A CSS colour as sharp's colour parser (color-string) reads it: a name, #rgb[a], #rrggbb[aa], rgb()/rgba()/hsl()/hsla().
const CSS_COLOUR = /^(#[0-9a-f]{3,4}|#[0-9a-f]{6}|#[0-9a-f]{8}|[a-z]{3,20}|(rgba?|hsla?)\([\d\s.,%/+-]{1,60}\))$/i;

/**
 * The settings of one output, every one optional: a preset (built in or from PRESETS_FILE), the
 * `options` field of an upload and the OpenAPI document all use this one schema. Unset fields take
 * the preset's value, then the default given here (BASE_OUTPUT).
 */
export const OutputSettings = z
  .strictObject({
    width: dimension('width').optional(),
    height: dimension('height').optional(),
    fit: z.enum(FITS).optional().meta({ description: 'How the image meets a box of both width and height (sharp\'s fit).', default: BASE_OUTPUT.fit }),
    position: z.enum(POSITIONS).optional().meta({ description: 'Where `cover` crops and `contain` pads; `entropy` and `attention` pick the crop by content (cover only).', default: BASE_OUTPUT.position }),
    withoutEnlargement: z.boolean().optional().meta({ description: 'Never upscale a smaller input.', default: BASE_OUTPUT.withoutEnlargement }),
    format: z.enum(OUTPUT_FORMATS).optional().meta({ description: 'Output format.', default: BASE_OUTPUT.format }),
    quality: z
      .union([z.number().int().min(1).max(100), z.literal('auto')])
      .optional()
      .meta({ description: 'Encoder quality 1–100, or "auto": the lowest quality within AUTO_QUALITY_TARGET of the resized image (JPEG, WebP, AVIF; refused for PNG and GIF). PNG and GIF ignore a number.', default: BASE_OUTPUT.quality }),
    lossless: z.boolean().optional().meta({ description: 'Lossless encoding; WebP and AVIF only.', default: BASE_OUTPUT.lossless }),
    effort: z
      .number().int().min(0).max(10).optional()
      .meta({ description: `Encoder effort (CPU for smaller files): PNG ${EFFORT_RANGES.png.join('–')}, WebP ${EFFORT_RANGES.webp.join('–')}, AVIF ${EFFORT_RANGES.avif.join('–')}, GIF ${EFFORT_RANGES.gif.join('–')}; JPEG has none. Unset: the encoder's default.` }),
    grayscale: z.boolean().optional().meta({ description: 'One grey channel (plus alpha).', default: BASE_OUTPUT.grayscale }),
    blur: z.number().min(0.3).max(100).optional().meta({ description: 'Gaussian blur sigma, 0.3–100. Unset: no blur.' }),
    sharpen: z.boolean().optional().meta({ description: 'Mild sharpening after the resize.', default: BASE_OUTPUT.sharpen }),
    rotate: z.union(ROTATIONS.map((r) => z.literal(r))).optional().meta({ description: 'Degrees clockwise, 0/90/180/270, after the EXIF orientation is applied.', default: BASE_OUTPUT.rotate }),
    flip: z.boolean().optional().meta({ description: 'Mirror top to bottom.', default: BASE_OUTPUT.flip }),
    flop: z.boolean().optional().meta({ description: 'Mirror left to right.', default: BASE_OUTPUT.flop }),
    background: z.string().regex(CSS_COLOUR, 'expected a CSS colour such as #ffffff, white or rgb(255,255,255)').optional()
      .meta({ description: 'CSS colour for `contain` padding and for flattening transparency into JPEG.', default: BASE_OUTPUT.background }),
    keepMetadata: z.boolean().optional().meta({ description: 'Keep the ICC profile and EXIF; GPS is always dropped. Otherwise all metadata is stripped.', default: BASE_OUTPUT.keepMetadata }),
    animated: z.boolean().optional().meta({ description: 'Keep every frame of an animated GIF/WebP (at most MAX_FRAMES, 300, within the pixel limit over all frames); format webp or gif. Otherwise the first frame.', default: BASE_OUTPUT.animated }),
  })
  .meta({ id: 'OutputSettings', description: 'Settings of one output. Every field is optional: unset fields take the preset\'s value, then the default shown.' }) satisfies z.ZodType<Partial<OutputSpec>>;
export type OutputSettings = z.infer<typeof OutputSettings>;

/** A variant name is part of its output's file name (outputNameOf). */
export const VARIANT_NAME = /^[a-z0-9]{1,32}$/;

/** One output of a job, every setting resolved: what the worker makes, checked again when it takes the job. */
export const VariantSpecSchema = OutputSettings.required({
  fit: true, position: true, withoutEnlargement: true, format: true, quality: true, lossless: true, grayscale: true,
  sharpen: true, rotate: true, flip: true, flop: true, background: true, keepMetadata: true, animated: true,
}).extend({ name: z.string().regex(VARIANT_NAME) }) satisfies z.ZodType<VariantSpec>;

/** Job data from before variants: one fixed-size output. Read as its one `default` variant, so jobs queued by an older API still run. */
const LegacyPipelineSpec = z
  .object({
    width: z.number().int().positive().max(16384),
    withoutEnlargement: z.boolean(),
    grayscale: z.boolean(),
    format: z.enum(['jpeg', 'png', 'webp', 'avif']),
    quality: z.number().int().min(1).max(100),
    maxInputPixels: z.number().int().positive(),
  })
  .transform(({ maxInputPixels, ...output }): PipelineSpec => ({ variants: [{ ...BASE_OUTPUT, ...output, name: 'default' }], maxInputPixels }));

export const PipelineSpecSchema = z.union([
  z.object({
    variants: z.tuple([VariantSpecSchema], VariantSpecSchema),
    maxInputPixels: z.number().int().positive(),
    maxOutputPixels: z.number().int().positive().optional(),
    autoQualityTarget: z.number().min(0).max(1).optional(),
  }),
  LegacyPipelineSpec,
]) satisfies z.ZodType<PipelineSpec, unknown>;

/** A problem with one setting: where it is and what was expected. */
export interface SettingIssue {
  readonly path: string;
  readonly message: string;
}

/** The issues of a zod parse, with their paths under `root` (`options.width`). */
export function settingIssues(error: z.ZodError, root: string): SettingIssue[] {
  return error.issues.map((i) => ({ path: [root, ...i.path.map(String)].filter(Boolean).join('.'), message: i.message }));
}

/**
 * What the schema alone cannot see: settings that are valid one by one but not together, once
 * defaults, preset and options are merged. Empty when the output can be made.
 */
export function checkOutputSpec(spec: OutputSpec): SettingIssue[] {
  const issues: SettingIssue[] = [];
  const { format } = spec;
  if (spec.quality === 'auto' && (format === 'png' || format === 'gif')) {
    issues.push({ path: 'quality', message: `"auto" needs format jpeg, webp or avif but format is ${format}` });
  }
  // Auto quality scores candidates encoded from raw pixels, which carry no ICC or EXIF.
  if (spec.quality === 'auto' && spec.keepMetadata) issues.push({ path: 'keepMetadata', message: 'cannot be kept with quality "auto"; give a number' });
  if (spec.lossless && format !== 'webp' && format !== 'avif') issues.push({ path: 'lossless', message: `needs format webp or avif but format is ${format}` });
  if (spec.animated && format !== 'webp' && format !== 'gif') issues.push({ path: 'animated', message: `needs format webp or gif but format is ${format}` });
  if (spec.effort !== undefined) {
    const range = format === 'jpeg' ? undefined : EFFORT_RANGES[format];
    if (!range) issues.push({ path: 'effort', message: 'JPEG has no effort setting' });
    else if (spec.effort < range[0] || spec.effort > range[1]) issues.push({ path: 'effort', message: `expected ${range[0]}–${range[1]} for ${format} but received ${spec.effort}` });
  }
  return issues;
}

/** PRESETS_FILE: preset name → settings, each laid over the defaults like a built-in preset. */
export const PresetsFile = z.record(z.string().regex(VARIANT_NAME, 'a preset name is 1–32 of a-z and 0-9'), OutputSettings);
export type PresetsFile = z.infer<typeof PresetsFile>;

import { BASE_OUTPUT, plannedOutputSize, type PipelineSpec, type Size, type VariantSpec } from '../pipeline';
import { checkOutputSpec, type OutputSettings, type PresetsFile } from '../queue/output-settings';
import { AppError } from './errors';

/** The presets every deployment has; PRESETS_FILE adds to them or replaces one by name. */
export const BUILT_IN_PRESETS = Object.freeze({
  /** The mission's pipeline, byte for byte: 512 px wide, never enlarged, grey, JPEG 80, stripped. */
  default: { width: 512, grayscale: true },
  thumbnail: { width: 256, height: 256, fit: 'cover', position: 'attention', format: 'webp' },
  web: { width: 1280, height: 1280, fit: 'inside', format: 'webp', quality: 75 },
  // libavif's own default quality: at AVIF's scale q50 looks like JPEG's q80, at half the bytes.
  avif: { width: 1280, height: 1280, fit: 'inside', format: 'avif', quality: 50 },
  original: { quality: 85 },
} satisfies PresetsFile) as Readonly<PresetsFile>;

/** The variant name of an upload's `options`. */
export const CUSTOM_VARIANT = 'custom';

/** What an upload asked for in its text fields, parsed but not yet resolved. */
export interface OutputRequest {
  readonly preset?: string | undefined;
  readonly variants?: readonly string[] | undefined;
  readonly options?: OutputSettings | undefined;
}

export interface OutputPolicy {
  /** Built-in and PRESETS_FILE presets, merged. */
  readonly presets: Readonly<PresetsFile>;
  readonly maxVariants: number;
  readonly onlyPresets: boolean;
  readonly maxInputPixels: number;
  readonly maxOutputPixels: number;
  readonly autoQualityTarget: number;
}

/** Every preset, each laid over the defaults: what GET /presets shows. */
export function resolvedPresets(presets: Readonly<PresetsFile>): Record<string, Omit<VariantSpec, 'name'>> {
  return Object.fromEntries(Object.entries(presets).map(([name, settings]) => [name, { ...BASE_OUTPUT, ...settings }]));
}

function presetOf(policy: OutputPolicy, name: string): OutputSettings {
  const preset = policy.presets[name];
  if (!preset) throw new AppError('UNKNOWN_PRESET', `Unknown preset '${name}'; known presets: ${Object.keys(policy.presets).join(', ')}`);
  return preset;
}

function checked(variant: VariantSpec, field: string): VariantSpec {
  const [issue] = checkOutputSpec(variant);
  if (issue) throw new AppError('INVALID_OPTIONS', `${field}.${issue.path}: ${issue.message}`);
  return variant;
}

/**
 * An upload's request → the spec of its jobs: presets laid over the defaults, options over the
 * preset. Nothing asked for is the preset `default`. Refusals are AppErrors, before anything is queued.
 */
export function resolveOutputs(policy: OutputPolicy, request: OutputRequest): PipelineSpec {
  const { preset, variants, options } = request;
  if (options && policy.onlyPresets) throw new AppError('PRESETS_ONLY', 'This server only accepts presets (ONLY_PRESETS); send `preset` or `variants` without `options`');
  if (variants && (preset !== undefined || options)) {
    throw new AppError('INVALID_OPTIONS', 'variants: give either `variants`, or `preset` with optional `options`, not both');
  }
  let resolved: VariantSpec[];
  if (variants) {
    if (variants.length < 1 || variants.length > policy.maxVariants) {
      throw new AppError('TOO_MANY_VARIANTS', `Expected 1–${policy.maxVariants} variants but received ${variants.length}`);
    }
    const repeated = variants.find((name, i) => variants.indexOf(name) !== i);
    if (repeated !== undefined) throw new AppError('INVALID_OPTIONS', `variants: '${repeated}' is listed twice`);
    resolved = variants.map((name) => checked({ ...BASE_OUTPUT, ...presetOf(policy, name), name }, `presets.${name}`));
  } else {
    const name = preset ?? 'default';
    const base = presetOf(policy, name);
    resolved = [options ? checked({ ...BASE_OUTPUT, ...base, ...options, name: CUSTOM_VARIANT }, 'options') : checked({ ...BASE_OUTPUT, ...base, name }, `presets.${name}`)];
  }
  const [first, ...rest] = resolved;
  if (!first) throw new Error('a request resolves to at least one variant');
  return { variants: [first, ...rest], maxInputPixels: policy.maxInputPixels, maxOutputPixels: policy.maxOutputPixels, autoQualityTarget: policy.autoQualityTarget };
}

/**
 * Refuses outputs over MAX_OUTPUT_PIXELS, from each image's declared (upright) size: the worker
 * checks again on the decoded image, for what a header did not tell.
 */
export function assertOutputSizes(spec: PipelineSpec, images: readonly { readonly originalName: string; readonly declaredSize?: Size | undefined }[]): void {
  const max = spec.maxOutputPixels;
  if (max === undefined) return;
  for (const variant of spec.variants) {
    // A box of both sides bounds every output but `outside`, whatever the input.
    if (variant.width !== undefined && variant.height !== undefined && variant.fit !== 'outside' && variant.width * variant.height > max) {
      throw new AppError('OUTPUT_TOO_LARGE', `Expected outputs of at most ${max} pixels but variant '${variant.name}' asks for ${variant.width}x${variant.height}`);
    }
    for (const image of images) {
      if (!image.declaredSize) continue;
      const size = plannedOutputSize(image.declaredSize, variant);
      if (size.width * size.height > max) {
        throw new AppError('OUTPUT_TOO_LARGE', `Expected outputs of at most ${max} pixels but variant '${variant.name}' of '${image.originalName}' would be ${size.width}x${size.height}`);
      }
    }
  }
}

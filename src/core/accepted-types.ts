import { IMAGE_TYPES, type ImageType } from '../pipeline';

const DISPLAY_NAMES: Record<ImageType, string> = { jpeg: 'JPEG', png: 'PNG', gif: 'GIF', webp: 'WebP', tiff: 'TIFF', avif: 'AVIF', svg: 'SVG' };

/** The types an upload may have; SVG only when allowed, since it can reference external resources. */
export function acceptedTypes(allowSvg: boolean): readonly ImageType[] {
  return IMAGE_TYPES.filter((type) => type !== 'svg' || allowSvg);
}

/** "JPEG, PNG, … or TIFF": the one wording of the accepted types, for error details and the API docs. */
export function describeAcceptedTypes(allowSvg: boolean): string {
  const names = acceptedTypes(allowSvg).map((type) => DISPLAY_NAMES[type]);
  return `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

/** The refusal of a file that is empty or not an accepted image, in the one wording every upload path uses. */
export function notAnImageDetail(allowSvg: boolean, empty: boolean): string {
  return empty ? 'The file is empty' : `Expected a ${describeAcceptedTypes(allowSvg)} image (checked by content, not by name)`;
}

/** The advanced settings as an `options` object (OutputSettings), or undefined when none is set. */
export function readOptions(form: HTMLFormElement): Record<string, string | number> | undefined {
  const data = new FormData(form);
  const options: Record<string, string | number> = {};
  const width = String(data.get('width') ?? '').trim();
  const quality = String(data.get('quality') ?? '').trim();
  const format = String(data.get('format') ?? '');
  if (width !== '') options.width = Number(width);
  if (quality !== '') options.quality = Number(quality);
  if (format !== '') options.format = format;
  return Object.keys(options).length > 0 ? options : undefined;
}

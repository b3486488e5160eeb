import { type Command, InvalidArgumentError } from 'commander';

/** What to make of each image: the upload routes' `preset`, `variants` and `options` fields. */
export interface OutputFlags {
  readonly preset?: string;
  readonly variants?: string;
  readonly options?: Record<string, unknown>;
}

function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`expected a JSON object but the text is not JSON (${err instanceof Error ? err.message : 'unparseable'})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError('expected a JSON object such as {"width":640,"format":"webp"}');
  return parsed as Record<string, unknown>;
}

export function withOutputOptions(command: Command): Command {
  return command
    .option('-p, --preset <name>', 'one preset (GET /presets lists them; default: default)')
    .option('--variants <names>', 'comma-separated presets, one output each (not with --preset or --options)')
    .option('--options <json>', 'settings laid over the preset, as a JSON object (variant "custom")', jsonObject);
}

/** The text fields an upload sends; the server checks them (UNKNOWN_PRESET, INVALID_OPTIONS, …). */
export function outputFields(flags: OutputFlags): Record<string, string> {
  return {
    ...(flags.preset !== undefined ? { preset: flags.preset } : {}),
    ...(flags.variants !== undefined ? { variants: flags.variants } : {}),
    ...(flags.options !== undefined ? { options: JSON.stringify(flags.options) } : {}),
  };
}

import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ServerAccess } from './http-client';

export const DEFAULT_SERVER = 'http://localhost:3000';

/** The options every command that talks to the server has. */
export interface ServerFlags {
  readonly server: URL;
  readonly apiKey?: string;
  readonly json: boolean;
  readonly quiet: boolean;
}

function serverUrl(value: string): URL {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // reported below
  }
  throw new InvalidArgumentError(`expected an http(s) URL such as ${DEFAULT_SERVER}`);
}

/** Adds --server, --api-key, --json and --quiet, with their environment variables. */
export function withServerOptions(command: Command): Command {
  return command
    .addOption(new Option('-s, --server <url>', 'imgflow API to talk to').env('IMGFLOW_URL').default(new URL(DEFAULT_SERVER), DEFAULT_SERVER).argParser(serverUrl))
    .addOption(new Option('--api-key <key>', 'API key for a server with API keys (sent as X-API-Key and Authorization: Bearer); `imgflow keys create NAME` makes one').env('IMGFLOW_API_KEY'))
    .option('--json', 'print a machine-readable summary on stdout (progress goes to stderr)', false)
    .option('-q, --quiet', 'print nothing but failures', false);
}

export const accessOf = (flags: ServerFlags, adminToken?: string): ServerAccess => ({ server: flags.server, apiKey: flags.apiKey, adminToken });

/** A positive integer option, or exit 2 with what was expected. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer but received ${JSON.stringify(value)}`);
  return n;
}

import { readFileSync } from 'node:fs';
import path from 'node:path';

let version: string | undefined;

/** The service's version from package.json (one level above src/ and dist/ alike), read once. */
export function serviceVersion(): string {
  if (version === undefined) {
    const parsed: unknown = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
    const found = typeof parsed === 'object' && parsed !== null && 'version' in parsed ? parsed.version : undefined;
    version = typeof found === 'string' ? found : '0.0.0';
  }
  return version;
}

import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The package's version from package.json, which sits one level above both src/ and dist/. */
export function packageVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
  const version = typeof manifest === 'object' && manifest !== null ? Reflect.get(manifest, 'version') : undefined;
  if (typeof version !== 'string') throw new Error('package.json has no version');
  return version;
}

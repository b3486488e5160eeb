import { Command } from 'commander';
import { generateApiKey, hashApiKey, type ApiKeyEntry } from '../../api-keys';
import { UsageError } from '../errors';

/** A key id from its name: lower case, with anything but letters, digits, _ . - turned into -. */
function idOf(name: string): string {
  return name.trim().toLowerCase().replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
}

/** `imgflow keys create NAME` (also `npm run key:create -- NAME`): runs offline, the server never sees the key. */
export function keysCommand(): Command {
  const create = new Command('create')
    .description('print a new random API key once, and the entry that lets the server accept it')
    .argument('<name>', 'who or what the key is for (its id is made from it)')
    .option('--id <id>', 'the key id (default: from the name)')
    .option('--json', 'print { key, entry, env } as JSON', false)
    .action((name: string, flags: { id?: string; json: boolean }) => {
      const id = flags.id ?? idOf(name);
      if (!/^[\w.-]{1,64}$/.test(id)) throw new UsageError(`expected a key id of 1–64 letters, digits, _ . - but received ${JSON.stringify(id)}; pass --id`);
      const key = generateApiKey();
      const entry: ApiKeyEntry = { id, name, sha256: hashApiKey(key) };
      const env = `${id}:${entry.sha256}`;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ key, entry, env })}\n`);
        return;
      }
      process.stdout.write(
        [
          `API key for ${name} (shown only now; the server keeps only its SHA-256):`,
          `  ${key}`,
          'Add this entry to the list in API_KEYS_FILE:',
          `  ${JSON.stringify(entry)}`,
          'or this item to API_KEYS (comma-separated):',
          `  ${env}`,
          '',
        ].join('\n'),
      );
    });
  return new Command('keys').description('manage API keys').addCommand(create);
}

import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';

/** A key's id: it names the owner of batches in Redis keys and logs, so it is kept to a safe set. */
const KEY_ID = z.string().regex(/^[\w.-]{1,64}$/, 'expected 1–64 letters, digits, _ . -');
const SHA256_HEX = z.string().regex(/^[0-9a-f]{64}$/, 'expected the key\'s SHA-256 as 64 lower-case hex digits');

/** One configured API key: only its hash is ever stored. */
export const ApiKeyEntry = z.object({ id: KEY_ID, name: z.string().max(200).optional(), sha256: SHA256_HEX });
export type ApiKeyEntry = z.infer<typeof ApiKeyEntry>;

/** API_KEYS_FILE's content: a JSON list of entries with unique ids and hashes. */
export const ApiKeyList = z.array(ApiKeyEntry).superRefine((entries, ctx) => {
  const seen = { id: new Set<string>(), sha256: new Set<string>() };
  entries.forEach((entry, i) => {
    for (const field of ['id', 'sha256'] as const) {
      if (seen[field].has(entry[field])) ctx.addIssue({ code: 'custom', path: [i, field], message: `duplicate ${field}` });
      seen[field].add(entry[field]);
    }
  });
});

/** The SHA-256 of a key as lower-case hex: what API_KEYS and API_KEYS_FILE hold. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new key: `imgf_` and 32 random bytes in base64url (256 bits, so a plain hash is enough to store it). */
export function generateApiKey(): string {
  return `imgf_${randomBytes(32).toString('base64url')}`;
}

/** API_KEYS (`id:sha256,…`) as entries, or the problems with it, one per bad item. */
export function parseApiKeysEnv(text: string): { entries: ApiKeyEntry[] } | { problems: string[] } {
  const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const raw = items.map((item) => {
    const at = item.lastIndexOf(':');
    return { id: item.slice(0, Math.max(at, 0)), sha256: item.slice(at + 1) };
  });
  if (raw.length === 0) return { problems: ['lists no keys'] };
  const parsed = ApiKeyList.safeParse(raw);
  if (parsed.success) return { entries: parsed.data };
  return { problems: parsed.error.issues.map((i) => `item ${Number(i.path[0]) + 1} (${String(i.path[1] ?? 'entry')}): ${i.message}`) };
}

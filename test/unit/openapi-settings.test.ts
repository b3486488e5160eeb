import { z } from 'zod';
import { buildOpenApiDocument, createOpenApiRegistry } from '../../src/api/openapi';
import { uploadsRouter } from '../../src/api/routes/uploads';
import { InFlight } from '../../src/api/in-flight';
import { OutputSettings } from '../../src/queue/output-settings';
import { createLocalFileStore } from '../../src/storage/local-file-store';

type JsonSchema = { type?: string; properties?: Record<string, JsonSchema>; minimum?: number; maximum?: number; enum?: unknown[]; anyOf?: JsonSchema[]; oneOf?: JsonSchema[]; const?: unknown; description?: string; default?: unknown };

describe('the OpenAPI document of the upload fields', () => {
  const registry = createOpenApiRegistry();
  uploadsRouter({ uploadStore: createLocalFileStore('/nonexistent'), uploads: { maxFiles: 2, maxFileSizeBytes: 1024, maxInputPixels: 1e6, allowSvg: false }, inFlight: new InFlight(), imgflow: { submitBatch: () => Promise.reject(new Error('not called')), checkQueuedFiles: () => Promise.reject(new Error('not called')) } }, registry);
  const doc = buildOpenApiDocument(registry);
  // zod's own JSON Schema of the settings: what the document must say about each one.
  const expected = (z.toJSONSchema(OutputSettings) as { $defs: Record<string, JsonSchema> }).$defs.OutputSettings as JsonSchema;

  it.each(['/process-images', '/upload'])('%s documents preset, variants and options (as JSON)', (route) => {
    const content = (doc.paths?.[route]?.post?.requestBody as { content: Record<string, { schema: JsonSchema; encoding?: Record<string, { contentType: string }> }> }).content['multipart/form-data'];
    expect(Object.keys(content?.schema.properties ?? {})).toEqual(expect.arrayContaining(['preset', 'variants', 'options']));
    expect(content?.encoding?.options?.contentType).toBe('application/json');
  });

  it.each(Object.keys(OutputSettings.shape))('lists the setting %s with its range, values, default and description, as the schema has them', (name) => {
    const options = ((doc.paths?.['/process-images']?.post?.requestBody as { content: Record<string, { schema: JsonSchema }> }).content['multipart/form-data']?.schema.properties?.options ?? {}) as JsonSchema;
    const documented = options.properties?.[name];
    const schema = expected.properties?.[name];
    expect(documented).toBeDefined();
    expect(documented?.description).toEqual(expect.any(String));
    for (const key of ['minimum', 'maximum', 'enum', 'default', 'type'] as const) expect(documented?.[key]).toEqual(schema?.[key]);
    // OpenAPI 3.1 writes a literal as a one-value enum, JSON Schema as const: the same constraint.
    const asEnum = (s: JsonSchema) => (s.const === undefined ? s : { type: s.type, enum: [s.const] });
    expect(documented?.anyOf?.map(asEnum)).toEqual(schema?.anyOf?.map(asEnum));
    // Every range the schema states is in the description too, for readers of /docs.
    if (schema?.minimum !== undefined && schema.maximum !== undefined) expect(documented?.description).toMatch(new RegExp(`\\b${schema.minimum}\\b.*\\b${schema.maximum}\\b`));
  });
});

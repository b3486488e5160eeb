import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(__dirname, '../../src');

/**
 * Which top-level parts of src/ each part may import: entry points → core → queue/storage →
 * pipeline, with the shared plumbing (config, logger, shutdown, …) usable from anywhere above
 * the pipeline. The two processes never import each other.
 */
const SHARED = ['plumbing', 'config'];
const ALLOWED: Record<string, readonly string[]> = {
  pipeline: [],
  storage: ['pipeline', ...SHARED],
  queue: ['pipeline', 'storage', ...SHARED],
  // The one outbound HTTP client, and webhook delivery over it.
  net: [],
  notify: ['net', 'queue', ...SHARED],
  // Checking a bearer token: shared by the API's guards and the worker's metrics server.
  auth: [],
  // Prometheus registries and recorders; the processes feed them and serve them.
  metrics: ['auth'],
  core: ['notify', 'net', 'queue', 'storage', 'pipeline', ...SHARED],
  api: ['web', 'core', 'auth', 'metrics', 'queue', 'storage', 'pipeline', ...SHARED],
  // The upload page: a static-file router and a browser script that uses only the HTTP API.
  web: [],
  worker: ['core', 'metrics', 'notify', 'net', 'queue', 'storage', 'pipeline', ...SHARED],
  launch: SHARED,
  // A client of the public HTTP API only; the pipeline's magic bytes tell it which files are images.
  cli: ['pipeline', ...SHARED],
  // PRESETS_FILE is checked at start-up with the schema that checks a request's options.
  config: ['queue', 'pipeline', 'plumbing'],
  plumbing: SHARED,
};

/** The part a file under src/ belongs to: its top folder, or 'plumbing' for a top-level file. */
function partOf(file: string): string {
  const [top, ...rest] = path.relative(SRC, file).split(path.sep);
  if (rest.length === 0) return top === 'launch.ts' ? 'launch' : top === 'config.ts' ? 'config' : 'plumbing';
  return top ?? 'plumbing';
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)[^'"]*from '(\.[^']+)'/gm)].map((m) => path.resolve(path.dirname(file), m[1] as string));
}

describe('the layering of src/', () => {
  const files = sourceFiles(SRC);
  /** The file an import names: `x.ts`, `x.js` for the browser script's ESM, or a folder's `index.ts` (a barrel belongs to its folder's part). */
  const resolve = (target: string) => [`${target}.ts`, target.replace(/\.js$/, '.ts'), path.join(target, 'index.ts'), target].find((f) => files.includes(f));

  it('finds the parts it checks', () => {
    expect(new Set(files.map(partOf))).toEqual(new Set(Object.keys(ALLOWED)));
  });

  it.each(files.map((f) => [path.relative(SRC, f), f]))('%s imports only downhill', (_name, file) => {
    const from = partOf(file);
    for (const target of localImports(file)) {
      const resolved = resolve(target);
      expect({ import: path.relative(SRC, target), resolved: resolved !== undefined }).toEqual({ import: path.relative(SRC, target), resolved: true });
      const to = partOf(resolved as string);
      if (to === from) continue;
      expect({ import: path.relative(SRC, target), allowed: ALLOWED[from]?.includes(to) }).toEqual({ import: path.relative(SRC, target), allowed: true });
    }
  });

  it('has no import cycles', () => {
    const graph = new Map(files.map((f) => [f, localImports(f).map(resolve).filter((f): f is string => f !== undefined)]));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(SRC, f)).join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });
});

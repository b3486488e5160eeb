import { readFileSync } from 'node:fs';
import path from 'node:path';
import { API_NODE_FLAGS } from '../../src/launch/api-node-flags';

const REPO = path.resolve(__dirname, '../..');

// launch.ts and the bench take the flags from API_NODE_FLAGS; these two places can only spell them out.
describe('API_NODE_FLAGS', () => {
  it('are the options of npm run start:api', () => {
    const scripts = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['start:api']).toBe(`exec node ${API_NODE_FLAGS.join(' ')} dist/api/main.js`);
  });

  it("are the options of the Dockerfile's command", () => {
    // The image runs the last CMD of its last stage; HEALTHCHECK's CMD is indented, so it is not one of these.
    const cmd = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8').split('\n').filter((line) => line.startsWith('CMD ')).at(-1);
    expect(JSON.parse((cmd ?? '').slice('CMD '.length))).toEqual(['node', ...API_NODE_FLAGS, 'dist/api/main.js']);
  });
});

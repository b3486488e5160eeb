#!/usr/bin/env node
'use strict';
// The package's `imgflow` command. In a clone (sources and dev dependencies present) it runs
// src/cli/main.ts through tsx, so `npx imgflow` needs no build and never runs a stale one;
// elsewhere it runs the build, dist/cli/main.js.
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const source = path.join(root, 'src', 'cli', 'main.ts');
const built = path.join(root, 'dist', 'cli', 'main.js');

function tsx() {
  try {
    return require('tsx/cjs/api');
  } catch {
    return undefined;
  }
}

const runner = existsSync(source) ? tsx() : undefined;
if (runner) {
  runner.register();
  require(source);
} else if (existsSync(built)) {
  require(built);
} else {
  process.stderr.write('imgflow: dist/cli/main.js is missing: run `npm run build` first (or `npm ci` for tsx)\n');
  process.exit(2);
}

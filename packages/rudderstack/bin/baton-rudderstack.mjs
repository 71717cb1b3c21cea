#!/usr/bin/env node
// Committed so npm links `baton-rudderstack` at install time; it loads the bundle that `npm run build` writes.
import { existsSync } from 'node:fs';
const bundle = new URL('../dist/bin/baton-rudderstack.mjs', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write('baton-rudderstack is not built yet: run `npm run build` in the repository root\n');
  process.exit(1);
}
await import(bundle.href);

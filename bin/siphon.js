#!/usr/bin/env node
// Installed entry point: runs the compiled CLI (npm run build produces dist/).
import('../dist/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND') {
    console.error(
      'siphon: dist/ is missing; run `npm run build` first (or use `npm run siphon -- <command>`).',
    );
    process.exit(2);
  }
  throw error;
});

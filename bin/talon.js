#!/usr/bin/env node
// talon command line: the compiled TypeScript lives in dist/ (npm run build).
import('../dist/src/cli/main.js').then(
  async (m) => {
    process.exitCode = await m.main(process.argv);
  },
  (e) => {
    const notBuilt = e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/src/cli/main.js');
    process.stderr.write(`talon: ${notBuilt ? 'not built: run `npm run build` first' : `cannot start: ${e && e.message}`}\n`);
    process.exitCode = 3;
  },
);

// web/vendor.mjs: copies the browser build of Chart.js (and the licences of
// everything bundled in it) from node_modules into web/manage/vendor/, so
// the manager dashboard is served from our own origin and works offline:
// no CDN, and the exact version is the one pinned in package-lock.json.
//
// Run by `npm run vendor` (the dev script runs it after `npm ci`). Nothing
// it writes is committed: web/manage/.gitignore ignores vendor/. A page
// served before this step shows a clear "Chart.js missing" notice and
// still renders every data table.
//
// Exit status: 0 when every file was copied, 1 when a source is missing
// (node_modules not installed) or cannot be written.

import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'web', 'manage', 'vendor');

// [source under node_modules, name under web/manage/vendor]
const files = [
  ['chart.js/dist/chart.umd.js', 'chart.umd.js'],
  ['chart.js/LICENSE.md', 'chart.js.LICENSE.md'],
  // chart.umd.js bundles @kurkle/color; its licence travels with it.
  ['@kurkle/color/LICENSE.md', 'kurkle-color.LICENSE.md'],
];

async function main() {
  const pkg = JSON.parse(await readFile(join(root, 'node_modules', 'chart.js', 'package.json'), 'utf8'));
  await mkdir(out, { recursive: true });
  for (const [src, dst] of files) {
    await copyFile(join(root, 'node_modules', src), join(out, dst));
  }
  console.log(`vendor: chart.js ${pkg.version} -> ${out}`);
}

main().catch((err) => {
  console.error(`vendor: ${err.message}`);
  console.error('vendor: run `npm ci` first so that node_modules holds chart.js');
  process.exitCode = 1;
});

// Bundles the web page's client code (src/ui/browser) with the parts of Chart.js it uses into dist/ui/assets, beside
// the stylesheet: `mnemo ui` serves these files from the package, so the page works offline and loads nothing from
// elsewhere. Run by `npm run build`; esbuild is a devDependency (the packed package carries the output).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/ui/assets`;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${root}src/ui/browser/app.ts`],
  outfile: `${out}/app.js`,
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2022',
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(`${root}src/ui/browser/style.css`, `${out}/style.css`);

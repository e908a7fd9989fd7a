// Builds the studio into a folder (default ../internal/ui/dist, which
// `go build` embeds): one JavaScript and one CSS file under assets/, each
// named by its content hash, and index.html naming them. The build is
// deterministic (same sources and lockfile, same bytes), so
// `scripts/studio.sh check` can compare a fresh build with the committed one.
import * as esbuild from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] ?? path.join(here, '..', 'internal', 'ui', 'dist'));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: ['src/main.ts'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  outdir: out,
  entryNames: 'assets/[name]-[hash]',
  assetNames: 'assets/[name]-[hash]',
  metafile: true,
  legalComments: 'eof',
  charset: 'utf8',
  logLevel: 'warning',
});

let js = '';
let css = '';
for (const file of Object.keys(result.metafile.outputs)) {
  const rel = path.relative(out, path.resolve(here, file)).split(path.sep).join('/');
  if (rel.endsWith('.js')) js = rel;
  if (rel.endsWith('.css')) css = rel;
}
if (!js || !css) throw new Error(`build made no ${js ? 'CSS' : 'JavaScript'} file`);

// Paths are absolute: the server answers index.html at every page's URL.
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>ciel studio</title>
<link rel="stylesheet" href="/${css}">
<script type="module" src="/${js}"></script>
</head>
<body>
<div id="app"></div>
</body>
</html>
`;
writeFileSync(path.join(out, 'index.html'), html);
console.log(`built ${out}: /${js}, /${css}`);

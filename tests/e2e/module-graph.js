// The page's static module graph: every module www/boot.js and www/app.js import, directly or
// through others (static `import … from` and `export … from`; dynamic imports are loaded later on
// purpose and are not part of it). index.html preloads each of them (tests/e2e/explorer.test.js).
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const STATIC_IMPORT = /^\s*(?:import|export)\s[^'"]*?\sfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;

/** The modules reachable from `entries` (paths relative to `root`), as root-relative paths with `/`. */
export function staticModuleGraph(root, entries) {
  const seen = new Set();
  const visit = (file) => {
    const rel = relative(root, file).split('\\').join('/');
    if (seen.has(rel)) return;
    seen.add(rel);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      const spec = m[1] ?? m[2];
      visit(spec.startsWith('/') ? join(root, spec) : resolve(dirname(file), spec));
    }
  };
  for (const entry of entries) visit(join(root, entry));
  return [...seen].sort();
}

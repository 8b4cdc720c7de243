// Where a set of pictures is rooted; shared by the panel (www/pictures.js) and the picture worker.

/**
 * Paths relative to the set's root: when every path lies in one top folder (a folder that was
 * picked or dropped, a zip of `myset/…`), that folder is the root, so its subfolders are the labels.
 */
export function stripCommonRoot(paths) {
  const first = (p) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : null);
  const root = paths.length ? first(paths[0]) : null;
  if (root === null || !paths.every((p) => first(p) === root)) return paths;
  return paths.map((p) => p.slice(root.length + 1));
}

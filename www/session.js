// What a person was doing, kept across reloads in localStorage: the model, the decoder's latent
// point, the map's view, dimensions and grid size, the drawing, and the training settings. A
// shared link (the URL hash) wins over it. Bad or foreign data is ignored, never trusted.
const KEY = 'vae-session';

/** The saved session, or an empty one. */
export function loadSession() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? '{}');
    return saved && typeof saved === 'object' ? saved : {};
  } catch {
    return {};
  }
}

let timer = 0;

/** Saves `snapshot()` now, or (with `later`) once changes pause. A full or blocked storage only loses the session. */
export function saveSession(snapshot, later = false) {
  clearTimeout(timer);
  const write = () => {
    try {
      localStorage.setItem(KEY, JSON.stringify(snapshot()));
    } catch {
      // Storage full or unavailable: the session is not kept, everything else works.
    }
  };
  if (later) timer = setTimeout(write, 500);
  else write();
}

/** `{ model, z }` from a location hash `#model=<file>&z=<comma-separated numbers>`, or null. */
export function parseShareHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const model = params.get('model');
  const z = (params.get('z') ?? '').split(',').filter((s) => s !== '').map(Number);
  if (!model || z.length === 0 || z.some((v) => !Number.isFinite(v))) return null;
  return { model, z: Float32Array.from(z) };
}

// The local library: models (trained or loaded in this tab, with their training checkpoints) and
// picture sets, kept in IndexedDB through `idb` so that a reload, a crash or a closed tab loses
// nothing. Used by the page (www/library-panel.js, www/training-panel.js) and by the training
// worker, which writes its checkpoints itself so that the page's main thread never copies them.
//
// An entry is split so that listing the library never reads the heavy parts: a model's metadata
// (`models`: { id, name, created, updated, description, arch, latent, shape, dataset, heldout, size,
// curves: { train, recon, kl, heldout: [[step, value]…] }, thumb: { images, channels, height, width } | null,
// run: null | { status: 'training' | 'paused' | 'done', step, epoch, totalSteps } }), its weights
// (`weights`: { id, bytes }) and its training checkpoint (`runs`: { id, checkpoint, config });
// a set's metadata (`sets`: { id, name, created, updated, count, channels, size, names, options,
// size, thumb }) and its pictures (`set-data`: { id, pixels, labels, paths, sources }).
// `get` returns an entry whole: the metadata with `bytes` and `run.checkpoint`, `run.config`
// (a model) or `pixels`, `labels`, `paths`, `sources` (a set).
import { openDB } from './vendor/idb.js';

const DB_NAME = 'vae-library';
const DB_VERSION = 1;
export const STORES = { models: 'models', sets: 'sets' };
/** The stores of each kind's heavy parts. */
const HEAVY = { models: ['weights', 'runs'], sets: ['set-data'] };
const ALL_STORES = ['models', 'weights', 'runs', 'sets', 'set-data'];
/** The largest number of points a stored curve keeps (older halves are thinned beyond it). */
export const CURVE_POINTS = 2000;
/** Pictures in an entry's thumbnail: a model's decoded prior samples, a set's first pictures. */
export const THUMBNAILS = 4;

/** A model's thumbnail: THUMBNAILS prior samples decoded by `model` (a wasm Model); none for a conditional one. */
export function thumbnailOf(model) {
  if (model.classes > 0) return null;
  return { images: model.decode(model.samplePrior(THUMBNAILS, 1)), channels: model.channels, height: model.height, width: model.width };
}

let opening = null;

/** Why the library is unavailable, in words, from the error IndexedDB gave. */
function explain(err) {
  if (err?.name === 'QuotaExceededError') return 'the browser\'s storage for this site is full (delete something from the library, or free space)';
  if (err?.name === 'VersionError') return 'the library was written by a newer version of this app; reload to get it';
  if (err?.name === 'InvalidStateError' || err?.name === 'SecurityError') return 'this window cannot store data (a private window, or storage is blocked for this site)';
  return err?.message ?? String(err);
}

/** A storage error whose message says what happened and what still works. */
function storageError(err, doing) {
  const e = new Error(`could not ${doing}: ${explain(err)}. Everything keeps working in memory.`);
  e.name = err?.name ?? 'Error';
  return e;
}

/** The open database (opened once); rejects with a readable reason where there is no IndexedDB. */
export function library() {
  opening ??= (async () => {
    if (typeof indexedDB === 'undefined' || indexedDB === null) throw new Error('this browser offers no IndexedDB here (a private window?)');
    return openDB(DB_NAME, DB_VERSION, {
      upgrade(db) {
        for (const name of ALL_STORES) if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, { keyPath: 'id' });
      },
      // Another tab holds an older version open: say so instead of waiting silently.
      blocked() {
        self.dispatchEvent?.(new CustomEvent('library-blocked'));
      },
      // A newer version elsewhere wants the database: let it go (this tab keeps working in memory).
      blocking(_current, _next, event) {
        event.target.close();
        opening = null;
      },
    });
  })().catch((err) => {
    opening = null;
    throw storageError(err, 'open the library');
  });
  return opening;
}

/** A fresh id: the time and a random suffix (ids sort by creation). */
export const newId = (kind) => `${kind}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** The metadata of every entry of `store`, newest first; records that are not this app's are left out (and counted). */
export async function list(store) {
  const db = await library();
  const all = await db.getAll(store);
  const valid = all.filter(isRecord);
  return { records: valid.sort((a, b) => b.updated - a.updated), foreign: all.length - valid.length };
}

/** Whether `r` is a well-formed entry's metadata (a corrupt or foreign one is skipped, not trusted). */
function isRecord(r) {
  return Boolean(r) && typeof r.id === 'string' && typeof r.name === 'string' && Number.isFinite(r.updated);
}

/** An entry of `store` whole (metadata and heavy parts), or null when it is missing or damaged. */
export async function get(store, id) {
  const db = await library();
  const tx = db.transaction([store, ...HEAVY[store]]);
  const [meta, ...heavy] = await Promise.all([store, ...HEAVY[store]].map((name) => tx.objectStore(name).get(id)));
  if (!isRecord(meta) || heavy.some((h) => !h)) return null;
  if (store === STORES.sets) {
    const [data] = heavy;
    const ok = data.pixels instanceof Uint8Array && data.pixels.length === meta.count * meta.channels * meta.size * meta.size;
    return ok ? { ...meta, ...data } : null;
  }
  const [weights, run] = heavy;
  if (!(weights.bytes instanceof Uint8Array) || weights.bytes.length < 8) return null;
  return { ...meta, bytes: weights.bytes, run: meta.run && { ...meta.run, checkpoint: run.checkpoint, config: run.config } };
}

/** The metadata and heavy parts of a whole `entry` of `store`. */
function split(store, entry) {
  if (store === STORES.sets) {
    const { pixels, labels, paths, sources, ...meta } = entry;
    return [meta, [{ id: entry.id, pixels, labels, paths, sources }]];
  }
  const { bytes, run, ...meta } = entry;
  const { checkpoint, config, ...status } = run ?? {};
  return [{ ...meta, run: run ? status : null }, [{ id: entry.id, bytes }, { id: entry.id, checkpoint: checkpoint ?? null, config: config ?? null }]];
}

/**
 * Writes a whole entry (as `get` returns it) in one transaction: either all of it is stored or,
 * when the write fails (the quota), what was stored before stays as it was. With `keepName`, a
 * name given in the library meanwhile is kept (a training run's checkpoint, a set being loaded;
 * one deleted from the library while it changes is stored again: the run or the set is still there).
 */
export async function put(store, entry, { keepName = false } = {}) {
  try {
    const db = await library();
    const tx = db.transaction([store, ...HEAVY[store]], 'readwrite');
    const [meta, heavy] = split(store, entry);
    const before = keepName ? await tx.objectStore(store).get(entry.id) : null;
    await Promise.all([
      tx.objectStore(store).put(before ? { ...meta, name: before.name, created: before.created } : meta),
      ...heavy.map((h, i) => tx.objectStore(HEAVY[store][i]).put(h)),
      tx.done,
    ]);
  } catch (err) {
    throw storageError(err, `save “${entry.name}”`);
  }
}

/** Changes fields of an entry's metadata (its name). */
export async function update(store, id, changes) {
  const db = await library();
  const tx = db.transaction(store, 'readwrite');
  const r = await tx.store.get(id);
  if (r) await tx.store.put({ ...r, ...changes });
  await tx.done;
}

export async function remove(store, id) {
  const db = await library();
  const tx = db.transaction([store, ...HEAVY[store]], 'readwrite');
  await Promise.all([...[store, ...HEAVY[store]].map((name) => tx.objectStore(name).delete(id)), tx.done]);
}

export async function removeAll() {
  const db = await library();
  const tx = db.transaction(ALL_STORES, 'readwrite');
  await Promise.all([...ALL_STORES.map((name) => tx.objectStore(name).clear()), tx.done]);
}

/** Appends a point to a stored curve, thinning its older half once it holds CURVE_POINTS. */
export function addPoint(curve, step, value) {
  curve.push([step, value]);
  if (curve.length > CURVE_POINTS) {
    const half = curve.length >> 1;
    const thinned = curve.slice(0, half).filter((_, i) => i % 2 === 0);
    curve.splice(0, half, ...thinned);
  }
}

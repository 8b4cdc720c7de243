// The local library: models (trained or loaded in this tab, with their training checkpoints) and
// picture sets, kept in IndexedDB through `idb` so that a reload, a crash or a closed tab loses
// nothing. Used by the page (www/library-panel.js, www/training-panel.js) and by the training
// worker, which writes its checkpoints itself so that the page's main thread never copies them.
//
// A model record: { id, name, created, updated, description, arch, latent, shape: { channels, size },
//   dataset, heldout, bytes (the .safetensors weights), curves: { train, recon, kl, heldout: [[step, value]…] },
//   run: null | { config, checkpoint (vae::resume bytes), status: 'training' | 'paused' | 'done', step, epoch, totalSteps } }
// A set record: { id, name, created, updated, count, channels, size, pixels, labels, names, options }
import { openDB } from './vendor/idb.js';

const DB_NAME = 'vae-library';
const DB_VERSION = 1;
export const STORES = { models: 'models', sets: 'sets' };
/** The largest number of points a stored curve keeps (older halves are thinned beyond it). */
export const CURVE_POINTS = 2000;

let opening = null;

/** Why the library is unavailable, in words, from the error IndexedDB gave. */
function explain(err) {
  if (err?.name === 'QuotaExceededError') return 'the browser\'s storage for this site is full (delete something from the library, or free space)';
  if (err?.name === 'VersionError') return 'the library was written by a newer version of this app; reload to get it';
  if (err?.name === 'InvalidStateError' || err?.name === 'SecurityError') return 'this window cannot store data (a private window, or storage is blocked for this site)';
  return err?.message ?? String(err);
}

/** A storage error whose message says what happened and what still works. */
export function storageError(err, doing) {
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
        if (!db.objectStoreNames.contains(STORES.models)) db.createObjectStore(STORES.models, { keyPath: 'id' });
        if (!db.objectStoreNames.contains(STORES.sets)) db.createObjectStore(STORES.sets, { keyPath: 'id' });
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

/** Every record of `store`, newest first; records that are not this app's are left out (and counted). */
export async function list(store) {
  const db = await library();
  const all = await db.getAll(store);
  const valid = all.filter((r) => isRecord(store, r));
  return { records: valid.sort((a, b) => b.updated - a.updated), foreign: all.length - valid.length };
}

/** Whether `r` is a well-formed record of `store` (a corrupt or foreign one is skipped, not trusted). */
export function isRecord(store, r) {
  if (!r || typeof r.id !== 'string' || typeof r.name !== 'string' || !Number.isFinite(r.updated)) return false;
  if (store === STORES.models) return r.bytes instanceof Uint8Array && r.bytes.length > 8;
  return r.pixels instanceof Uint8Array && Number.isInteger(r.count) && r.pixels.length === r.count * r.channels * r.size * r.size;
}

export async function get(store, id) {
  const r = await (await library()).get(store, id);
  return isRecord(store, r) ? r : null;
}

/**
 * Writes `record` whole in one transaction: either the new record is stored or, when the write
 * fails (the quota), the one stored before stays as it was.
 */
export async function put(store, record) {
  try {
    await (await library()).put(store, record);
  } catch (err) {
    throw storageError(err, `save “${record.name}”`);
  }
}

/**
 * Writes a record that keeps changing (a training run's checkpoint, a picture set being loaded)
 * whole, in one transaction, keeping the name a person gave it in the library meanwhile. One
 * deleted from the library while it changes is stored again: the run or the set is still there.
 */
export async function saveKeepingName(store, record) {
  try {
    const db = await library();
    const tx = db.transaction(store, 'readwrite');
    const before = await tx.store.get(record.id);
    await tx.store.put(before ? { ...record, name: before.name, created: before.created } : record);
    await tx.done;
  } catch (err) {
    throw storageError(err, `save “${record.name}”`);
  }
}

/** Changes fields of a stored record (name, run status…). */
export async function update(store, id, changes) {
  const db = await library();
  const tx = db.transaction(store, 'readwrite');
  const r = await tx.store.get(id);
  if (r) await tx.store.put({ ...r, ...changes });
  await tx.done;
}

export async function remove(store, id) {
  await (await library()).delete(store, id);
}

export async function removeAll() {
  const db = await library();
  const tx = db.transaction([STORES.models, STORES.sets], 'readwrite');
  await Promise.all([tx.objectStore(STORES.models).clear(), tx.objectStore(STORES.sets).clear(), tx.done]);
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

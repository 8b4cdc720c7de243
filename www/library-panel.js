// The Library panel: the models and picture sets kept in this browser (www/library.js), with the
// storage used, the quota and whether the browser keeps it for good. Each entry can be opened,
// renamed, duplicated, downloaded (.safetensors, or a .zip of a set's pictures) and deleted;
// Delete all asks first. `openModel(record)` and `openSet(record)` make an entry the current one;
// `onRecords(models)` hears the stored models after each listing (the training panel offers to
// resume an unfinished run).
import { $ } from './dom.js';
import { wasm } from './engine.js';
import { paintTiles } from './images.js';
import { setStatus, showError } from './status.js';
import { metrics } from './metrics.js';
import { STORES, THUMBNAILS, get, list, newId, put, remove, removeAll, thumbnailOf, update } from './library.js';

const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
const slug = (name) => name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'vae';

export class LibraryPanel {
  constructor({ openModel, openSet, onRecords }) {
    Object.assign(this, { openModel, openSet, onRecords });
    this.listing = null;
    this.again = false;
    $('library-delete-all').addEventListener('click', () => this.#deleteAll());
    $('library-list').addEventListener('click', (e) => this.#act(e));
    $('library-list').addEventListener('keydown', (e) => this.#renameKey(e));
    self.addEventListener('library-blocked', () => showError('another tab holds an older version of this app\'s library open: close it or reload it; '
      + 'this tab keeps working in memory meanwhile', 'library'));
  }

  /** Lists the library again (one listing at a time; a call during one runs once more after it). */
  refresh() {
    if (this.listing) {
      this.again = true;
      return this.listing;
    }
    this.listing = this.#list().catch((err) => {
      console.warn(err);
      $('library-storage').textContent = `The library is unavailable: ${err.message}`;
      $('library-delete-all').disabled = true;
    }).finally(() => {
      this.listing = null;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    });
    return this.listing;
  }

  /** Keeps a model file loaded in this tab (from a file or a drop) in the library. */
  async keepFile(bytes, name, dataset, description) {
    const now = Date.now();
    try {
      const model = new (wasm().Model)(bytes);
      let thumb;
      try {
        thumb = thumbnailOf(model);
      } finally {
        model.free();
      }
      await put(STORES.models, {
        id: newId('model'), name, created: now, updated: now, description, dataset, heldout: null, size: bytes.length, thumb, bytes: bytes.slice(), curves: null, run: null,
      });
      await this.refresh();
    } catch (err) {
      showError(err, 'library');
    }
  }

  /** Asks the browser to keep this site's storage under pressure (once), and says what it answered. */
  async askPersistence() {
    if (!navigator.storage?.persist || this.persistAsked) return;
    this.persistAsked = true;
    try {
      this.persisted = await navigator.storage.persisted() || await navigator.storage.persist();
    } catch {
      this.persisted = false;
    }
    this.#showStorage();
  }

  async #list() {
    const [models, sets] = await Promise.all([list(STORES.models), list(STORES.sets)]);
    const items = [...models.records.map((r) => ({ kind: 'model', r })), ...sets.records.map((r) => ({ kind: 'set', r }))]
      .sort((a, b) => b.r.updated - a.r.updated);
    const ul = $('library-list');
    ul.replaceChildren(...items.map(({ kind, r }) => this.#item(kind, r)));
    if (items.length === 0) {
      const li = document.createElement('li');
      li.className = 'hint';
      li.textContent = 'Nothing yet: models you train or load and picture sets you load are kept here.';
      ul.append(li);
    }
    const foreign = models.foreign + sets.foreign;
    $('library-foreign').textContent = foreign ? `${foreign} stored record${foreign === 1 ? ' is' : 's are'} not this app's or damaged, and left alone.` : '';
    $('library-delete-all').disabled = items.length === 0 && foreign === 0;
    metrics.libraryItems = items.length;
    this.#showStorage();
    this.onRecords?.(models.records);
    if (items.length) this.askPersistence();
  }

  async #showStorage() {
    const estimate = await navigator.storage?.estimate?.().catch(() => null);
    $('storage-used').textContent = String(estimate?.usage ?? 0);
    const used = estimate ? `Using ${mb(estimate.usage ?? 0)} of the ${mb(estimate.quota ?? 0)} this browser allows this site. ` : '';
    const kept = this.persisted === undefined ? '' : this.persisted
      ? 'The browser keeps it for good (persistent storage).'
      : 'The browser may clear it when it runs short of space (it did not grant persistent storage).';
    $('library-storage').textContent = used + kept;
  }

  #item(kind, r) {
    const li = document.createElement('li');
    li.dataset.id = r.id;
    li.dataset.kind = kind;
    li.dataset.testid = 'library-item';
    li.dataset.name = r.name;
    const canvas = document.createElement('canvas');
    canvas.className = 'pixels';
    canvas.width = canvas.height = 1;
    const t = r.thumb;
    if (t?.images instanceof Float32Array && t.images.length === THUMBNAILS * t.channels * t.height * t.width) {
      paintTiles(canvas, t.images, { channels: t.channels, height: t.height, width: t.width }, THUMBNAILS, 1);
    }
    const name = document.createElement('span');
    name.className = 'library-name';
    name.textContent = r.name;
    const about = document.createElement('span');
    about.className = 'hint';
    const date = new Date(r.updated).toLocaleString();
    if (kind === 'model') {
      const run = r.run ? ` · ${r.run.status === 'done' ? 'trained' : `${r.run.status} (step ${r.run.step} of ${r.run.totalSteps})`}` : '';
      const heldout = Number.isFinite(r.heldout) ? ` · held-out −ELBO ${r.heldout.toFixed(2)}` : '';
      about.textContent = `${r.description ?? 'model'} · ${r.dataset ?? ''}${heldout}${run} · ${mb(r.size ?? 0)} · ${date}`;
    } else {
      about.textContent = `${r.count} picture${r.count === 1 ? '' : 's'}, ${r.channels === 3 ? 'colour' : 'grey'} ${r.size}×${r.size}`
        + `${r.names?.length ? `, ${r.names.length} labels` : ''} · ${mb(r.bytes ?? 0)} · ${date}`;
    }
    const buttons = document.createElement('span');
    buttons.className = 'tools';
    for (const [action, label] of [['open', 'Open'], ['rename', 'Rename'], ['duplicate', 'Duplicate'], ['download', 'Download'], ['delete', 'Delete']]) {
      const b = document.createElement('button');
      b.dataset.action = action;
      b.dataset.testid = `library-${action}`;
      b.textContent = label;
      b.setAttribute('aria-label', `${label} ${r.name}`);
      buttons.append(b);
    }
    const text = document.createElement('span');
    text.className = 'library-text';
    text.append(name, about);
    li.append(canvas, text, buttons);
    return li;
  }

  async #act(e) {
    const button = e.target.closest('button[data-action]');
    const li = e.target.closest('li[data-id]');
    if (!button || !li) return;
    const store = li.dataset.kind === 'model' ? STORES.models : STORES.sets;
    const { id } = li.dataset;
    try {
      const name = li.querySelector('.library-name')?.textContent ?? id;
      // Renaming and deleting need only the listing (a damaged entry can still go); the rest reads the entry whole.
      const whole = ['open', 'duplicate', 'download'].includes(button.dataset.action);
      const r = whole ? await get(store, id) : { id, name };
      if (!r) throw new Error(`“${name}” cannot be read back from the library (it is missing or damaged); delete it`);
      switch (button.dataset.action) {
        case 'open':
          if (li.dataset.kind === 'model') await this.openModel(r);
          else await this.openSet(r);
          return;
        case 'rename':
          this.#startRename(li, r);
          return;
        case 'duplicate':
          await put(store, { ...r, id: newId(li.dataset.kind), name: `${r.name} (copy)`, updated: Date.now(),
            run: r.run ? { ...r.run, status: r.run.status === 'done' ? 'done' : 'paused' } : r.run }); // its own copy, not the run that may still be writing
          break;
        case 'download':
          await this.#download(li.dataset.kind, r);
          return;
        case 'delete':
          await remove(store, id);
          setStatus(`Deleted “${r.name}” from the library.`);
          break;
        default:
          return;
      }
      await this.refresh();
    } catch (err) {
      showError(err, 'library');
    }
  }

  #startRename(li, r) {
    const name = li.querySelector('.library-name');
    const input = document.createElement('input');
    input.value = r.name;
    input.className = 'library-rename';
    input.setAttribute('aria-label', 'New name');
    input.dataset.id = r.id;
    input.dataset.store = li.dataset.kind === 'model' ? STORES.models : STORES.sets;
    name.replaceWith(input);
    input.focus();
    input.select();
    input.addEventListener('blur', () => this.#finishRename(input, true), { once: true });
  }

  #renameKey(e) {
    if (!e.target.classList.contains('library-rename')) return;
    if (e.key === 'Enter') e.target.blur();
    if (e.key === 'Escape') this.#finishRename(e.target, false);
  }

  async #finishRename(input, commit) {
    if (input.dataset.done) return;
    input.dataset.done = '1';
    const name = input.value.trim();
    try {
      if (commit && name) await update(input.dataset.store, input.dataset.id, { name });
    } catch (err) {
      showError(err, 'library');
    }
    await this.refresh();
  }

  async #download(kind, r) {
    let blob;
    let file;
    if (kind === 'model') {
      blob = new Blob([r.bytes], { type: 'application/octet-stream' });
      file = `${slug(r.name)}.safetensors`;
    } else {
      // The pictures as they were added: files as they were, drawings and webcam frames as PNGs.
      const entries = {};
      for (const source of r.sources ?? []) {
        const bytes = source.blob ? new Uint8Array(await source.blob.arrayBuffer()) : await pngOf(source);
        entries[source.path] = [bytes, { level: 0 }];
      }
      const { zipSync } = await import('./vendor/fflate.js'); // 90 KB, only for this download: not at start-up
      blob = new Blob([zipSync(entries)], { type: 'application/zip' });
      file = `${slug(r.name)}.zip`;
    }
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = file;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    setStatus(`Downloaded ${file}.`);
  }

  async #deleteAll() {
    // eslint-disable-next-line no-alert
    if (!window.confirm('Delete every model and picture set in this browser\'s library? This cannot be undone.')) return;
    try {
      await removeAll();
      setStatus('The library is empty.');
    } catch (err) {
      showError(err, 'library');
    }
    await this.refresh();
  }
}

/** A PNG of an RGBA source ({ rgba, width, height }). */
async function pngOf({ rgba, width, height }) {
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  return new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
}

// The picture worker: turns your own pictures into a set of model images, off the main thread.
// It holds the pictures (files, files unpacked from a .zip, drawings and webcam frames as RGBA)
// and, for the current options, each one's model image or the reason it was skipped. The browser
// decodes (`createImageBitmap`, then an `OffscreenCanvas` for the RGBA bytes); the wasm module
// does the rest exactly as `vae train --images` does: the size check from the header, the
// preprocessing (src/picture.rs), the labels from first-level folders, the .zip reading.
//
// Messages in: `add` { files: [{ path, file }], rooted } (a .zip among them is unpacked; `rooted`:
// the paths are already relative to the set's root), `add-rgba`
// { path, rgba, width, height }, `options` { size, colour, fit, background, invert }, `clear`.
// Messages out: `progress` { done, total, seconds }, then `set` { count, channels, size, pixels,
// labels, names, paths, skipped, seconds } after every change; `error` { message }.
import init, { PictureOptions, ZipPictures, pictureSize, pictureHeaderBytes, labelFolders } from '../pkg/vae.js';
import { wasmUrl } from './wasm.js';
import { stripCommonRoot } from './picture-paths.js';
import { STORES, THUMBNAILS, get, newId, put } from './library.js';

const wasmReady = init({ module_or_path: wasmUrl() });
/** Pictures decoded at once (the browser decodes them off this thread). */
const IN_FLIGHT = 32;
const PROGRESS_EVERY_MS = 100;
/** The set is kept in the library (www/library.js) this long after it last changed. */
const SAVE_AFTER_MS = 1000;

/** Every picture, in the order added: { path, blob } or { path, rgba, width, height }. */
let pictures = [];
/** Their paths. */
let taken = new Set();
/** Reasons for entries that never became pictures (a bad .zip, a path outside the archive). */
let rejected = [];
/** For the current options: path → { image } or { reason }. */
let results = new Map();
let options = { size: 28, colour: false, fit: 'crop', background: 'ffffff', invert: false };
let prep = null;
/** Counts changes of options and clears: a drain of an older one stops and posts nothing. */
let run = 0;
/** The pictures to prepare under the current options (from `head` on), and the drain doing it. */
let queue = [];
let head = 0;
let drain = null;

const post = (msg, transfer = []) => self.postMessage(msg, transfer);
/** This set's library record ({ id, created }), made when it is first kept; a clear starts another. */
let stored = null;
let saveTimer = 0;

/** Keeps `set` (as posted) in the library with the pictures as they were added, SAVE_AFTER_MS after the last change. */
function scheduleSave(set) {
  clearTimeout(saveTimer);
  if (set.count === 0) return;
  const sources = pictures.map((p) => (p.blob ? { path: p.path, blob: p.blob } : { path: p.path, rgba: p.rgba, width: p.width, height: p.height }));
  saveTimer = setTimeout(async () => {
    stored ??= { id: newId('set'), created: Date.now() };
    const { names, count } = set;
    const name = `${count} picture${count === 1 ? '' : 's'}${names.length ? ` of ${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}` : ''}`;
    try {
      const per = set.channels * set.size * set.size;
      const images = Float32Array.from(set.pixels.subarray(0, Math.min(THUMBNAILS, count) * per), (v) => v / 255);
      await put(STORES.sets, {
        id: stored.id, name, created: stored.created, updated: Date.now(), count, channels: set.channels, size: set.size, names,
        options: set.options, bytes: set.pixels.length, thumb: { images, channels: set.channels, height: set.size, width: set.size },
        pixels: set.pixels, labels: set.labels, paths: set.paths, sources,
      }, { keepName: true });
      post({ type: 'saved', id: stored.id });
    } catch (err) {
      post({ type: 'save-error', message: err.message ?? String(err) });
    }
  }, SAVE_AFTER_MS);
}

const isZip = (path) => /\.zip$/i.test(path);

/** Adds `path` (made unique: two pictures may not share one) to the pictures. */
function addPicture(picture) {
  let { path } = picture;
  for (let n = 2; taken.has(path); n++) path = picture.path.replace(/(\.[^./]*)?$/, ` (${n})$1`);
  taken.add(path);
  const added = { ...picture, path };
  pictures.push(added);
  queue.push(added);
}

/** Unpacks a .zip into pictures in the zip's folder; what it refuses goes to `rejected`. */
async function addZip(path, file) {
  const folder = path.slice(0, path.lastIndexOf('/') + 1);
  let zip;
  try {
    zip = new ZipPictures(new Uint8Array(await file.arrayBuffer()));
  } catch (err) {
    rejected.push(`${path} is ${err.message}`);
    return;
  }
  try {
    for (const reason of zip.skipped()) rejected.push(`${path}: ${reason}`);
    const names = Array.from({ length: zip.length }, (_, i) => zip.name(i));
    const inner = stripCommonRoot(names);
    for (let i = 0; i < zip.length; i++) {
      try {
        addPicture({ path: folder + inner[i], blob: new Blob([zip.read(i)]) });
      } catch (err) {
        rejected.push(`${path}: ${names[i]} ${err.message}`);
      }
    }
  } finally {
    zip.free();
  }
}

/** Byte offsets of R, G, B, A in a pixel of a VideoFrame format that holds one (A: -1 for opaque). */
const PACKED = { RGBA: [0, 1, 2, 3], RGBX: [0, 1, 2, -1], BGRA: [2, 1, 0, 3], BGRX: [2, 1, 0, -1] };

/**
 * The first frame of a picture's bytes: { width, height, rgba } when the frame is packed RGB
 * (copied out directly), else { width, height, image (a VideoFrame), close() }, drawn like an ImageBitmap.
 */
async function decodeBytes(bytes, type) {
  const decoder = new ImageDecoder({ data: bytes, type, colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  try {
    const { image } = await decoder.decode({ frameIndex: 0 });
    const [width, height] = [image.displayWidth, image.displayHeight];
    const order = PACKED[image.format];
    const rect = image.visibleRect;
    if (!order || rect.width !== width || rect.height !== height) return { width, height, image, close: () => image.close() };
    try {
      const packed = new Uint8Array(width * height * 4);
      await image.copyTo(packed, { layout: [{ offset: 0, stride: width * 4 }] });
      const rgba = order === PACKED.RGBA ? packed : new Uint8Array(packed.length);
      if (rgba !== packed) {
        for (let i = 0; i < packed.length; i += 4) {
          rgba[i] = packed[i + order[0]];
          rgba[i + 1] = packed[i + order[1]];
          rgba[i + 2] = packed[i + order[2]];
          rgba[i + 3] = order[3] < 0 ? 255 : packed[i + order[3]];
        }
      }
      return { width, height, rgba, close: () => {} };
    } finally {
      image.close();
    }
  } finally {
    decoder.close();
  }
}

/** The model image of one picture (C·S·S bytes), or throws with the reason it cannot be used. */
async function preprocess(picture, canvas) {
  if (picture.rgba) return prep.apply(picture.rgba, picture.width, picture.height);
  const { blob } = picture;
  if (blob.size === 0) throw new Error('is empty');
  // A small file is read once: its bytes are both the header and what is decoded.
  const small = blob.size <= pictureHeaderBytes();
  const header = new Uint8Array(await (small ? blob : blob.slice(0, pictureHeaderBytes())).arrayBuffer());
  const { width, height, type } = pictureSize(header); // throws: not an image, too large
  let bitmap;
  try {
    // The file's own pixels, as the image crate reads them: no colour management, no premultiplying.
    // WebCodecs' ImageDecoder decodes bytes already here (createImageBitmap goes through the
    // browser's blob store for each file, several times slower for many small files).
    bitmap = small && self.ImageDecoder ? await decodeBytes(header, type)
      : await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch {
    throw new Error('is corrupt or truncated: the browser cannot decode it');
  }
  try {
    if (bitmap.width !== width || bitmap.height !== height) throw new Error(`is corrupt: its header says ${width}×${height}, its pixels are ${bitmap.width}×${bitmap.height}`);
    if (bitmap.rgba) return prep.apply(bitmap.rgba, width, height);
    if (canvas.width < width || canvas.height < height) {
      canvas.width = Math.max(canvas.width, width);
      canvas.height = Math.max(canvas.height, height);
    }
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.clearRect(0, 0, width, height);
    ctx.drawImage(bitmap.image ?? bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, width, height);
    return prep.apply(new Uint8Array(data.buffer, data.byteOffset, data.length), width, height);
  } finally {
    bitmap.close();
  }
}

/**
 * Brings every picture's result up to date with the options, then posts the set. One drain runs
 * at a time: pictures added meanwhile join its queue; new options or a clear start a new one.
 */
async function update() {
  if (drain?.run === run) return; // the running drain takes the new pictures too
  const mine = run;
  const state = { run: mine, done: 0, inFlight: 0 };
  drain = state;
  await wasmReady;
  const t0 = performance.now();
  // This drain's results: new options or a clear replace the map, and a picture still in flight
  // then lands in the old one, never in the new.
  const ownResults = results;
  const canvas = new OffscreenCanvas(64, 64);
  let lastPost = 0;
  const progress = () => post({
    type: 'progress', done: state.done, total: state.done + state.inFlight + queue.length - head, seconds: (performance.now() - t0) / 1000,
  });
  const lane = async () => {
    while (head < queue.length && mine === run) {
      const picture = queue[head++];
      state.inFlight += 1;
      try {
        ownResults.set(picture.path, { image: await preprocess(picture, canvas) });
      } catch (err) {
        ownResults.set(picture.path, { reason: err.message ?? String(err) });
      }
      state.inFlight -= 1;
      state.done += 1;
      if (performance.now() - lastPost > PROGRESS_EVERY_MS) {
        lastPost = performance.now();
        progress();
      }
    }
  };
  // Again while pictures came in as the last lanes finished.
  while (head < queue.length && mine === run) await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  if (drain === state) drain = null;
  if (mine !== run) return;
  progress();
  postSet((performance.now() - t0) / 1000, state.done);
}

/** The set as the model sees it: pictures sorted by path (as the CLI reads a folder), labels from folders. */
function postSet(seconds, decoded) {
  const sorted = [...pictures].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const { names, labels: labelOf } = labelFolders(sorted.map((p) => p.path));
  const skipped = [...rejected];
  const kept = [];
  sorted.forEach((p, i) => {
    const r = results.get(p.path);
    if (labelOf[i] < 0) skipped.push(`${p.path} is outside the label folders`);
    else if (r.reason) skipped.push(`${p.path} ${r.reason}`);
    else kept.push({ path: p.path, image: r.image, label: labelOf[i] });
  });
  const per = prep.channels * options.size * options.size;
  const pixels = new Uint8Array(kept.length * per);
  kept.forEach((k, i) => pixels.set(k.image, i * per));
  const labels = Uint8Array.from(kept, (k) => k.label);
  const set = {
    type: 'set', count: kept.length, channels: prep.channels, size: options.size, pixels, labels, names,
    paths: kept.map((k) => k.path), skipped, seconds, decoded, options,
  };
  scheduleSave({ ...set, pixels: pixels.slice(), labels: labels.slice() });
  post(set, [pixels.buffer, labels.buffer]);
}

function setOptions(next) {
  const made = new PictureOptions(next.size, next.colour, next.fit, next.background, next.invert); // throws on bad options
  prep?.free();
  prep = made;
  options = next;
  results = new Map();
  queue = [...pictures];
  head = 0;
  run += 1;
}

/** Forgets every picture; the next set is a new library entry. */
function clear() {
  pictures = [];
  taken = new Set();
  rejected = [];
  results = new Map();
  queue = [];
  head = 0;
  run += 1;
  stored = null;
  clearTimeout(saveTimer);
}

self.onmessage = async ({ data: msg }) => {
  try {
    await wasmReady;
    if (!prep) setOptions(options);
    if (msg.type === 'options') setOptions(msg.options);
    else if (msg.type === 'clear') {
      clear();
    } else if (msg.type === 'restore') {
      // A set from the library: its pictures as they were added, under its options, kept in the same record.
      const r = await get(STORES.sets, msg.id);
      if (!r?.sources) throw new Error('that picture set is no longer in the library');
      clear();
      setOptions(r.options);
      for (const source of r.sources) addPicture(source);
      stored = { id: r.id, created: r.created };
    } else if (msg.type === 'add') {
      // Hidden files (.DS_Store, ._x.png) are not pictures, as for `vae train --images`.
      const files = msg.files.filter((f) => !f.path.split('/').some((part) => part.startsWith('.')));
      const paths = msg.rooted ? files.map((f) => f.path) : stripCommonRoot(files.map((f) => f.path));
      for (const [i, { file }] of files.entries()) {
        if (isZip(paths[i])) await addZip(paths[i], file);
        else addPicture({ path: paths[i], blob: file });
      }
    } else if (msg.type === 'add-rgba') {
      addPicture({ path: msg.path, rgba: msg.rgba, width: msg.width, height: msg.height });
    }
    await update();
  } catch (err) {
    post({ type: 'error', message: err.message ?? String(err) });
  }
};

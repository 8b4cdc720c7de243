// The service worker: the app works offline after one visit. At install it stores every file of
// this build (the list and the build's version come from www/precache.js, written by
// scripts/build.sh) in a cache named after the version, all or nothing; at activation it deletes the
// caches of other builds, so one build's files are never mixed with another's. Requests for the
// app's own files go to the network first (the server revalidates them cheaply) and fall back to
// this build's cache when the network is unavailable. A new build (precache.js changes) installs
// beside the running one and takes over at once; open pages are told (a short notice) and the
// next load uses it whole. Nothing is ever requested from another origin.
/* global PRECACHE */
importScripts('./www/precache.js');

const CACHE = `vae-${PRECACHE.version}`;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(PRECACHE.files.map((f) => new Request(f, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith('vae-') && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  event.respondWith((async () => {
    try {
      return await fetch(event.request);
    } catch (err) {
      // Offline: this build's copy (a module imported again with ?instance=N after a crash is the same file).
      const cached = await caches.match(event.request, { cacheName: CACHE, ignoreSearch: true });
      if (cached) return cached;
      throw err;
    }
  })());
});

self.addEventListener('message', (event) => {
  if (event.data?.type === 'version') event.source?.postMessage({ type: 'version', version: PRECACHE.version, files: PRECACHE.files.length });
});

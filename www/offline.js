// Offline and installable: registers the service worker (/sw.js) once the page has settled, and
// says when a new build has been installed (the page was loaded from the network, so it already
// runs that build; its offline copy is now replaced whole). `metrics.offlineReady` turns true
// when this build's files are all cached; `metrics.offlineVersion` names the cached build.
import { setStatus } from './status.js';
import { metrics } from './metrics.js';

const SEEN = 'vae-build';

/** Asks `worker` which build it has cached; a build other than the last one seen is announced. */
function askVersion(worker) {
  worker?.postMessage({ type: 'version' });
}

export async function registerOffline() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', ({ data }) => {
    if (data?.type !== 'version') return;
    metrics.offlineReady = true;
    metrics.offlineVersion = data.version;
    let seen = null;
    try {
      seen = localStorage.getItem(SEEN);
      localStorage.setItem(SEEN, data.version);
    } catch {
      // No storage: no notice.
    }
    if (seen && seen !== data.version) setStatus('A new version of the app is installed and cached for offline use (the next load uses it whole).');
  });
  navigator.serviceWorker.addEventListener('controllerchange', () => askVersion(navigator.serviceWorker.controller));
  const registration = await navigator.serviceWorker.register(new URL('../sw.js', import.meta.url), { scope: new URL('../', import.meta.url).pathname });
  await navigator.serviceWorker.ready;
  askVersion(registration.active);
}

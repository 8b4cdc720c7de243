// Offline and installable: registers the service worker (/sw.js) once the page has settled, and
// says when a new build has been installed (the next load uses it whole). `metrics.offlineReady`
// turns true when this build's files are all cached.
import { setStatus } from './status.js';
import { metrics } from './metrics.js';

export async function registerOffline() {
  if (!('serviceWorker' in navigator)) return;
  const hadController = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // A build installed while this page runs: this page keeps its files; the next load takes the new ones.
    if (hadController) setStatus('A new version of the app is installed: it is used from the next load (this page keeps working as it is).');
  });
  const registration = await navigator.serviceWorker.register(new URL('../sw.js', import.meta.url), { scope: new URL('../', import.meta.url).pathname });
  await navigator.serviceWorker.ready;
  const active = registration.active;
  navigator.serviceWorker.addEventListener('message', ({ data }) => {
    if (data?.type === 'version') {
      metrics.offlineReady = true;
      metrics.offlineVersion = data.version;
    }
  });
  active?.postMessage({ type: 'version' });
}

// The status line (role=status) and the loading progress bar.
const statusEl = () => document.getElementById('status');

/** Shows what the app is doing. */
export function setStatus(text) {
  const el = statusEl();
  el.textContent = text;
  el.classList.remove('error');
}

let onCrash = null;

/** `handler(err)` is called for a wasm crash (a panic traps the instance) instead of just showing it. */
export function setCrashHandler(handler) {
  onCrash = handler;
}

/** Shows an error (an Error, a wasm-thrown error or a string) without stopping the app. */
export function showError(err, context = '') {
  if (err instanceof WebAssembly.RuntimeError && onCrash) {
    onCrash(err);
    return;
  }
  const el = statusEl();
  const message = err instanceof Error ? err.message : String(err);
  el.textContent = `${context ? context + ': ' : ''}${message}`;
  el.classList.add('error');
  console.warn(context, err);
}

/** Sets the loading bar to `fraction` in [0, 1]; hides it at 1. */
export function setProgress(fraction) {
  const bar = document.getElementById('load-progress');
  bar.value = Math.max(0, Math.min(1, fraction));
  bar.classList.toggle('done', fraction >= 1);
}

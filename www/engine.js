// The WebAssembly engine: one instance of the wasm module, replaced by a fresh one if it ever
// panics (a Rust panic aborts the instance, which then throws WebAssembly.RuntimeError).
import { wasmModule } from './boot.js';

let current = null;
let exports = null;
let generation = 0;

/** Loads (or, after a crash, reloads) the module; resolves to its namespace. */
export async function startEngine() {
  generation += 1;
  // A different URL gives a separate module record, hence a separate wasm instance.
  const url = new URL(`../pkg/vae.js${generation > 1 ? `?instance=${generation}` : ''}`, import.meta.url);
  const mod = await import(url.href);
  // The module compiled once at start-up (www/boot.js) makes each fresh instance.
  exports = await mod.default({ module_or_path: await wasmModule });
  current = mod;
  return mod;
}

/** The live module namespace (Model, ImageSet, drawingToInput, …). */
export const wasm = () => current;

/** Bytes of the engine's linear memory. */
export const memoryBytes = () => exports?.memory.buffer.byteLength ?? 0;


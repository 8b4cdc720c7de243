// Which of the two wasm builds to run (scripts/build.sh writes both, from the same Rust code and
// with the same JS glue): the one with relaxed SIMD, whose matrix products use fused
// multiply-add, where this browser validates a module with that instruction (feature detection,
// as onnxruntime-web and TF.js choose their builds); the plain SIMD128 one everywhere else.
// `?wasm=simd128` or `?wasm=relaxed` on the page's URL (or a worker script's) chooses one: the
// benchmark and the wasm-vs-native test compare the two.

// (module (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0))))
const zeros = new Array(16).fill(0);
const RELAXED_MADD_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // types: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x0a, 0x3d, 0x01, 0x3b, 0x00, // code: one body of 59 bytes, no locals
  0xfd, 0x0c, ...zeros, 0xfd, 0x0c, ...zeros, 0xfd, 0x0c, ...zeros, // three v128.const
  0xfd, 0x85, 0x02, // f32x4.relaxed_madd (0xfd 0x105)
  0x0b, // end
]);

/** Whether this browser runs relaxed SIMD. */
export const relaxedSimd = (() => {
  try {
    return WebAssembly.validate(RELAXED_MADD_MODULE);
  } catch {
    return false;
  }
})();

const forced = new URLSearchParams(globalThis.location?.search ?? '').get('wasm');

/** 'relaxed' or 'simd128': the build this page or worker runs. */
export const wasmBuild = forced === 'simd128' || (forced !== 'relaxed' && !relaxedSimd) ? 'simd128' : 'relaxed';

/** The URL of that build's .wasm. */
export const wasmUrl = () => new URL(wasmBuild === 'relaxed' ? '../pkg/vae_relaxed_bg.wasm' : '../pkg/vae_bg.wasm', import.meta.url);

// Reads a .safetensors file into { name: { shape, data: Float32Array } } (F32 only), for the
// TensorFlow.js side of the benchmark, which runs the identical model with the identical weights.
export function readSafetensors(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const out = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (info.dtype !== 'F32') throw new Error(`${name}: only F32 is supported here`);
    const [start, end] = info.data_offsets;
    const data = new Float32Array(bytes.slice(8 + headerLength + start, 8 + headerLength + end).buffer);
    out[name] = { shape: info.shape, data };
  }
  return out;
}

/** The first `count` images of a gzip IDX file as Float32Array rows in [0, 1]. */
export async function readIdxImages(url, count) {
  const stream = (await fetch(url)).body.pipeThrough(new DecompressionStream('gzip'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  const n = Math.min(count, new DataView(bytes.buffer).getUint32(4));
  return Float32Array.from(bytes.subarray(16, 16 + n * 784), (v) => v / 255);
}

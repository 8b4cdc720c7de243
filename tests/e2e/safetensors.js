// Reads .safetensors files in the browser tests: the JSON header, and the F32 tensors by name.
import assert from 'node:assert/strict';

/** The header of a .safetensors file (a Buffer): { name: { dtype, shape, data_offsets }, __metadata__ }. */
export function safetensorsHeader(bytes) {
  assert.ok(bytes.length >= 8, 'file holds at least the 8-byte header length');
  const n = Number(bytes.readBigUInt64LE(0));
  assert.ok(n > 0 && 8 + n <= bytes.length, `header length ${n} fits in the ${bytes.length}-byte file`);
  return JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
}

/** Every tensor of a .safetensors file of F32 tensors: { name: Float32Array }. */
export function safetensorsTensors(bytes) {
  const header = safetensorsHeader(bytes);
  const start = 8 + Number(bytes.readBigUInt64LE(0));
  const out = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [from, to] = info.data_offsets;
    out[name] = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start + from, bytes.byteOffset + start + to));
  }
  return out;
}

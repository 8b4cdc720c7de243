// (c) TensorFlow.js: the identical model and step (batch 128, 784-512-2, Adam lr 1e-3, BCE from
// logits summed over pixels + KL, mean over the batch) with the wasm backend (SIMD), in a worker.
importScripts('/bench/tfjs/tf.min.js', '/bench/tfjs-wasm/tf-backend-wasm.min.js');

async function images(url, count) {
  const stream = (await fetch(url)).body.pipeThrough(new DecompressionStream('gzip'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  return Float32Array.from(bytes.subarray(16, 16 + count * 784), (v) => v / 255);
}

self.onmessage = async ({ data: { steps } }) => {
  try {
    tf.wasm.setWasmPaths('/bench/tfjs-wasm/');
    await tf.setBackend('wasm');
    await tf.ready();
    const B = 128;
    const L = 2;
    const H = 512;
    const x = await images('/www/data/mnist-train-images.idx.gz', B * 8);
    const init = (i, o) => tf.variable(tf.randomUniform([i, o], -1 / Math.sqrt(i), 1 / Math.sqrt(i)));
    const bias = (i, o) => tf.variable(tf.randomUniform([o], -1 / Math.sqrt(i), 1 / Math.sqrt(i)));
    const p = { e0w: init(784, H), e0b: bias(784, H), e2w: init(H, 2 * L), e2b: bias(H, 2 * L),
      d0w: init(L, H), d0b: bias(L, H), d2w: init(H, 784), d2b: bias(H, 784) };
    const optimizer = tf.train.adam(1e-3);
    const loss = (xb) => {
      const stats = tf.relu(xb.matMul(p.e0w).add(p.e0b)).matMul(p.e2w).add(p.e2b);
      const mu = stats.slice([0, 0], [B, L]);
      const logVar = stats.slice([0, L], [B, L]);
      const z = mu.add(tf.randomNormal([B, L]).mul(logVar.mul(0.5).exp()));
      const logits = tf.relu(z.matMul(p.d0w).add(p.d0b)).matMul(p.d2w).add(p.d2b);
      const bce = tf.relu(logits).sub(logits.mul(xb)).add(tf.log1p(tf.exp(tf.neg(tf.abs(logits))))).sum(1);
      const kl = logVar.add(1).sub(mu.square()).sub(logVar.exp()).sum(1).mul(-0.5);
      return bce.add(kl).mean();
    };
    const ms = [];
    for (let i = 0; i < steps + 3; i++) {
      const xb = tf.tensor2d(x.subarray((i % 8) * B * 784, ((i % 8) + 1) * B * 784), [B, 784]);
      const t0 = performance.now();
      const value = optimizer.minimize(() => loss(xb), true);
      await value.data();
      value.dispose();
      xb.dispose();
      if (i >= 3) ms.push(performance.now() - t0);
    }
    self.postMessage({ stepMs: ms, backend: tf.getBackend() });
  } catch (err) {
    self.postMessage({ error: err.message ?? String(err) });
  }
};

// (c) TensorFlow.js: the identical model and step (batch 128, Adam lr 1e-3, BCE from logits summed
// over pixels + KL, mean over the batch) with the wasm backend (SIMD), in a worker. The model is the
// seed's 784-512-L MLP or the README's conv VAE (NHWC; k 4 stride 2 'same' = PyTorch's padding 1),
// as the message's `arch` and `latent` say. Where the wasm backend lacks a kernel the step needs
// (TF.js 4.22's has no Conv2DBackpropFilter, so it cannot train the conv net), the step runs on
// TF.js's plain JavaScript backend instead and the report says so.
importScripts('/bench/tfjs/tf.min.js', '/bench/tfjs-wasm/tf-backend-wasm.min.js');

async function images(url, count) {
  const stream = (await fetch(url)).body.pipeThrough(new DecompressionStream('gzip'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  return Float32Array.from(bytes.subarray(16, 16 + count * 784), (v) => v / 255);
}

/** PyTorch's default initialisation: U(−1/√fan_in, 1/√fan_in). */
const uniform = (shape, fanIn) => tf.variable(tf.randomUniform(shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn)));

/** The parameters and the logits of the model: `stats(x)` [B, 2L], `logits(z)` [B, 784]. */
function model(arch, L, B) {
  if (arch === 'conv') {
    const [c1, c2] = [32, 64];
    const p = {
      e0w: uniform([4, 4, 1, c1], 16), e0b: uniform([c1], 16), e2w: uniform([4, 4, c1, c2], 16 * c1), e2b: uniform([c2], 16 * c1),
      e5w: uniform([c2 * 49, 2 * L], c2 * 49), e5b: uniform([2 * L], c2 * 49), d0w: uniform([L, c2 * 49], L), d0b: uniform([c2 * 49], L),
      d3w: uniform([4, 4, c1, c2], 16 * c1), d3b: uniform([c1], 16 * c1), d5w: uniform([4, 4, 1, c1], 16), d5b: uniform([1], 16),
    };
    return {
      stats: (x) => {
        const h1 = tf.relu(tf.conv2d(x.reshape([B, 28, 28, 1]), p.e0w, 2, 'same').add(p.e0b));
        const h2 = tf.relu(tf.conv2d(h1, p.e2w, 2, 'same').add(p.e2b));
        return h2.transpose([0, 3, 1, 2]).reshape([B, c2 * 49]).matMul(p.e5w).add(p.e5b);
      },
      logits: (z) => {
        const h0 = tf.relu(z.matMul(p.d0w).add(p.d0b)).reshape([B, c2, 7, 7]).transpose([0, 2, 3, 1]);
        const h1 = tf.relu(tf.conv2dTranspose(h0, p.d3w, [B, 14, 14, c1], 2, 'same').add(p.d3b));
        return tf.conv2dTranspose(h1, p.d5w, [B, 28, 28, 1], 2, 'same').add(p.d5b).reshape([B, 784]);
      },
    };
  }
  const H = 512;
  const p = { e0w: uniform([784, H], 784), e0b: uniform([H], 784), e2w: uniform([H, 2 * L], H), e2b: uniform([2 * L], H),
    d0w: uniform([L, H], L), d0b: uniform([H], L), d2w: uniform([H, 784], H), d2b: uniform([784], H) };
  return {
    stats: (x) => tf.relu(x.matMul(p.e0w).add(p.e0b)).matMul(p.e2w).add(p.e2b),
    logits: (z) => tf.relu(z.matMul(p.d0w).add(p.d0b)).matMul(p.d2w).add(p.d2b),
  };
}

self.onmessage = async ({ data: { steps, arch = 'mlp', latent = 2 } }) => {
  tf.wasm.setWasmPaths('/bench/tfjs-wasm/');
  try {
    self.postMessage(await run('wasm', steps, arch, latent));
  } catch (err) {
    const message = err.message ?? String(err);
    if (!/not registered for backend 'wasm'/.test(message)) {
      self.postMessage({ error: message });
      return;
    }
    try {
      self.postMessage({ ...(await run('cpu', steps, arch, latent)), wasmError: message });
    } catch (e) {
      self.postMessage({ error: e.message ?? String(e) });
    }
  }
};

/** `steps` timed training steps (after 3 untimed) on TF.js backend `backend`; on the JavaScript
 *  backend, where a conv step takes tens of seconds, 2 timed steps after 1. */
async function run(backend, steps, arch, latent) {
  const slow = backend === 'cpu';
  const [warmup, timed] = slow ? [1, Math.min(steps, 2)] : [3, steps];
  await tf.setBackend(backend);
  await tf.ready();
  const B = 128;
  const L = latent;
  const x = await images('/www/data/mnist-train-images.idx.gz', B * 8);
  const net = model(arch, L, B);
  const optimizer = tf.train.adam(1e-3);
  const loss = (xb) => {
    const stats = net.stats(xb);
    const mu = stats.slice([0, 0], [B, L]);
    const logVar = stats.slice([0, L], [B, L]);
    const z = mu.add(tf.randomNormal([B, L]).mul(logVar.mul(0.5).exp()));
    const logits = net.logits(z);
    const bce = tf.relu(logits).sub(logits.mul(xb)).add(tf.log1p(tf.exp(tf.neg(tf.abs(logits))))).sum(1);
    const kl = logVar.add(1).sub(mu.square()).sub(logVar.exp()).sum(1).mul(-0.5);
    return bce.add(kl).mean();
  };
  const ms = [];
  const losses = [];
  for (let i = 0; i < timed + warmup; i++) {
    const xb = tf.tensor2d(x.subarray((i % 8) * B * 784, ((i % 8) + 1) * B * 784), [B, 784]);
    const t0 = performance.now();
    const value = optimizer.minimize(() => loss(xb), true);
    losses.push((await value.data())[0]);
    value.dispose();
    xb.dispose();
    if (i >= warmup) ms.push(performance.now() - t0);
  }
  return { stepMs: ms, backend: tf.getBackend(), firstLoss: losses[0], lastLoss: losses.at(-1) };
}

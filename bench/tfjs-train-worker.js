// (c) TensorFlow.js: the identical model and step (batch 128, Adam lr 1e-3, BCE from logits summed
// over pixels + KL, mean over the batch) with the wasm backend (SIMD), in a worker. The model is the
// seed's 784-512-L MLP or the README's conv VAE (NHWC; k 4 stride 2 'same' = PyTorch's padding 1),
// as the message's `arch` and `latent` say, for images of `channels` × `side` × `side` (MNIST's
// digits at 1 × 28 × 28; other shapes train on random images, which time the same). Where the wasm backend lacks a kernel the step needs
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

/** The parameters and the logits of the model: `stats(x)` [B, 2L], `logits(z)` [B, P] (P = C·S·S). */
function model(arch, L, B, C, S) {
  const P = C * S * S;
  const q = S / 4;
  const f = q * q; // feature positions after the two stride-2 convolutions
  if (arch === 'conv') {
    const [c1, c2] = [32, 64];
    const p = {
      e0w: uniform([4, 4, C, c1], 16 * C), e0b: uniform([c1], 16 * C), e2w: uniform([4, 4, c1, c2], 16 * c1), e2b: uniform([c2], 16 * c1),
      e5w: uniform([c2 * f, 2 * L], c2 * f), e5b: uniform([2 * L], c2 * f), d0w: uniform([L, c2 * f], L), d0b: uniform([c2 * f], L),
      d3w: uniform([4, 4, c1, c2], 16 * c1), d3b: uniform([c1], 16 * c1), d5w: uniform([4, 4, C, c1], 16 * C), d5b: uniform([C], 16 * C),
    };
    return {
      stats: (x) => {
        const h1 = tf.relu(tf.conv2d(x.reshape([B, C, S, S]).transpose([0, 2, 3, 1]), p.e0w, 2, 'same').add(p.e0b));
        const h2 = tf.relu(tf.conv2d(h1, p.e2w, 2, 'same').add(p.e2b));
        return h2.transpose([0, 3, 1, 2]).reshape([B, c2 * f]).matMul(p.e5w).add(p.e5b);
      },
      logits: (z) => {
        const h0 = tf.relu(z.matMul(p.d0w).add(p.d0b)).reshape([B, c2, q, q]).transpose([0, 2, 3, 1]);
        const h1 = tf.relu(tf.conv2dTranspose(h0, p.d3w, [B, 2 * q, 2 * q, c1], 2, 'same').add(p.d3b));
        return tf.conv2dTranspose(h1, p.d5w, [B, S, S, C], 2, 'same').add(p.d5b).transpose([0, 3, 1, 2]).reshape([B, P]);
      },
    };
  }
  const H = 512;
  const p = { e0w: uniform([P, H], P), e0b: uniform([H], P), e2w: uniform([H, 2 * L], H), e2b: uniform([2 * L], H),
    d0w: uniform([L, H], L), d0b: uniform([H], L), d2w: uniform([H, P], H), d2b: uniform([P], H) };
  return {
    stats: (x) => tf.relu(x.matMul(p.e0w).add(p.e0b)).matMul(p.e2w).add(p.e2b),
    logits: (z) => tf.relu(z.matMul(p.d0w).add(p.d0b)).matMul(p.d2w).add(p.d2b),
  };
}

self.onmessage = async ({ data: { steps, arch = 'mlp', latent = 2, channels = 1, side = 28 } }) => {
  tf.wasm.setWasmPaths('/bench/tfjs-wasm/');
  const shape = [channels, side];
  try {
    self.postMessage(await run('wasm', steps, arch, latent, shape));
  } catch (err) {
    const message = err.message ?? String(err);
    if (!/not registered for backend 'wasm'/.test(message)) {
      self.postMessage({ error: message });
      return;
    }
    try {
      self.postMessage({ ...(await run('cpu', steps, arch, latent, shape)), wasmError: message });
    } catch (e) {
      self.postMessage({ error: e.message ?? String(e) });
    }
  }
};

/** `steps` timed training steps (after 3 untimed) on TF.js backend `backend`; on the JavaScript
 *  backend, where a conv step takes tens of seconds, 2 timed steps after 1. */
async function run(backend, steps, arch, latent, [C, S]) {
  const slow = backend === 'cpu';
  const [warmup, timed] = slow ? [1, Math.min(steps, 2)] : [3, steps];
  await tf.setBackend(backend);
  await tf.ready();
  const B = 128;
  const L = latent;
  const P = C * S * S;
  const x = C === 1 && S === 28 ? await images('/www/data/mnist-train-images.idx.gz', B * 8) : Float32Array.from({ length: B * 8 * P }, Math.random);
  const net = model(arch, L, B, C, S);
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
    const xb = tf.tensor2d(x.subarray((i % 8) * B * P, ((i % 8) + 1) * B * P), [B, P]);
    const t0 = performance.now();
    const value = optimizer.minimize(() => loss(xb), true);
    losses.push((await value.data())[0]);
    value.dispose();
    xb.dispose();
    if (i >= warmup) ms.push(performance.now() - t0);
  }
  return { stepMs: ms, backend: tf.getBackend(), firstLoss: losses[0], lastLoss: losses.at(-1) };
}

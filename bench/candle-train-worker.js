// (c) ours: one training step (batch 128, 784-512-2, Adam) in a worker with its own wasm instance,
// exactly the app's Trainer, on real MNIST.
import init, { ImageSet, Trainer } from '/pkg/vae.js';
import { fetchBytes } from '/www/fetch.js';

self.onmessage = async ({ data: { steps } }) => {
  try {
    const exports = await init();
    const train = new ImageSet(await fetchBytes('/www/data/mnist-train-images.idx.gz'), await fetchBytes('/www/data/mnist-train-labels.idx.gz'));
    const test = new ImageSet(await fetchBytes('/www/data/mnist-t10k-images.idx.gz'), await fetchBytes('/www/data/mnist-t10k-labels.idx.gz'));
    const trainer = new Trainer(train, 60000, test, 1000, 'mnist', 2, 512, 1, 1e-3, 128, 0n, undefined);
    const ms = [];
    for (let i = 0; i < steps + 5; i++) {
      const t0 = performance.now();
      trainer.step();
      if (i >= 5) ms.push(performance.now() - t0);
    }
    self.postMessage({ stepMs: ms, memoryBytes: exports.memory.buffer.byteLength });
  } catch (err) {
    self.postMessage({ error: err.message ?? String(err) });
  }
};

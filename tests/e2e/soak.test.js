// A 60-second memory soak (the documented 10-minute one is `node tests/e2e/soak.js 600`): while
// the worker trains and the main thread redraws the grid on every frame, neither wasm memory nor
// the JS heap grows by 10% or more after warm-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak } from './soak.js';

test('60 s of training plus continuous grid redraws: memory growth under 10% after warm-up', { timeout: 180000 }, async () => {
  const { samples, growth, problems } = await runSoak(60);
  console.log(JSON.stringify({ growth, first: samples[0], last: samples[samples.length - 1] }));
  assert.ok(growth.gridsPainted > 50, `the grid kept being redrawn (${growth.gridsPainted} paints after warm-up)`);
  for (const key of ['jsHeap', 'mainWasm', 'workerWasm']) {
    assert.ok(growth[key] < 0.1, `${key} grew by ${(100 * growth[key]).toFixed(1)}%`);
  }
  assert.deepEqual(problems, []);
});

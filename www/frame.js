// Coalesces redraws into animation frames: each keyed task runs at most once per frame, in
// priority order (lower first), so the drawing's reconstruction always goes before the grid. A
// frame stops taking tasks after FRAME_BUDGET_MS; the rest wait for the next frame.
import { showError } from './status.js';

const pending = new Map();
let requested = false;
const FRAME_BUDGET_MS = 12;

/** Runs `fn` in the next animation frame (once, however often it is asked for). */
export function onNextFrame(key, fn, priority = 0) {
  pending.set(key, { fn, priority });
  if (!requested) {
    requested = true;
    requestAnimationFrame(runFrame);
  }
}

function runFrame() {
  requested = false;
  const start = performance.now();
  const tasks = [...pending.entries()].sort((a, b) => a[1].priority - b[1].priority);
  for (const [key, task] of tasks) {
    if (performance.now() - start > FRAME_BUDGET_MS) break; // the first task always runs
    if (pending.get(key) === task) pending.delete(key); // not re-queued by an earlier task
    try {
      task.fn();
    } catch (err) {
      showError(err);
    }
  }
  if (pending.size && !requested) {
    requested = true;
    requestAnimationFrame(runFrame);
  }
}

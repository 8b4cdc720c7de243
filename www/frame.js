// Coalesces redraws into animation frames: each keyed task runs at most once per frame, in
// priority order (lower first), so the drawing's reconstruction always goes before the grid.
import { showError } from './status.js';

const pending = new Map();
let requested = false;

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
  const tasks = [...pending.values()].sort((a, b) => a.priority - b.priority);
  pending.clear();
  for (const task of tasks) {
    try {
      task.fn();
    } catch (err) {
      showError(err);
    }
  }
}

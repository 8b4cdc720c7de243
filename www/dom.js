// Building DOM from data. Text from files a user may load goes in as text nodes, never as markup.

/** The element with id `id`. */
export const $ = (id) => document.getElementById(id);

/**
 * Builds an element from [tag, ...children]; nodes go in as they are, arrays become nested
 * elements and anything else a text node.
 */
export function h(tag, ...children) {
  const el = document.createElement(tag);
  el.append(...children.map((c) => (c instanceof Node ? c : Array.isArray(c) ? h(...c) : String(c))));
  return el;
}

/** Fills `container` with `count` pixel canvases (reusing those already there); painting sizes them to the model's images. */
export function pixelCanvases(container, count, label = (i) => `image ${i}`) {
  while (container.children.length > count) container.lastChild.remove();
  while (container.children.length < count) {
    const canvas = document.createElement('canvas');
    Object.assign(canvas, { width: 1, height: 1, className: 'pixels' });
    container.append(canvas);
  }
  [...container.children].forEach((c, i) => c.setAttribute('aria-label', label(i)));
  return [...container.children];
}

/** The integer in `input`, clamped to [min, max] (written back), or `fallback` when blank. */
export function intFrom(input, min, max, fallback = min) {
  const v = Math.round(Number(input.value));
  if (input.value === '' || !Number.isFinite(v)) return fallback;
  const clamped = Math.max(min, Math.min(max, v));
  if (clamped !== v) input.value = String(clamped);
  return clamped;
}

/** Calls `onShow()` whenever `el` comes within `margin` of the viewport; returns `isVisible()`. */
export function watchVisibility(el, onShow, margin = '300px') {
  let visible = false;
  new IntersectionObserver(([entry]) => {
    visible = entry.isIntersecting;
    if (visible) onShow();
  }, { rootMargin: margin }).observe(el);
  return () => visible;
}

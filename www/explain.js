// A short account of what the loaded model computes, written from its sizes and metadata.
// Names and metadata come from files the user may load, so they go in as text (see dom.js).

import { h } from './dom.js';

export function explainModel(el, model, name) {
  const L = model.latentSize;
  const H = model.hiddenSize;
  let meta = {};
  try {
    meta = JSON.parse(model.metadata);
  } catch {
    meta = {};
  }
  const score = Number.isFinite(Number(meta.test_neg_elbo))
    ? [` On the 10,000 test images its negative ELBO is `, ['b', `${Number(meta.test_neg_elbo).toFixed(1)} nats`],
      ` = reconstruction ${Number(meta.test_recon).toFixed(1)} + KL ${Number(meta.test_kl).toFixed(1)}`,
      ` (${meta.epochs ?? '?'} epochs, β = ${meta.beta ?? '?'}).`]
    : [];
  const { channels, height, width } = model;
  const image = `a ${width}×${height}${channels === 3 ? ' colour' : ''} image (${model.pixels} values)`;
  const [down, up] = model.arch === 'conv'
    ? ['two stride-2 convolutions (32 then 64 channels, each halving the sides) and a linear layer', 'a linear layer and two stride-2 transposed convolutions (each doubling the sides)']
    : [`${H} ReLU units`, `${H} ReLU units`];
  el.replaceChildren(
    h('p', ['b', name], ': the ', ['b', 'encoder'], ` maps ${image} through ${down} to `,
      `${2 * L} numbers, the mean μ and log-variance log σ² of a Gaussian q(z|x) over a ${L}-dimensional latent z. The `,
      ['b', 'reparameterisation'], ' z = μ + ε·σ, ε ~ N(0, I), makes sampling differentiable. The ', ['b', 'decoder'],
      ` maps z through ${up} to ${model.pixels} pixel probabilities (sigmoid).`),
    h('p', 'Training maximises the ', ['b', 'ELBO'], ' = E[log p(x|z)] − KL(q(z|x) ‖ N(0, I)): reconstruct well ',
      '(binary cross-entropy over pixels) while keeping codes close to the prior, so every point of the latent ',
      'plane decodes to something digit-like.', ...score, ' All of it runs in this tab, in Rust compiled to WebAssembly.'),
  );
}

// The shipped models and datasets, by relative URL so the app works under any sub-path.

/** Models for the explorer; each has a test-set table of anomaly scores (`<name>.anomaly.json`). */
export const MODELS = [
  { file: 'mnist-2d.safetensors', label: 'MNIST · 2-D latent', dataset: 'mnist' },
  { file: 'mnist-16d.safetensors', label: 'MNIST · 16-D latent', dataset: 'mnist' },
  { file: 'fashion-2d.safetensors', label: 'Fashion-MNIST · 2-D latent', dataset: 'fashion' },
  { file: 'fashion-16d.safetensors', label: 'Fashion-MNIST · 16-D latent', dataset: 'fashion' },
  { file: 'mnist-2d-beta0.5.safetensors', label: 'MNIST · 2-D, β = 0.5', dataset: 'mnist' },
  { file: 'mnist-2d-beta4.safetensors', label: 'MNIST · 2-D, β = 4', dataset: 'mnist' },
  { file: 'conv-mnist-2d.safetensors', label: 'MNIST · conv, 2-D latent', dataset: 'mnist' },
  { file: 'conv-mnist-16d.safetensors', label: 'MNIST · conv, 16-D latent', dataset: 'mnist' },
  { file: 'conv-fashion-16d.safetensors', label: 'Fashion-MNIST · conv, 16-D latent', dataset: 'fashion' },
].map((m) => ({ ...m, shipped: true }));

/** The same 2-D MNIST model trained with three KL weights, for the blur panel. */
export const BETA_MODELS = [
  { file: 'mnist-2d-beta0.5.safetensors', key: 'beta0.5', title: 'β = 0.5' },
  { file: 'mnist-2d.safetensors', key: 'beta1', title: 'β = 1' },
  { file: 'mnist-2d-beta4.safetensors', key: 'beta4', title: 'β = 4' },
];

/** The MLP and the conv net at the same latent size on the same data, for the blur panel. */
export const ARCH_MODELS = [
  { file: 'mnist-16d.safetensors', key: 'mlp', title: 'MLP, 16-D' },
  { file: 'conv-mnist-16d.safetensors', key: 'conv', title: 'conv, 16-D' },
];

export const CLASS_NAMES = {
  mnist: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  fashion: ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Boot'],
};

export const modelUrl = (file) => new URL(`models/${file}`, import.meta.url);

/** The shipped quantile table of a model's anomaly scores on its test set. */
export const anomalyTableUrl = (file) => new URL(`models/${file.replace(/\.safetensors$/, '')}.anomaly.json`, import.meta.url);

/** The test split's IDX files (gzip) for `dataset`. */
export const testSetUrls = (dataset) => ({
  images: new URL(`data/${dataset}-t10k-images.idx.gz`, import.meta.url),
  labels: new URL(`data/${dataset}-t10k-labels.idx.gz`, import.meta.url),
});

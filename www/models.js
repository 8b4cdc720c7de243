// The shipped models and datasets, by relative URL so the app works under any sub-path.

export const MODELS = [
  { file: 'mnist-2d.safetensors', label: 'MNIST · 2-D latent', dataset: 'mnist' },
  { file: 'mnist-16d.safetensors', label: 'MNIST · 16-D latent', dataset: 'mnist' },
];

export const CLASS_NAMES = {
  mnist: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  fashion: ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Boot'],
};

export const modelUrl = (file) => new URL(`models/${file}`, import.meta.url);

/** The test split's IDX files (gzip) for `dataset`. */
export const testSetUrls = (dataset) => ({
  images: new URL(`data/${dataset}-t10k-images.idx.gz`, import.meta.url),
  labels: new URL(`data/${dataset}-t10k-labels.idx.gz`, import.meta.url),
});

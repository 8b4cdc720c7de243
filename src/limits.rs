//! Every size a user can reach, defined once: the CLI, the wasm layer, the weights loader and the
//! page (through `limits()` in the wasm bindings) all check against these.

/// Latent dimensions L: 1..=MAX_LATENT.
pub const MAX_LATENT: usize = 1024;
/// Hidden width H of the MLP: 1..=MAX_HIDDEN.
pub const MAX_HIDDEN: usize = 8192;
/// Label classes of a conditional VAE: 0 for a plain one, else 1..=MAX_CLASSES.
pub const MAX_CLASSES: usize = 1000;
/// Image channels: 1 (grey) to MAX_CHANNELS (3 for colour).
pub const MAX_CHANNELS: usize = 4;
/// Image side in pixels.
pub const MAX_IMAGE_SIDE: usize = 256;
/// Feature channels c1, c2 of a convolutional layer.
pub const MAX_CONV_CHANNELS: usize = 512;
/// Images per training step.
pub const MAX_BATCH: usize = 60_000;
/// Largest JSON header a `.safetensors` file may have (ours are under 2 KB; the format allows 100 MB).
pub const MAX_HEADER_BYTES: u64 = 1 << 20;
/// Most parameters a weights file or a new model may have (1 GB of F32).
pub const MAX_PARAMETERS: usize = 256 << 20;
/// Most pixels of a canvas the wasm layer paints in one call (4096 × 4096).
pub const MAX_CANVAS_PIXELS: usize = 1 << 24;
/// Sides a model for your own pictures can have (`vae train --images --size`, the page's loader).
pub const PICTURE_SIZES: [usize; 5] = [16, 28, 32, 48, 64];
/// Largest side of a picture that is decoded (a larger one is refused with its size).
pub const MAX_PICTURE_SIDE: usize = 16_384;
/// Most pixels of a decoded picture (32 Mi: a 32-megapixel photo; 128 MiB as RGBA).
pub const MAX_PICTURE_PIXELS: usize = 1 << 25;
/// Most files a `.zip` of pictures may list.
pub const MAX_ARCHIVE_ENTRIES: usize = 100_000;
/// Most bytes one file unpacked from a `.zip` may have (a zip bomb stops here).
pub const MAX_ARCHIVE_FILE_BYTES: u64 = 64 << 20;
/// Most bytes all the files unpacked from one `.zip` may have together.
pub const MAX_ARCHIVE_BYTES: u64 = 2 << 30;

//! `--images DIR`: a folder of your own pictures as a dataset, with the page's preprocessing
//! ([`vae::picture::Preprocess`]). Labels are the folders at the first level, sorted by name (a
//! picture deeper down belongs to its first-level folder); a folder with no subfolders is one
//! unlabelled class. Every file that cannot be used is skipped with its reason, and the rest load.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{ImageFormat, ImageReader};
use vae::data::Dataset;
use vae::limits;
use vae::picture::{self, Fit, Preprocess};

use crate::CliResult;

/// Folders deeper than this below DIR are not searched.
const MAX_DEPTH: usize = 16;

/// How pictures become images: the options of `vae train --images` and `vae eval --images`.
#[derive(clap::Args, Clone, Debug)]
pub struct PictureArgs {
    /// Train or evaluate on this folder of pictures (PNG, JPEG, WebP, GIF, BMP) instead of
    /// --dataset; its first-level folders are the labels.
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// Side of the square images the pictures become (train; eval takes the model's).
    #[arg(long, default_value_t = 28, value_parser = picture_size)]
    pub size: usize,
    /// Keep colour (RGB) instead of grey (train; eval takes the model's).
    #[arg(long)]
    pub colour: bool,
    /// How a picture that is not square becomes one.
    #[arg(long, value_enum, default_value = "crop")]
    pub fit: FitName,
    /// The colour transparent pixels and padding become, as RRGGBB hex.
    #[arg(long, default_value = "ffffff", value_parser = hex_colour)]
    pub background: [u8; 3],
    /// Invert (v → 255 − v), so dark ink on light paper looks like MNIST.
    #[arg(long)]
    pub invert: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum FitName {
    /// The largest centred square.
    Crop,
    /// The whole picture on a square of the background colour.
    Pad,
}

impl PictureArgs {
    /// The preprocessing, at `size` and `colour` (a model's, for eval).
    pub fn preprocess(&self, size: usize, colour: bool) -> CliResult<Preprocess> {
        let fit = match self.fit {
            FitName::Crop => Fit::Crop,
            FitName::Pad => Fit::Pad,
        };
        Ok(Preprocess::new(size, colour, fit, self.background, self.invert)?)
    }

    /// The options as weights-file metadata.
    pub fn metadata(&self, prep: &Preprocess) -> Vec<(String, String)> {
        let [r, g, b] = prep.background;
        vec![
            ("fit".into(), prep.fit.name().to_string()),
            ("background".into(), format!("{r:02x}{g:02x}{b:02x}")),
            ("invert".into(), self.invert.to_string()),
        ]
    }
}

fn picture_size(s: &str) -> Result<usize, String> {
    let size: usize = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if limits::PICTURE_SIZES.contains(&size) {
        Ok(size)
    } else {
        Err(format!("the size must be one of {:?}", limits::PICTURE_SIZES))
    }
}

fn hex_colour(s: &str) -> Result<[u8; 3], String> {
    picture::parse_colour(s).map_err(vae::error_message)
}

/// The pictures of a folder as a dataset.
pub struct PictureSet {
    pub data: Dataset,
    /// Label names, by label index (empty for one unlabelled class).
    pub labels: Vec<String>,
    /// One reason per file that was skipped: "notes.txt is not an image".
    pub skipped: Vec<String>,
}

impl PictureSet {
    /// "3 files skipped: a is …; b is …" or nothing.
    pub fn skipped_line(&self) -> Option<String> {
        picture::skipped_line(&self.skipped)
    }
}

/// Loads the pictures under `dir` as a model of `config` reads them (its side and channels, the
/// rest of the preprocessing from `args`); reports skipped files on stderr.
pub fn load_for(dir: &Path, args: &PictureArgs, config: vae::VaeConfig) -> CliResult<PictureSet> {
    let shape = config.shape;
    if shape.height != shape.width || !matches!(shape.channels, 1 | 3) {
        return Err(format!("a model of {shape} images cannot read pictures: they become square grey or RGB images").into());
    }
    let prep = args.preprocess(shape.height, shape.channels == 3)?;
    let set = load(dir, &prep)?;
    if let Some(line) = set.skipped_line() {
        eprintln!("{line}");
    }
    if config.classes > 0 && set.labels.len() != config.classes {
        return Err(format!("the model has {} labels but {} has {} label folders", config.classes, dir.display(), set.labels.len()).into());
    }
    Ok(set)
}

/// Loads every picture under `dir` with `prep`.
pub fn load(dir: &Path, prep: &Preprocess) -> CliResult<PictureSet> {
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", dir.display()).into());
    }
    let mut files = Vec::new();
    collect(dir, 0, &mut files).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    files.sort();
    // The labels: the first-level folders.
    let relative: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(dir).unwrap_or(f).components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
        .collect();
    let (labels, label_of) = picture::label_folders(&relative).map_err(|e| format!("{}: {}", dir.display(), vae::error_message(e)))?;
    let (mut pixels, mut label_ids, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for ((file, name), label) in files.iter().zip(&relative).zip(label_of) {
        let Some(label) = label else {
            skipped.push(format!("{name} is outside the label folders"));
            continue;
        };
        match read_picture(file, prep) {
            Ok(image) => {
                pixels.extend_from_slice(&image);
                label_ids.push(label);
            }
            Err(reason) => skipped.push(format!("{name} {reason}")),
        }
    }
    if label_ids.is_empty() {
        let why =
            picture::skipped_line(&skipped).map_or_else(|| "has no files".to_string(), |line| format!("has no usable picture ({line})"));
        return Err(format!("{} {why}", dir.display()).into());
    }
    let data = Dataset::from_pixels(prep.shape(), pixels, label_ids)?;
    Ok(PictureSet { data, labels, skipped })
}

fn collect(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() && depth < MAX_DEPTH {
            collect(&path, depth + 1, files)?;
        } else if kind.is_file() && !entry.file_name().to_string_lossy().starts_with('.') {
            files.push(path);
        }
    }
    Ok(())
}

/// One picture through `prep`, or why it cannot be used ("is not an image", …).
fn read_picture(path: &Path, prep: &Preprocess) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    if bytes.is_empty() {
        return Err("is empty".into());
    }
    let reader = ImageReader::new(Cursor::new(&bytes)).with_guessed_format().map_err(|e| format!("cannot be read: {e}"))?;
    match reader.format() {
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP | ImageFormat::Gif | ImageFormat::Bmp) => {}
        Some(other) => return Err(format!("is a {other:?} file, not a PNG, JPEG, WebP, GIF or BMP picture")),
        None => return Err("is not an image".into()),
    }
    let (width, height) = reader.into_dimensions().map_err(|e| format!("is corrupt: {}", vae::error_message(e)))?;
    let (w, h) = (width as usize, height as usize);
    if let Some(reason) = picture::size_refusal(w, h) {
        return Err(reason);
    }
    let mut reader = ImageReader::new(Cursor::new(&bytes)).with_guessed_format().map_err(|e| format!("cannot be read: {e}"))?;
    let mut bounds = image::Limits::default();
    bounds.max_image_width = Some(width);
    bounds.max_image_height = Some(height);
    bounds.max_alloc = Some(1 << 30);
    reader.limits(bounds);
    // GIF: the first frame.
    let decoded = reader.decode().map_err(|e| format!("is corrupt or truncated: {}", vae::error_message(e)))?;
    let rgba = decoded.to_rgba8();
    prep.apply(rgba.as_raw(), w, h).map_err(vae::error_message)
}

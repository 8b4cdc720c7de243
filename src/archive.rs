//! A `.zip` of pictures, read safely (the `zip` crate does the format): only files whose names
//! stay inside the archive are listed (`../x.png` and absolute paths are skipped with their
//! reason), and unpacking is bounded per file and in total ([`limits::MAX_ARCHIVE_FILE_BYTES`],
//! [`limits::MAX_ARCHIVE_BYTES`]), whatever sizes the archive claims, so a zip bomb stops early.

use std::io::{Cursor, Read};

use candle_core::{bail, Result};
use zip::ZipArchive;

use crate::limits;

/// An opened archive: its usable file names, in archive order, and what was skipped.
pub struct Archive {
    zip: ZipArchive<Cursor<Vec<u8>>>,
    /// (index in the zip, the file's path inside the archive with `/` separators).
    files: Vec<(usize, String)>,
    /// One reason per entry that will not be read: "../evil.png leaves the archive".
    pub skipped: Vec<String>,
    /// Bytes unpacked so far.
    unpacked: u64,
}

impl Archive {
    /// Opens `bytes` as a zip archive; fails only when it is not one (or lists too many files).
    pub fn open(bytes: Vec<u8>) -> Result<Self> {
        let mut zip = match ZipArchive::new(Cursor::new(bytes)) {
            Ok(zip) => zip,
            Err(e) => bail!("not a readable zip archive ({e})"),
        };
        if zip.len() > limits::MAX_ARCHIVE_ENTRIES {
            bail!("the archive lists {} files, more than {}", zip.len(), limits::MAX_ARCHIVE_ENTRIES);
        }
        let (mut files, mut skipped) = (Vec::new(), Vec::new());
        for i in 0..zip.len() {
            let Ok(entry) = zip.by_index_raw(i) else { continue };
            let raw = entry.name().map(|n| n.to_string()).unwrap_or_default();
            if entry.is_dir() || is_hidden(&raw) {
                continue; // folders, and what archivers add (__MACOSX/, .DS_Store)
            }
            // The library's check (no absolute paths, none that climb out), and no `..` at all.
            match entry.enclosed_name() {
                Some(path) if !raw.replace('\\', "/").split('/').any(|part| part == "..") => {
                    files.push((i, path.to_string_lossy().replace('\\', "/")))
                }
                _ => skipped.push(format!("{raw} has a path outside the archive")),
            }
        }
        Ok(Self { zip, files, skipped, unpacked: 0 })
    }

    /// The number of files listed.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The path of file `i` inside the archive.
    pub fn name(&self, i: usize) -> &str {
        self.files.get(i).map_or("", |(_, name)| name)
    }

    /// Unpacks file `i`, or says why it cannot be ("is larger than …", "is corrupt …").
    pub fn read(&mut self, i: usize) -> std::result::Result<Vec<u8>, String> {
        let Some(&(index, _)) = self.files.get(i) else { return Err(format!("no file {i} in the archive")) };
        let budget = limits::MAX_ARCHIVE_FILE_BYTES.min(limits::MAX_ARCHIVE_BYTES.saturating_sub(self.unpacked));
        if budget == 0 {
            return Err(format!("was not unpacked: the archive's files already reached {} MiB", limits::MAX_ARCHIVE_BYTES >> 20));
        }
        let mut file = self.zip.by_index(index).map_err(|e| format!("cannot be unpacked ({e})"))?;
        let too_big = || format!("is larger than the {} MiB a file may unpack to", limits::MAX_ARCHIVE_FILE_BYTES >> 20);
        if file.size() > limits::MAX_ARCHIVE_FILE_BYTES {
            return Err(too_big());
        }
        let mut bytes = Vec::with_capacity(file.size().min(budget) as usize);
        // Read one byte past the budget: an archive that understates a size is caught here.
        (&mut file).take(budget + 1).read_to_end(&mut bytes).map_err(|e| format!("is corrupt ({e})"))?;
        self.unpacked += bytes.len() as u64;
        if bytes.len() as u64 > budget {
            return Err(if budget == limits::MAX_ARCHIVE_FILE_BYTES {
                too_big()
            } else {
                format!("was not unpacked: the archive's files reached {} MiB", limits::MAX_ARCHIVE_BYTES >> 20)
            });
        }
        Ok(bytes)
    }
}

/// Files and folders whose name starts with a dot (not `..`, which is refused), and macOS's
/// resource forks.
fn is_hidden(path: &str) -> bool {
    path.split('/').any(|part| (part.starts_with('.') && part != "..") || part == "__MACOSX")
}

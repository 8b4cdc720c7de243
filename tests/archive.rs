//! `.zip` archives of pictures (src/archive.rs): paths that leave the archive are refused with
//! their reason, hidden files are ignored, and unpacking stops at the bound whatever the archive
//! claims (a zip bomb).

use std::io::{Cursor, Write};

use vae::archive::Archive;
use vae::limits;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).large_file(true);
    for (name, bytes) in files {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn lists_files_inside_the_archive_and_refuses_the_rest() {
    let bytes = zip_of(&[
        ("set/cats/a.png", b"cat".to_vec()),
        ("set/dogs/b.png", b"dog".to_vec()),
        ("../escape.png", b"x".to_vec()),
        ("set/../../up.png", b"x".to_vec()),
        ("__MACOSX/set/._a.png", b"x".to_vec()),
        ("set/.DS_Store", b"x".to_vec()),
    ]);
    let mut archive = Archive::open(bytes).unwrap();
    let names: Vec<&str> = (0..archive.len()).map(|i| archive.name(i)).collect();
    assert_eq!(names, ["set/cats/a.png", "set/dogs/b.png"]);
    assert_eq!(archive.skipped.len(), 2, "{:?}", archive.skipped);
    assert!(archive.skipped.iter().all(|s| s.ends_with("has a path outside the archive")), "{:?}", archive.skipped);
    assert_eq!(archive.read(0).unwrap(), b"cat");
    assert_eq!(archive.read(1).unwrap(), b"dog");
}

#[test]
fn a_zip_bomb_stops_at_the_bound() {
    // 80 MiB of zeros deflate to about 80 KB; the bound is 64 MiB per file.
    let big = vec![0u8; (limits::MAX_ARCHIVE_FILE_BYTES + (16 << 20)) as usize];
    let bytes = zip_of(&[("ok.png", b"fine".to_vec()), ("bomb.png", big)]);
    assert!(bytes.len() < 1 << 20);
    let mut archive = Archive::open(bytes).unwrap();
    assert_eq!(archive.read(0).unwrap(), b"fine");
    let err = archive.read(1).unwrap_err();
    assert!(err.starts_with("is larger than the 64 MiB"), "{err}");
}

#[test]
fn not_a_zip_is_one_clear_error() {
    let err = Archive::open(b"PK but not really".to_vec()).err().unwrap();
    assert!(vae::error_message(err).starts_with("not a readable zip archive"));
}

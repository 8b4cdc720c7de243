//! The `vae` command line on bad input: one line on stderr, a non-zero exit, no panic, whatever
//! `RUST_BACKTRACE` says (candle appends a backtrace to its errors when it is set).

use std::process::Command;

fn vae(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vae")).args(args).env("RUST_BACKTRACE", "1").output().expect("vae runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("vae-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Every malformed weights file gives one `error:` line naming the problem, even with RUST_BACKTRACE=1.
#[test]
fn malformed_weights_files_print_one_line() {
    let header = |json: &str| {
        let mut b = (json.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(json.as_bytes());
        b
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("tiny", vec![1, 2, 3]),
        ("text", b"this is not a weights file at all".to_vec()),
        ("truncated-header", header("{\"encoder.0.weight\": {\"dtype\": \"F32\"")),
        ("huge-header", u64::MAX.to_le_bytes().to_vec()),
        (
            "renamed",
            header("{\"encoder.9.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}").into_iter().chain([0; 4]).collect(),
        ),
    ];
    for (name, bytes) in cases {
        let path = temp_file(name, &bytes);
        let (ok, stderr) = vae(&["eval", "--weights", path.to_str().unwrap()]);
        std::fs::remove_file(&path).ok();
        assert!(!ok, "{name}: must fail");
        assert_eq!(stderr.lines().count(), 1, "{name}: one line, got:\n{stderr}");
        assert!(stderr.starts_with("error: "), "{name}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{name}: {stderr}");
    }
}

/// Sizes a user can type are checked before anything runs: no panic for zero steps or batch.
#[test]
fn out_of_range_sizes_are_refused() {
    for args in [
        &["bench", "--steps", "0"][..],
        &["bench", "--batch", "0"],
        &["bench", "--latent", "0"],
        &["train", "--latent", "0", "--out", "/dev/null"],
        &["train", "--batch", "0", "--out", "/dev/null"],
        &["bench", "--arch", "transformer"],
    ] {
        let (ok, stderr) = vae(args);
        assert!(!ok, "{args:?} must fail");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.contains("error"), "{args:?}: {stderr}");
    }
}

//! `vae serve`: serves only the app's files (no `..`, encoded dots or slashes, backslashes,
//! absolute paths or symlinks out of the tree), sends `nosniff` and `application/wasm`, and answers
//! a burst of 1,000 concurrent requests without a failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Duration;

const SECRET: &str = "TOP-SECRET-OUTSIDE-THE-APP";

struct Server {
    child: Child,
    addr: String,
    _dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A tree `<tmp>/app/{index.html, www/app.js, pkg/vae_bg.wasm, notes.txt}` next to `<tmp>/secret.txt`,
/// with symlinks `www/leak` → ../../secret.txt (out) and `www/alias.js` → app.js (in).
fn start() -> Server {
    let dir = std::env::temp_dir().join(format!("vae-serve-test-{}-{:?}", std::process::id(), std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    let app = dir.join("app");
    for sub in ["www", "pkg"] {
        std::fs::create_dir_all(app.join(sub)).unwrap();
    }
    std::fs::write(dir.join("secret.txt"), SECRET).unwrap();
    std::fs::write(app.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::write(app.join("notes.txt"), SECRET).unwrap(); // inside the root but not an app file
    std::fs::write(app.join("www/app.js"), "console.log('app');").unwrap();
    std::fs::write(app.join("pkg/vae_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), app.join("www/leak")).unwrap();
    std::os::unix::fs::symlink("app.js", app.join("www/alias.js")).unwrap();

    let mut child =
        Command::new(env!("CARGO_BIN_EXE_vae")).args(["serve", "--port", "0", "--root"]).arg(&app).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.split("http://").nth(1).expect("a URL on stdout").trim().trim_end_matches('/').to_string();
    assert!(addr.starts_with("127.0.0.1:"), "binds loopback by default: {line}");
    Server { child, addr, _dir: TempDir(dir) }
}

/// Sends a raw GET (the path exactly as given) and returns (status, headers, body).
fn get(addr: &str, path: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[test]
fn serves_the_app_files_with_the_right_headers() {
    let server = start();
    let (status, head, body) = get(&server.addr, "/");
    assert_eq!(status, 200);
    assert!(body.contains("<title>app</title>"));
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    let (status, head, _) = get(&server.addr, "/pkg/vae_bg.wasm");
    assert_eq!(status, 200);
    assert!(head.contains("content-type: application/wasm"), "{head}");
    assert!(head.contains("x-content-type-options: nosniff"));
    let (status, _, body) = get(&server.addr, "/www/app.js");
    assert_eq!((status, body.as_str()), (200, "console.log('app');"));
    // A symlink that stays inside the tree is fine.
    assert_eq!(get(&server.addr, "/www/alias.js").0, 200);
}

#[test]
fn refuses_everything_outside_the_app_files() {
    let server = start();
    let attacks = [
        "/../secret.txt",
        "/www/../../secret.txt",
        "/www/../notes.txt",
        "/notes.txt",
        "/www/%2e%2e/%2e%2e/secret.txt",
        "/www/%2E%2E/notes.txt",
        "/www/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/www/..%2f..%2fsecret.txt",
        "/www/..%5c..%5csecret.txt",
        "/www/%2fetc%2fpasswd",
        "/www//etc/passwd",
        "//etc/passwd",
        "/etc/passwd",
        "/www/%00/app.js",
        "/www/leak",
        "/pkg/../www/leak",
    ];
    for path in attacks {
        let (status, _, body) = get(&server.addr, path);
        assert!(status == 404 || status == 400, "{path}: status {status}");
        assert!(!body.contains(SECRET) && !body.contains("root:"), "{path} leaked: {body}");
    }
    let absolute = std::env::temp_dir().join("secret.txt");
    let (status, _, _) = get(&server.addr, &Path::new("/").join(&absolute).to_string_lossy());
    assert!(status == 404 || status == 400);
}

#[test]
fn survives_a_burst_of_1000_concurrent_requests() {
    let server = start();
    let n = 1000;
    let barrier = Arc::new(Barrier::new(n));
    let workers: Vec<_> = (0..n)
        .map(|i| {
            let (addr, barrier) = (server.addr.clone(), barrier.clone());
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    barrier.wait();
                    let path = if i % 2 == 0 { "/www/app.js" } else { "/" };
                    get(&addr, path).0
                })
                .unwrap()
        })
        .collect();
    let failed = workers.into_iter().map(|w| w.join().unwrap_or(0)).filter(|&s| s != 200).count();
    assert_eq!(failed, 0, "{failed} of {n} concurrent requests failed");
}

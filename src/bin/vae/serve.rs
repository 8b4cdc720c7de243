//! `vae serve`: serves the app's own files (index.html, sw.js, www/, pkg/) on 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use percent_encoding::percent_decode_str;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::CliResult;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to bind (loopback unless told otherwise).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// The app's folder: the one holding index.html, www/ and pkg/.
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

/// The router: `/` and `/index.html` are the page, `/sw.js` its service worker (at the root, so that
/// its scope is the whole app), `/www/…` and `/pkg/…` its files; nothing else.
/// `root` must be canonical.
pub fn app(root: &Path) -> Router {
    let index = root.join("index.html");
    Router::new()
        .route_service("/", ServeFile::new(&index))
        .route_service("/index.html", ServeFile::new(&index))
        .route_service("/sw.js", ServeFile::new(root.join("sw.js")))
        .nest_service("/www", ServeDir::new(root.join("www")))
        .nest_service("/pkg", ServeDir::new(root.join("pkg")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .layer(middleware::from_fn_with_state(Arc::new(root.to_path_buf()), confine))
}

/// A listener with a deep accept queue, so a burst of connections is queued rather than reset.
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Refuses any request whose path could reach outside the app's files, before it is served.
async fn confine(State(root): State<Arc<std::path::PathBuf>>, request: Request, next: Next) -> Response {
    match check_path(&root, request.uri().path()) {
        Ok(()) => next.run(request).await,
        Err(status) => (status, "not found\n").into_response(),
    }
}

/// The request path, percent-decoded, must have no `..` segment, backslash or NUL, and must not
/// resolve (following symlinks) to anything outside `root`.
fn check_path(root: &Path, raw: &str) -> Result<(), StatusCode> {
    let path = percent_decode_str(raw).decode_utf8().map_err(|_| StatusCode::BAD_REQUEST)?;
    if path.contains(['\\', '\0']) || path.split('/').any(|segment| segment == "..") {
        return Err(StatusCode::NOT_FOUND);
    }
    match root.join(path.trim_start_matches('/')).canonicalize() {
        Ok(real) if !real.starts_with(root) => Err(StatusCode::NOT_FOUND),
        _ => Ok(()),
    }
}

pub fn run(args: ServeArgs) -> CliResult {
    if !args.root.join("index.html").is_file() {
        return Err(format!("{} has no index.html; run from the project folder or pass --root", args.root.display()).into());
    }
    if !args.root.join("pkg").is_dir() {
        return Err("pkg/ is missing: build the wasm first (see the README)".into());
    }
    let root = args.root.canonicalize()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.bind, args.port);
        let listener = listen(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        println!("serving {} at http://{}/", root.display(), listener.local_addr()?);
        axum::serve(listener, app(&root)).await?;
        CliResult::Ok(())
    })
}

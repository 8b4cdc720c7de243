//! `vae serve`: serves the app's own files (index.html, www/, pkg/) on 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use axum::http::{header, HeaderValue};
use axum::Router;
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

/// The router: `/` and `/index.html` are the page, `/www/…` and `/pkg/…` its files; nothing else.
pub fn app(root: &std::path::Path) -> Router {
    let index = root.join("index.html");
    Router::new()
        .route_service("/", ServeFile::new(&index))
        .route_service("/index.html", ServeFile::new(&index))
        .nest_service("/www", ServeDir::new(root.join("www")))
        .nest_service("/pkg", ServeDir::new(root.join("pkg")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
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
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        println!("serving {} at http://{}/", root.display(), listener.local_addr()?);
        axum::serve(listener, app(&root)).await?;
        CliResult::Ok(())
    })
}

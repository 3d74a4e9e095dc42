//! `sluice docs serve`: the target folder over HTTP on 127.0.0.1, as dbt's
//! `docs serve` (which serves target/ with Python's http.server). Loopback
//! only: the docs hold compiled SQL and are not meant for the network.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// Serves the files under `dir` on `127.0.0.1:port` (any free port for 0)
/// until the process is stopped; prints the URL first. `/` is
/// `index.html`. Paths that leave `dir` (`..`) are 404s.
///
/// Errors: [`ErrorKind::Usage`] when `dir` has no index.html (hint: run
/// `docs generate`) or the port is taken.
pub fn serve(dir: &Path, port: u16) -> Result<()> {
    if !dir.join("index.html").is_file() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("`{}` has no index.html to serve", dir.display()),
        )
        .with_hint("run `sluice docs generate` first"));
    }
    let server = tiny_http::Server::http(("127.0.0.1", port)).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot listen on 127.0.0.1:{port}: {e}"),
        )
        .with_hint("pick another port with `--port`")
    })?;
    let addr = server
        .server_addr()
        .to_ip()
        .map_or_else(|| format!("127.0.0.1:{port}"), |a| a.to_string());
    println!("Serving docs at http://{addr}/ (Ctrl+C to stop)");
    for request in server.incoming_requests() {
        let response = match file_for(dir, request.url()) {
            Some(path) => match std::fs::read(&path) {
                Ok(body) => tiny_http::Response::from_data(body)
                    .with_header(header("Content-Type", content_type(&path)))
                    .with_status_code(200),
                Err(_) => not_found(),
            },
            None => not_found(),
        };
        // A client that went away is not the server's problem.
        let _ = request.respond(response);
    }
    Ok(())
}

/// The file under `dir` that `url` names, if it stays inside `dir`.
fn file_for(dir: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let relative = Path::new(path);
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let full = dir.join(relative);
    full.is_file().then_some(full)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("sql") | Some("txt") => "text/plain; charset=utf-8",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("static header names and values are valid")
}

fn not_found() -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    tiny_http::Response::from_data(b"not found\n".to_vec())
        .with_header(header("Content-Type", "text/plain; charset=utf-8"))
        .with_status_code(404)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_map_to_files_inside_the_folder_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "x").unwrap();
        std::fs::write(dir.path().join("manifest.json"), "{}").unwrap();
        assert_eq!(
            file_for(dir.path(), "/"),
            Some(dir.path().join("index.html"))
        );
        assert_eq!(
            file_for(dir.path(), "/manifest.json?x=1"),
            Some(dir.path().join("manifest.json"))
        );
        assert_eq!(file_for(dir.path(), "/../index.html"), None);
        assert_eq!(file_for(dir.path(), "/missing.json"), None);
        assert_eq!(file_for(dir.path(), "//etc/passwd"), None);
    }
}

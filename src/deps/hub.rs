//! The dbt Hub's API and the HTTP downloads of `sluice deps`.
//!
//! As dbt's `clients/registry.py`: the Hub lives at `DBT_PACKAGE_HUB_URL`
//! (default `https://hub.getdbt.com/`); `{hub}api/v1/index.json` lists every
//! `org/name`, and `{hub}api/v1/{org}/{name}.json` holds a `versions` map
//! whose entries give the package's project `name`, its own `packages`
//! (its dependencies) and `downloads.tarball`. Responses are cached for
//! the run. HTTP goes through `ureq` (blocking, rustls); a transport error
//! or a bad status becomes one error naming the package and the URL.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::Value as Json;

use crate::error::{Error, ErrorKind, Result};

/// dbt's default Hub.
pub const DEFAULT_HUB_URL: &str = "https://hub.getdbt.com/";

/// A blocking HTTP client with dbt's timeouts (30 s to connect and to
/// answer) and a few retries for transient failures.
pub struct Http {
    agent: ureq::Agent,
}

impl Default for Http {
    fn default() -> Self {
        Http::new()
    }
}

impl Http {
    /// A client honouring the usual proxy variables.
    pub fn new() -> Http {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(30)))
            .timeout_recv_body(Some(Duration::from_secs(300)))
            .http_status_as_error(false)
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
            .build();
        Http {
            agent: config.into(),
        }
    }

    /// GETs `url` and hands the response body to `read`. `what` names the
    /// package for errors. Server errors (5xx, 429) and dropped connections
    /// are tried three times, a second apart (dbt retries five times);
    /// refused connections, unknown hosts and 4xx fail at once.
    ///
    /// Errors: [`ErrorKind::Io`] naming `what` and `url`, with a hint.
    fn get<T>(
        &self,
        url: &str,
        what: &str,
        mut read: impl FnMut(ureq::Body) -> std::io::Result<T>,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.agent.get(url).call() {
                Ok(resp) if resp.status().is_success() => match read(resp.into_body()) {
                    Ok(v) => return Ok(v),
                    Err(e) => Failure::Transient(format!("the download broke off: {e}")),
                },
                Ok(resp) => {
                    let code = resp.status().as_u16();
                    let reason = resp.status().canonical_reason().unwrap_or("");
                    let text = format!("the server answered `{code} {reason}`");
                    if code >= 500 || code == 429 {
                        Failure::Transient(text)
                    } else {
                        Failure::Final(text)
                    }
                }
                Err(e) => match e {
                    ureq::Error::Timeout(_) | ureq::Error::Io(_) => {
                        let refused = matches!(&e, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused);
                        if refused {
                            Failure::Final("the connection was refused".into())
                        } else {
                            Failure::Transient(e.to_string())
                        }
                    }
                    ureq::Error::ConnectionFailed => {
                        Failure::Final("the connection failed (is the host reachable?)".into())
                    }
                    ureq::Error::HostNotFound => Failure::Final("the host was not found".into()),
                    other => Failure::Final(other.to_string()),
                },
            };
            match failure {
                Failure::Transient(_) if attempt < 3 => {
                    std::thread::sleep(Duration::from_secs(1));
                }
                Failure::Transient(reason) | Failure::Final(reason) => {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!("could not download package `{what}` from `{url}`: {reason}"),
                    )
                    .with_hint(
                        "check the network connection and the URL (for the dbt Hub, `DBT_PACKAGE_HUB_URL` sets another Hub); nothing was installed or changed",
                    ));
                }
            }
        }
    }

    /// The JSON document at `url`.
    ///
    /// Errors: as [`Http::get`], and [`ErrorKind::Io`] when the body is
    /// not JSON.
    pub fn get_json(&self, url: &str, what: &str) -> Result<Json> {
        let text = self.get(url, what, |mut body| {
            body.with_config()
                .limit(64 * 1024 * 1024)
                .read_to_string()
                .map_err(std::io::Error::other)
        })?;
        serde_json::from_str(&text).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("the answer from `{url}` for package `{what}` is not JSON: {e}"),
            )
            .with_hint("check that the URL points at a dbt Hub (`DBT_PACKAGE_HUB_URL`)")
        })
    }

    /// Downloads `url` into the file `dest` (created or truncated).
    ///
    /// Errors: as [`Http::get`], and I/O errors writing `dest`.
    pub fn download(&self, url: &str, what: &str, dest: &Path) -> Result<()> {
        self.get(url, what, |body| {
            let mut file = std::fs::File::create(dest)?;
            std::io::copy(&mut body.into_reader(), &mut file)?;
            file.flush()
        })
    }
}

enum Failure {
    Transient(String),
    Final(String),
}

/// The dbt Hub at one base URL, with its answers cached for the run.
pub struct Hub {
    base: String,
    http: Http,
    index: Option<Vec<String>>,
    packages: HashMap<String, Json>,
}

impl Hub {
    /// The Hub at `DBT_PACKAGE_HUB_URL`, else [`DEFAULT_HUB_URL`].
    pub fn from_env() -> Hub {
        let base = std::env::var("DBT_PACKAGE_HUB_URL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_HUB_URL.to_owned());
        Hub::new(&base)
    }

    /// The Hub at `base` (a trailing `/` is added when missing; dbt joins
    /// `api/v1/...` straight onto it).
    pub fn new(base: &str) -> Hub {
        let mut base = base.to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        Hub {
            base,
            http: Http::new(),
            index: None,
            packages: HashMap::new(),
        }
    }

    /// The HTTP client, for tarball downloads.
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// `{hub}api/v1/{name}.json`.
    fn url(&self, name: &str) -> String {
        format!("{}api/v1/{name}.json", self.base)
    }

    /// Whether `package` (`org/name`) is listed in the Hub's index.
    ///
    /// Errors: a failed download, or an index that is not a list of names.
    pub fn contains(&mut self, package: &str) -> Result<bool> {
        if self.index.is_none() {
            let url = self.url("index");
            let json = self.http.get_json(&url, package)?;
            let Json::Array(items) = json else {
                return Err(bad_answer(&url, package, "the index is not a list"));
            };
            self.index = Some(
                items
                    .into_iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            );
        }
        Ok(self
            .index
            .as_ref()
            .is_some_and(|names| names.iter().any(|n| n == package)))
    }

    /// The `versions` map of `package`: version string to its metadata
    /// (`name`, `packages`, `downloads.tarball`, `require_dbt_version`).
    ///
    /// Errors: a failed download, or an answer without dbt's keys.
    pub fn versions(&mut self, package: &str) -> Result<&serde_json::Map<String, Json>> {
        if !self.packages.contains_key(package) {
            let url = self.url(package);
            let json = self.http.get_json(&url, package)?;
            let ok =
                json.get("name").is_some() && json.get("versions").is_some_and(Json::is_object);
            if !ok {
                return Err(bad_answer(&url, package, "it lacks `name` or `versions`"));
            }
            if let Some(versions) = json.get("versions").and_then(Json::as_object) {
                for (v, meta) in versions {
                    let complete = ["name", "packages", "downloads"]
                        .iter()
                        .all(|k| meta.get(k).is_some());
                    if !complete {
                        return Err(bad_answer(
                            &url,
                            package,
                            &format!("version `{v}` lacks `name`, `packages` or `downloads`"),
                        ));
                    }
                }
            }
            self.packages.insert(package.to_owned(), json);
        }
        self.packages
            .get(package)
            .and_then(|j| j.get("versions"))
            .and_then(Json::as_object)
            .ok_or_else(|| bad_answer(&self.url(package), package, "it lacks `versions`"))
    }
}

fn bad_answer(url: &str, package: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("unexpected answer from `{url}` for package `{package}`: {why}"),
    )
    .with_hint("check that `DBT_PACKAGE_HUB_URL` points at a dbt Hub, or try again later")
}

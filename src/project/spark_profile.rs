//! A `type: spark` output of profiles.yml with `method: connect`: an Apache
//! Spark cluster reached through Spark Connect (issue 20), read into a
//! [`SparkProfile`].

use std::collections::BTreeMap;

use crate::error::{Location, Result};

use super::output_fields::{located, OutputFields};

/// Spark Connect's default port, as `pyspark --remote sc://host`.
pub const DEFAULT_PORT: u16 = 15002;

/// How to reach a Spark Connect server, from a profiles.yml output with
/// `type: spark`. The fields are dbt-spark's where it has them (`host`,
/// `port`, `schema`, `token`, `connect_timeout`, `server_side_parameters`);
/// `method` must be `connect`. `Debug` hides the token.
#[derive(Clone, PartialEq)]
pub struct SparkProfile {
    /// The Spark Connect URL, `sc://host:port`, with `/;token=...;use_ssl=true`
    /// when the profile has a token. Secret: never printed.
    pub url: String,
    /// Host name or address, as written (without `sc://`).
    pub host: String,
    /// Port (default 15002).
    pub port: u16,
    /// Seconds to wait for the server to answer (dbt-spark's
    /// `connect_timeout`, default 10).
    pub connect_timeout: u64,
    /// Spark settings set on each session before anything runs (dbt-spark's
    /// `server_side_parameters`), as `(key, value)` in file order.
    pub server_side_parameters: BTreeMap<String, String>,
    /// Where the output's `host:` line is in profiles.yml, for connection
    /// errors.
    pub location: Option<Location>,
}

impl std::fmt::Debug for SparkProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparkProfile")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("url", &"<hidden>")
            .field("connect_timeout", &self.connect_timeout)
            .field("server_side_parameters", &self.server_side_parameters)
            .finish()
    }
}

/// dbt-spark's methods sluice does not speak, and what each is.
const OTHER_METHODS: &[&str] = &["thrift", "http", "odbc", "session"];

/// Reads a `type: spark` output through `get` (a rendered field's value),
/// `params` (the `server_side_parameters` mapping, rendered) and `locate`
/// (a key's line in profiles.yml). `host` is a name (`spark.internal`) or a
/// Spark Connect URL (`sc://spark.internal:15002`); `port` defaults to
/// 15002. Returns the connection and the schema.
///
/// Errors: [`ErrorKind::Profile`] at the output's lines for a `method` other
/// than `connect`, a missing `host` or `schema`, a port or timeout that is
/// not a number, or a `database` other than the schema (dbt-spark's rule:
/// Spark has schemas only).
pub(super) fn read(
    get: &dyn Fn(&str) -> Result<Option<String>>,
    params: BTreeMap<String, String>,
    locate: &dyn Fn(&str) -> Option<Location>,
    target_name: &str,
    profile_name: &str,
) -> Result<(SparkProfile, String)> {
    let method = get("method")?.unwrap_or_else(|| "connect".into());
    if method != "connect" {
        let what = if OTHER_METHODS.contains(&method.as_str()) {
            format!("`method: {method}` is one of dbt-spark's other ways in; sluice talks to Spark only through Spark Connect")
        } else {
            format!("`method: {method}` is not a way to reach Spark")
        };
        return Err(located(what, locate("method:")).with_hint(
            "set `method: connect` and point `host` at the Spark Connect server (`sc://host:15002`; Spark 3.4+ starts one with `start-connect-server.sh`)",
        ));
    }
    let fields = OutputFields {
        get,
        locate,
        target_name,
        profile_name,
        adapter: "spark",
    };
    let required = |key: &str| fields.required(key);
    let number = |key: &str, default: u64| fields.number(key, default);
    let written = required("host")?;
    let schema = required("schema")?;
    if let Some(db) = get("database")?.filter(|d| !d.is_empty() && *d != schema) {
        return Err(located(
            format!("`database: {db}` differs from `schema: {schema}`; Spark has schemas, not databases"),
            locate("database:"),
        )
        .with_hint("remove `database`, or set it to the schema, as dbt-spark requires"));
    }
    let (host, url_port) = split_url(&written).map_err(|msg| located(msg, locate("host:")))?;
    let port = match (url_port, get("port")?) {
        (Some(p), _) => p,
        (None, Some(_)) => u16::try_from(number("port", 0)?)
            .map_err(|_| located("`port` is not a TCP port".into(), locate("port:")))?,
        (None, None) => DEFAULT_PORT,
    };
    let mut url = format!("sc://{host}:{port}");
    if let Some(token) = get("token")?.filter(|t| !t.is_empty()) {
        // Spark Connect sends a bearer token only over TLS.
        url.push_str(&format!("/;use_ssl=true;token={token}"));
    }
    let profile = SparkProfile {
        url,
        host,
        port,
        connect_timeout: number("connect_timeout", 10)?,
        server_side_parameters: params,
        location: locate("host:"),
    };
    Ok((profile, schema))
}

/// `host` and the port of `sc://host:port[/...]`, or `written` itself when
/// it is a plain host name.
///
/// Errors: a message for a URL of another scheme or a port that is not one.
fn split_url(written: &str) -> std::result::Result<(String, Option<u16>), String> {
    let Some(rest) = written.strip_prefix("sc://") else {
        if written.contains("://") {
            return Err(format!(
                "`host: {written}` is not a Spark Connect address (`sc://host:port`)"
            ));
        }
        return Ok((written.to_owned(), None));
    };
    let authority = rest.split('/').next().unwrap_or_default();
    match authority.rsplit_once(':') {
        Some((host, port)) => port
            .parse()
            .map(|p| (host.to_owned(), Some(p)))
            .map_err(|_| format!("`{port}` in `host: {written}` is not a TCP port")),
        None => Ok((authority.to_owned(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_yaml(yaml: &str) -> Result<(SparkProfile, String)> {
        super::super::output_fields::with_yaml_output(yaml, |get, locate| {
            read(get, BTreeMap::new(), locate, "spark", "shop")
        })
    }

    #[test]
    fn reads_a_host_or_a_spark_connect_url() {
        let (p, schema) =
            read_yaml("type: spark\nmethod: connect\nhost: spark.internal\nschema: analytics\n")
                .unwrap();
        assert_eq!(p.url, "sc://spark.internal:15002");
        assert_eq!((schema.as_str(), p.connect_timeout), ("analytics", 10));
        assert_eq!(p.location.map(|l| l.line), Some(3));
        let (p, _) = read_yaml("type: spark\nhost: sc://127.0.0.1:15010\nschema: s\n").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("127.0.0.1", 15010));
        let (p, _) = read_yaml("type: spark\nhost: h\nport: 443\ntoken: t0k\nschema: s\n").unwrap();
        assert_eq!(p.url, "sc://h:443/;use_ssl=true;token=t0k");
        assert!(!format!("{p:?}").contains("t0k"), "{p:?}");
    }

    #[test]
    fn other_methods_and_a_foreign_database_are_located() {
        let err = read_yaml("type: spark\nmethod: thrift\nhost: h\nschema: s\n").unwrap_err();
        assert!(err.message().contains("Spark Connect"), "{}", err.message());
        assert_eq!(err.location().map(|l| l.line), Some(2));
        let err = read_yaml("type: spark\nhost: h\nschema: s\ndatabase: other\n").unwrap_err();
        assert!(
            err.message().contains("schemas, not databases"),
            "{}",
            err.message()
        );
        assert_eq!(err.location().map(|l| l.line), Some(4));
        let err = read_yaml("type: spark\nhost: http://h:1\nschema: s\n").unwrap_err();
        assert_eq!(err.location().map(|l| l.line), Some(2));
        let err = read_yaml("type: spark\nhost: h\n").unwrap_err();
        assert!(
            err.message().contains("has no `schema`"),
            "{}",
            err.message()
        );
    }
}

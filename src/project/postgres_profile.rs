//! A `type: postgres` output of profiles.yml: dbt-postgres's connection
//! fields, read into a [`PostgresProfile`] (issue 20).

use crate::error::{Location, Result};

use super::output_fields::{located, OutputFields};

/// dbt-postgres's connection fields, from a profiles.yml output with
/// `type: postgres`. The password is never printed: `Debug` hides it.
#[derive(Clone, PartialEq)]
pub struct PostgresProfile {
    /// Server host name or address.
    pub host: String,
    /// Server port (default 5432).
    pub port: u16,
    /// Role to connect as.
    pub user: String,
    /// The role's password (usually from `env_var`); empty for none.
    pub password: String,
    /// Database to connect to (dbt-postgres's `dbname`, or `database`).
    pub dbname: String,
    /// libpq's `sslmode`, as dbt-postgres passes it: `disable`, `allow`,
    /// `prefer` (the default: TLS when the server offers it), `require`
    /// (TLS, the certificate not checked), `verify-ca` (checked against
    /// `sslrootcert` or the public roots), `verify-full` (and the host name).
    pub sslmode: String,
    /// A PEM file of the certificate authorities to trust (libpq's
    /// `sslrootcert`); empty for the public web roots. With `require`, as in
    /// libpq, it makes the mode `verify-ca`.
    pub sslrootcert: String,
    /// Seconds to wait for a connection (dbt-postgres's default, 10).
    pub connect_timeout: u64,
    /// Where the output's `host:` line is in profiles.yml, for connection
    /// errors.
    pub location: Option<Location>,
}

impl std::fmt::Debug for PostgresProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresProfile")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field(
                "password",
                &if self.password.is_empty() {
                    ""
                } else {
                    "<hidden>"
                },
            )
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// libpq's `sslmode` values, weakest first.
pub const SSL_MODES: &[&str] = &[
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// Reads a `type: postgres` output through `get` (a rendered field's value)
/// and `locate` (a key's line in profiles.yml), with dbt-postgres's fields:
/// `host`, `user`, `password`, `port` (5432), `dbname` (or `database`),
/// `schema`, `sslmode` (`prefer`), `connect_timeout` (10 s). Returns the
/// connection and the schema.
///
/// Errors: [`ErrorKind::Profile`] at the output's lines for a missing
/// `host`, `user`, `dbname` or `schema`, or a port or timeout that is not a
/// number.
pub(super) fn read(
    get: &dyn Fn(&str) -> Result<Option<String>>,
    locate: &dyn Fn(&str) -> Option<Location>,
    target_name: &str,
    profile_name: &str,
) -> Result<(PostgresProfile, String)> {
    let fields = OutputFields {
        get,
        locate,
        target_name,
        profile_name,
        adapter: "postgres",
    };
    let required = |key: &str| fields.required(key);
    let number = |key: &str, default: u64| fields.number(key, default);
    let host = required("host")?;
    let user = required("user")?;
    let dbname = match get("dbname")? {
        Some(d) => d,
        None => required("database")?,
    };
    let schema = required("schema")?;
    let port = number("port", 5432)?;
    let port = u16::try_from(port)
        .map_err(|_| located(format!("`port` {port} is not a TCP port"), locate("port:")))?;
    let sslmode = get("sslmode")?.unwrap_or_else(|| "prefer".into());
    if !SSL_MODES.contains(&sslmode.as_str()) {
        return Err(located(
            format!("`sslmode` `{sslmode}` is not one of libpq's modes"),
            locate("sslmode:"),
        )
        .with_hint(format!("use one of: {}", SSL_MODES.join(", "))));
    }
    for key in ["sslcert", "sslkey"] {
        if get(key)?.is_some_and(|v| !v.is_empty()) {
            return Err(located(
                format!("`{key}`: client certificates are not supported by sluice's PostgreSQL adapter yet"),
                locate(&format!("{key}:")),
            )
            .with_hint("authenticate with `password` (TLS still encrypts the connection with `sslmode: require` or stricter)"));
        }
    }
    let profile = PostgresProfile {
        host,
        port,
        user,
        password: get("password")?.unwrap_or_default(),
        dbname,
        sslmode,
        sslrootcert: get("sslrootcert")?.unwrap_or_default(),
        connect_timeout: number("connect_timeout", 10)?,
        location: locate("host:"),
    };
    Ok((profile, schema))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_yaml(yaml: &str) -> Result<(PostgresProfile, String)> {
        super::super::output_fields::with_yaml_output(yaml, |get, locate| {
            read(get, locate, "pg", "shop")
        })
    }

    #[test]
    fn reads_dbt_postgres_fields_with_their_defaults() {
        let (p, schema) =
            read_yaml("type: postgres\nhost: db.internal\nuser: etl\npassword: pw\ndbname: warehouse\nschema: analytics\n").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.user.as_str()),
            ("db.internal", 5432, "etl")
        );
        assert_eq!(
            (p.dbname.as_str(), schema.as_str()),
            ("warehouse", "analytics")
        );
        assert_eq!((p.sslmode.as_str(), p.connect_timeout), ("prefer", 10));
        assert_eq!(p.location.map(|l| l.line), Some(2));
        let (p, _) =
            read_yaml("type: postgres\nhost: h\nport: 6543\nuser: u\ndatabase: d\nschema: s\n")
                .unwrap();
        assert_eq!((p.port, p.dbname.as_str()), (6543, "d"));
    }

    #[test]
    fn sslmodes_are_libpqs_and_client_certificates_are_refused() {
        let base = "type: postgres\nhost: h\nuser: u\ndbname: d\nschema: s\n";
        let (p, _) = read_yaml(&format!(
            "{base}sslmode: verify-full\nsslrootcert: /etc/ca.pem\n"
        ))
        .unwrap();
        assert_eq!(
            (p.sslmode.as_str(), p.sslrootcert.as_str()),
            ("verify-full", "/etc/ca.pem")
        );
        let err = read_yaml(&format!("{base}sslmode: strict\n")).unwrap_err();
        assert!(err.message().contains("`strict`"), "{}", err.message());
        assert_eq!(err.location().map(|l| l.line), Some(6));
        let err = read_yaml(&format!("{base}sslcert: c.pem\n")).unwrap_err();
        assert!(
            err.message().contains("client certificates"),
            "{}",
            err.message()
        );
        assert_eq!(err.location().map(|l| l.line), Some(6));
    }

    #[test]
    fn missing_fields_and_bad_numbers_are_located() {
        let err = read_yaml("type: postgres\nhost: h\nuser: u\ndbname: d\n").unwrap_err();
        assert!(
            err.message().contains("has no `schema`"),
            "{}",
            err.message()
        );
        assert_eq!(err.location().map(|l| l.line), Some(1));
        let err = read_yaml("type: postgres\nhost: h\nport: lots\nuser: u\ndbname: d\nschema: s\n")
            .unwrap_err();
        assert!(
            err.message().contains("`port` must be a number"),
            "{}",
            err.message()
        );
        assert_eq!(err.location().map(|l| l.line), Some(3));
    }
}

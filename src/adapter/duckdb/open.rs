//! Opening a DuckDB file with sluice's engine defaults (ICU registered,
//! extension autoinstall and autoload off), read-only or not, and the
//! errors that say why a database or an extension did not open.

use crate::error::{Error, ErrorKind};
use crate::project::Target;

/// Settings that only take effect when the database is opened, so they go
/// into DuckDB's open-time config rather than a `SET`.
pub(super) const OPEN_SETTINGS: &[&str] = &[
    "autoinstall_known_extensions",
    "autoload_known_extensions",
    "allow_unsigned_extensions",
    "extension_directory",
];

/// Opens `path` (a file, or `:memory:`) with sluice's engine defaults: the
/// statically linked ICU extension registered, and extension autoinstall and
/// autoload off, so nothing is fetched from the network in the middle of a
/// build. `settings` (the profile's `settings:`) may turn them back on,
/// as dbt-duckdb passes its settings through to DuckDB's config.
///
/// Errors: DuckDB's, unchanged (callers word them).
pub fn open_connection(
    path: &str,
    settings: &std::collections::BTreeMap<String, String>,
) -> std::result::Result<duckdb::Connection, String> {
    open_with(path, settings, false)
}

/// [`open_connection`], read-only when `read_only` (DuckDB's `READ_ONLY`
/// access mode).
pub(super) fn open_with(
    path: &str,
    settings: &std::collections::BTreeMap<String, String>,
    read_only: bool,
) -> std::result::Result<duckdb::Connection, String> {
    sluice_duckdb_icu::register()?;
    let config = || -> duckdb::Result<duckdb::Config> {
        let mode = if read_only {
            duckdb::AccessMode::ReadOnly
        } else {
            duckdb::AccessMode::Automatic
        };
        let mut config = duckdb::Config::default()
            .access_mode(mode)?
            .with("autoinstall_known_extensions", "false")?
            .with("autoload_known_extensions", "false")?;
        for key in OPEN_SETTINGS {
            if let Some(value) = settings.get(*key) {
                config = config.with(*key, value)?;
            }
        }
        Ok(config)
    };
    config()
        .and_then(|config| duckdb::Connection::open_with_flags(path, config))
        .map_err(|e| e.to_string())
}

/// The error for an extension that cannot be loaded: named, with what to do.
pub(super) fn extension_error(ext: &str, err: &duckdb::Error) -> Error {
    Error::new(ErrorKind::Database, format!("could not load the DuckDB extension `{ext}`"))
        .with_note(err.to_string().lines().next().unwrap_or_default().to_owned())
        .with_hint(
            "icu, json, parquet and core_functions are built into sluice; others must be installed: \
             run `INSTALL <name>` once with network, or set `autoinstall_known_extensions: true` under the profile's `settings:`",
        )
}

/// The error for a database file that does not open: a lock held by
/// another process, a file that is no (complete) DuckDB database, or
/// anything else, each with what to do about it; the path's origin
/// (profiles.yml or sluice's embedded default) decides where to look.
pub(super) fn open_error(target: &Target, msg: &str) -> Error {
    let path = &target.path;
    let first_line = msg.lines().next().unwrap_or_default().to_owned();
    if msg.contains("Could not set lock") || msg.contains("Conflicting lock") {
        return Error::new(ErrorKind::Database, format!("the DuckDB database `{path}` is locked by another process"))
            .with_note(first_line)
            .with_hint("close the other program using the file (a DuckDB shell, a notebook, another sluice run) and retry");
    }
    if msg.contains("not a valid DuckDB database file")
        || msg.contains("Could not read enough bytes")
        || msg.contains("database file is corrupt")
        || msg.contains("Corrupt database file")
    {
        return Error::new(
            ErrorKind::Database,
            format!("`{path}` is not a complete DuckDB database (empty, truncated, or another program's file)"),
        )
        .with_note(first_line)
        .with_hint(format!(
            "sluice never overwrites it: move it aside (e.g. `mv {path} {path}.broken`) and run again to build a fresh one, or restore it from a backup"
        ));
    }
    let hint = match &target.profiles_file {
        Some(file) => format!(
            "check that the `path` of target `{}` in {} points at a writable location",
            target.name,
            file.display()
        ),
        None => "sluice's default database is a file in the project folder (no profiles.yml is in use): check that the folder is writable".to_owned(),
    };
    Error::new(
        ErrorKind::Database,
        format!("could not open DuckDB database `{path}`: {msg}"),
    )
    .with_hint(hint)
}

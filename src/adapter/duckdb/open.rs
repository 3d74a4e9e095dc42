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
    if path != ":memory:" {
        check_complete(std::path::Path::new(path))?;
    }
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

/// Size of DuckDB's file headers: the main header, then two database
/// headers, one block each.
const HEADER_BLOCK: u64 = 4096;

/// Checks that the DuckDB file at `path`, when it exists and has DuckDB's
/// magic bytes, is as long as its active database header says (3 header
/// blocks plus `block_count` blocks of `block_alloc_size` bytes). DuckDB
/// itself opens a truncated file and fails only when a statement reads a
/// missing block, after other nodes have already run against it.
///
/// Errors: `database file is truncated: ...` with both sizes. A missing
/// file, one too short for its headers, or one without the magic bytes is
/// left to DuckDB, which creates or rejects it.
fn check_complete(path: &std::path::Path) -> std::result::Result<(), String> {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(());
    };
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return Ok(());
    };
    let mut head = vec![0u8; 3 * HEADER_BLOCK as usize];
    if len < head.len() as u64 || file.read_exact(&mut head).is_err() || &head[8..12] != b"DUCK" {
        return Ok(());
    }
    let field = |at: usize| u64::from_le_bytes(head[at..at + 8].try_into().expect("8 bytes"));
    // Each database header: checksum, iteration, meta_block, free_list,
    // block_count, block_alloc_size, ...; the higher iteration is active.
    let active = [HEADER_BLOCK as usize, 2 * HEADER_BLOCK as usize]
        .into_iter()
        .max_by_key(|&h| field(h + 8))
        .expect("two headers");
    let (blocks, block_size) = (field(active + 32), field(active + 40));
    let needed = blocks
        .checked_mul(block_size)
        .and_then(|b| b.checked_add(3 * HEADER_BLOCK));
    match needed {
        Some(needed) if block_size > 0 && len < needed => Err(format!(
            "database file is truncated: {len} bytes, where its header lists {blocks} blocks ({needed} bytes)"
        )),
        _ => Ok(()),
    }
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
        || msg.contains("database file is truncated")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_file_is_refused_before_duckdb_opens_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.duckdb");
        let p = path.to_str().unwrap();
        {
            let conn = open_connection(p, &Default::default()).unwrap();
            conn.execute_batch("create table t as select range as i from range(200000)")
                .unwrap();
        }
        assert_eq!(check_complete(&path), Ok(()));
        let len = std::fs::metadata(&path).unwrap().len();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(len / 2 + 1).unwrap();
        let err = open_connection(p, &Default::default()).unwrap_err();
        assert!(err.starts_with("database file is truncated:"), "{err}");
    }

    #[test]
    fn files_that_are_not_duckdb_databases_are_left_to_duckdb() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.duckdb");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(check_complete(&empty), Ok(()));
        let other = dir.path().join("other.duckdb");
        std::fs::write(&other, vec![7u8; 20000]).unwrap();
        assert_eq!(check_complete(&other), Ok(()));
        assert_eq!(check_complete(&dir.path().join("missing.duckdb")), Ok(()));
    }
}

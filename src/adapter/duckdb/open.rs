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
    let short = (path != ":memory:")
        .then(|| short_file(std::path::Path::new(path)))
        .flatten();
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
    let conn = config()
        .and_then(|config| duckdb::Connection::open_with_flags(path, config))
        .map_err(|e| e.to_string())?;
    if let Some(in_file) = short {
        check_blocks(&conn, in_file)?;
    }
    Ok(conn)
}

/// Size of DuckDB's file headers: the main header, then two database
/// headers, one block each.
const HEADER_BLOCK: u64 = 4096;

/// Whether the DuckDB file at `path` is shorter than its active database
/// header's `block_count` blocks: then `Some(n)`, the number of whole
/// blocks the file holds. DuckDB trims free blocks off the end of a file
/// without lowering `block_count`, so a short file is not yet a damaged one:
/// [`check_blocks`] then checks the blocks tables use. `None` for a file
/// that is missing, too short for its headers, not a DuckDB file (DuckDB
/// creates or rejects those) or as long as its header says.
fn short_file(path: &std::path::Path) -> Option<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut head = vec![0u8; 3 * HEADER_BLOCK as usize];
    if len < head.len() as u64 || file.read_exact(&mut head).is_err() || &head[8..12] != b"DUCK" {
        return None;
    }
    let field = |at: usize| u64::from_le_bytes(head[at..at + 8].try_into().expect("8 bytes"));
    // Each database header: checksum, iteration, meta_block, free_list,
    // block_count, block_alloc_size, ...; the higher iteration is active.
    let active = [HEADER_BLOCK as usize, 2 * HEADER_BLOCK as usize]
        .into_iter()
        .max_by_key(|&h| field(h + 8))
        .expect("two headers");
    let (blocks, block_size) = (field(active + 32), field(active + 40));
    if block_size == 0 {
        return None;
    }
    let in_file = (len - 3 * HEADER_BLOCK) / block_size;
    (in_file < blocks).then_some(in_file)
}

/// Checks that no table of `conn`'s database keeps data in a block at or
/// past `in_file`, the blocks its file holds (from [`short_file`]), by
/// reading each table's storage metadata (no data is read). DuckDB opens a
/// truncated file and fails only when a statement reads a missing block,
/// after other nodes have already run against it.
///
/// Errors: `database file is truncated: ...` naming a table that lost data,
/// or DuckDB's own error when the metadata itself is gone.
fn check_blocks(conn: &duckdb::Connection, in_file: u64) -> std::result::Result<(), String> {
    let quote = |s: String| format!("\"{}\"", s.replace('"', "\"\""));
    let tables: Vec<String> = conn
        .prepare(
            "select database_name, schema_name, table_name from duckdb_tables() \
             where database_name = current_database()",
        )
        .and_then(|mut stmt| {
            stmt.query_map([], |row| {
                Ok([row.get(0)?, row.get(1)?, row.get(2)?].map(quote).join("."))
            })?
            .collect::<duckdb::Result<Vec<String>>>()
        })
        .map_err(|e| e.to_string())?;
    for table in tables {
        let max_block: Option<i64> = conn
            .query_row(
                "select max(block_id) from pragma_storage_info(?)",
                [&table],
                |row| row.get(0),
            )
            .map_err(|e| e.to_string())?;
        if max_block.is_some_and(|b| b >= 0 && b as u64 >= in_file) {
            return Err(format!(
                "database file is truncated: table {table} keeps data in block {} and the file holds {in_file} blocks",
                max_block.unwrap_or_default()
            ));
        }
    }
    Ok(())
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
    fn a_truncated_file_is_refused_when_it_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.duckdb");
        let p = path.to_str().unwrap();
        {
            let conn = open_connection(p, &Default::default()).unwrap();
            conn.execute_batch("create table t as select range as i from range(2000000)")
                .unwrap();
        }
        assert_eq!(short_file(&path), None);
        let len = std::fs::metadata(&path).unwrap().len();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(len / 2 + 1).unwrap();
        assert!(short_file(&path).is_some());
        // Refused either by the block check or, when the cut took the
        // catalog's metadata too, by DuckDB itself; both are worded by
        // `open_error` as a damaged file.
        let err = open_connection(p, &Default::default()).unwrap_err();
        assert!(
            err.starts_with("database file is truncated:")
                || err.contains("Could not read enough bytes"),
            "{err}"
        );
    }

    #[test]
    fn a_file_duckdb_trimmed_of_free_blocks_opens() {
        // Dropping a table frees its blocks; DuckDB trims them off the end
        // of the file but keeps them in the header's block count.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.duckdb");
        let p = path.to_str().unwrap();
        {
            let conn = open_connection(p, &Default::default()).unwrap();
            conn.execute_batch(
                "create table keep as select range as i from range(1000);
                 create table big as select range as i from range(2000000);
                 checkpoint; drop table big; checkpoint;",
            )
            .unwrap();
        }
        let conn = open_connection(p, &Default::default()).unwrap();
        let n: i64 = conn
            .query_row("select count(*) from keep", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1000);
    }

    #[test]
    fn files_that_are_not_duckdb_databases_are_left_to_duckdb() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.duckdb");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(short_file(&empty), None);
        let other = dir.path().join("other.duckdb");
        std::fs::write(&other, vec![7u8; 20000]).unwrap();
        assert_eq!(short_file(&other), None);
        assert_eq!(short_file(&dir.path().join("missing.duckdb")), None);
    }
}

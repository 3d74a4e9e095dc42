//! The `external` materialization, as dbt-duckdb's: the model's rows are
//! written to a Parquet, CSV or JSON file (or a partitioned directory) with
//! DuckDB's `COPY`, and the model's relation becomes a view over that file,
//! so downstream models `ref()` it like any other.
//!
//! Order of operations, chosen so a failure loses nothing:
//! 1. the rows go into a scratch table (`<name>__sluice_tmp_ext`); an empty
//!    result gets one all-NULL row that the view filters out again, as
//!    dbt-duckdb does so CSV and JSON files keep their columns;
//! 2. `COPY` writes them beside the destination (`<location>.sluice_tmp`);
//! 3. the old file is moved aside and the new one renamed into place;
//! 4. one transaction creates the view under an intermediate name, drops
//!    the old relation and renames the view into place. If it fails, the
//!    old file is put back, so the old view still reads what it read.
//!
//! Remote locations (`s3://...`) cannot be renamed: they are written in place.

use std::path::{Path, PathBuf};

use minijinja::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Node;
use crate::materialize::{
    call, clear_intermediate, rel, relation_of, swap_statements, Outcome, TMP_SUFFIX,
};
use crate::render::Renderer;
use crate::sql::strip_trailing_semicolons;
use crate::warehouse::connection::{Connection, RelationType};
use crate::warehouse::external::{anchor, default_location, WriteOptions};

/// Builds an `external` model: writes its rows to files and replaces its
/// relation with a view over them (see the module docs).
///
/// `project_root` anchors relative `location`s; the default location is
/// `<external_root>/<identifier>.<format>` (`external_root` from the profile).
///
/// Errors: [`ErrorKind::Config`] for a bad `format` or `options`;
/// [`ErrorKind::Database`] when DuckDB rejects the SQL or the `COPY`;
/// [`ErrorKind::Io`] when a file cannot be moved. The previous file and
/// view are kept on every error.
pub fn run(
    renderer: &Renderer,
    conn: &dyn Connection,
    node: &Node,
    compiled: &str,
    project_root: &Path,
) -> Result<Outcome> {
    let target = relation_of(node)?;
    let config_error = |msg: String| {
        Error::new(ErrorKind::Config, format!("model `{}`: {msg}", node.name)).with_hint(
            "`format` is one of parquet, csv, json; `options` is a mapping of DuckDB COPY options",
        )
    };
    let options = match node.config.get("options") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect(),
        Some(_) => {
            return Err(config_error(
                "The options argument must be a dictionary".into(),
            ))
        }
    };
    let format = node.config.get_str("format");
    let delimiter = node.config.get_str("delimiter");
    let partitioned = options
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("partition_by"));
    let location = match node.config.get_str("location") {
        Some(loc) => loc,
        None => default_location(
            renderer.external_root(),
            &target.identifier,
            format.as_deref().unwrap_or("parquet"),
            partitioned,
        ),
    };
    let location = anchor(project_root, &location);
    let write = WriteOptions::new(&location, format.as_deref(), delimiter.as_deref(), &options)
        .map_err(config_error)?;

    // 1. The rows, in a scratch table.
    let scratch = target.with_identifier(&format!("{}{TMP_SUFFIX}_ext", target.identifier));
    let intermediate = target.with_identifier(&format!("{}{TMP_SUFFIX}", target.identifier));
    let sql = Value::from(strip_trailing_semicolons(compiled).to_owned());
    let mut stmts = clear_intermediate(renderer, conn, &scratch)?;
    stmts.extend(clear_intermediate(renderer, conn, &intermediate)?);
    stmts.push(call(
        renderer,
        "create_table_as",
        &[Value::from(false), rel(&scratch), sql],
    )?);
    conn.execute_in_transaction(&stmts)?;
    conn.record_relation(&scratch, Some(RelationType::Table));
    let result = write_and_swap(
        renderer,
        conn,
        node,
        &scratch,
        &intermediate,
        &location,
        &write,
    );
    // The scratch table never outlives the run, whatever happened.
    let _ = conn.execute(&format!("drop table if exists {scratch}"));
    conn.record_relation(&scratch, None);
    result
}

fn write_and_swap(
    renderer: &Renderer,
    conn: &dyn Connection,
    node: &Node,
    scratch: &crate::warehouse::relation::Relation,
    intermediate: &crate::warehouse::relation::Relation,
    location: &str,
    write: &WriteOptions,
) -> Result<Outcome> {
    let target = relation_of(node)?;
    let rows = conn
        .query(&format!("select count(*) from {scratch}"))?
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    let columns: Vec<String> = conn
        .query(&format!("select column_name from (describe {scratch})"))?
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect();
    if rows == 0 {
        let nulls = vec!["null"; columns.len()].join(", ");
        conn.execute(&format!("insert into {scratch} values ({nulls})"))?;
    }

    // 2. COPY beside the destination (local paths), or in place (remote).
    let local = !location.contains("://");
    let staging = if local {
        format!("{location}.sluice_tmp")
    } else {
        location.to_owned()
    };
    if local {
        remove_path(Path::new(&staging))?;
        if let Some(parent) = Path::new(location).parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        }
    }
    conn.execute(&call(
        renderer,
        "write_to_file",
        &[
            rel(scratch),
            Value::from(sql_string(&staging)),
            Value::from(write.copy_clause()),
        ],
    )?)?;

    // 3. The new file into place, the old one aside.
    let backup = PathBuf::from(format!("{location}.sluice_old"));
    let had_old = local && Path::new(location).exists();
    if local {
        remove_path(&backup)?;
        if had_old {
            std::fs::rename(location, &backup)
                .map_err(|e| Error::io("move", Path::new(location), e))?;
        }
        std::fs::rename(&staging, location)
            .map_err(|e| Error::io("move", Path::new(&staging), e))?;
    }

    // 4. The view over it, swapped into place in one transaction.
    let mut select = format!(
        "select * from {}('{}'{})",
        write.reader(),
        sql_string(&write.read_location(location)),
        read_options(node, write)
    );
    if rows == 0 {
        // dbt-duckdb: the all-NULL placeholder row is filtered out again.
        select.push_str(" where 1");
        for c in &columns {
            select.push_str(&format!(" and \"{}\" is not null", c.replace('"', "\"\"")));
        }
    }
    let mut stmts = vec![call(
        renderer,
        "create_view_as",
        &[rel(intermediate), Value::from(select)],
    )?];
    let swapped = swap_statements(renderer, conn, target, intermediate, RelationType::View)
        .and_then(|swap| {
            stmts.extend(swap);
            conn.execute_in_transaction(&stmts)
        });
    match swapped {
        Ok(()) => {
            if had_old {
                let _ = remove_path(&backup);
            }
            conn.record_relation(intermediate, None);
            conn.record_relation(target, Some(RelationType::View));
            Ok(Outcome {
                code: "OK".into(),
                rows: Some(rows),
            })
        }
        Err(e) => {
            if local {
                let _ = remove_path(Path::new(location));
                if had_old {
                    let _ = std::fs::rename(&backup, location);
                }
            }
            Err(e)
        }
    }
}

/// The `, key=value` read options of the view: the model's
/// `parquet_read_options` / `csv_read_options` / `json_read_options`, else
/// dbt-duckdb's defaults (`union_by_name=False`; `auto_detect=True`).
fn read_options(node: &Node, write: &WriteOptions) -> String {
    let (key, default) = match write.format.as_str() {
        "csv" => ("csv_read_options", ("auto_detect", "True")),
        "json" => ("json_read_options", ("auto_detect", "True")),
        _ => ("parquet_read_options", ("union_by_name", "False")),
    };
    let mut out = String::new();
    match node.config.get(key) {
        Some(serde_json::Value::Object(map)) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) => {
                        out.push_str(&format!(", {k}='{}'", sql_string(s)))
                    }
                    serde_json::Value::Bool(b) => {
                        out.push_str(&format!(", {k}={}", if *b { "True" } else { "False" }))
                    }
                    other => out.push_str(&format!(", {k}={other}")),
                }
            }
        }
        _ => out.push_str(&format!(", {}={}", default.0, default.1)),
    }
    out
}

/// A string for inside a SQL single-quoted literal.
fn sql_string(s: &str) -> String {
    s.replace('\'', "''")
}

/// Removes a file or a directory tree, if there is one.
fn remove_path(path: &Path) -> Result<()> {
    let result = match std::fs::symlink_metadata(path) {
        Err(_) => return Ok(()),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    };
    result.map_err(|e| Error::io("remove", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_locations_are_anchored_at_the_project() {
        assert_eq!(
            anchor(Path::new("/p"), "./out/x.parquet"),
            "/p/out/x.parquet"
        );
        assert_eq!(anchor(Path::new("/p"), "/abs/x.csv"), "/abs/x.csv");
        assert_eq!(
            anchor(Path::new("/p"), "s3://b/x.parquet"),
            "s3://b/x.parquet"
        );
    }
}

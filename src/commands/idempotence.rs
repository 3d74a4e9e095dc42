//! `sluice build --verify-idempotent` (sluice's extension): builds the
//! selection twice into a scratch copy of the DuckDB file and reports
//! every model whose rows differ between the two builds, with the first
//! differing rows. The project's own database is never written.

use std::path::{Path, PathBuf};

use crate::cli::{GlobalArgs, SelectArgs};
use crate::commands::build::execute_on;
use crate::commands::invocation::{InvocationArgs, Outcome, RunCommand};
use crate::commands::session::Session;
use crate::error::{Error, ErrorKind, Result};
use crate::execute::output::Printer;
use crate::manifest::ResourceType;
use crate::warehouse::connection::Connection;

/// The schema the first build's rows are kept in, inside the scratch copy.
const FIRST: &str = "sluice_verify_first";

/// Rows shown of each side of a difference.
const SHOWN: usize = 3;

/// Copies the target's DuckDB file (when it exists) to
/// `<target>/verify_idempotent/<file name>` (the same name, so relations
/// keep their database), builds the selection there twice, and compares
/// each selected model's rows (`except all` both ways, and a row-hash
/// fingerprint: row count and the sum of DuckDB's `hash` of each row).
///
/// Returns [`Outcome::NodeFailure`] when a build fails or a model differs.
///
/// Errors: [`ErrorKind::Usage`] on a target that is not a DuckDB file;
/// [`ErrorKind::Io`] when the copy cannot be made; project, selector and
/// database errors.
pub fn verify(g: &GlobalArgs, select: &SelectArgs, full_refresh: bool) -> Result<Outcome> {
    let printer = Printer::new(g.quiet);
    let p = Session::open(
        g,
        InvocationArgs::new("build", g, select, full_refresh),
        printer,
    )?;
    let target = &p.project.target;
    if target.adapter_type != "duckdb"
        || target.postgres.is_some()
        || target.spark.is_some()
        || target.path == ":memory:"
        || !target.attach.is_empty()
    {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "`--verify-idempotent` builds into a copy of a DuckDB file, and target `{}` is not one",
                target.name
            ),
        )
        .with_hint("use a DuckDB target with a `path` (and no `attach`) for the check"));
    }
    let scratch = scratch_copy(&p.project.target_dir(), Path::new(&target.path))?;
    let models: Vec<(String, String)> = p
        .select(select, &[ResourceType::Model])?
        .into_iter()
        .filter_map(|i| {
            let node = &p.manifest.nodes[i];
            (!node.config.is_ephemeral())
                .then(|| {
                    node.relation
                        .as_ref()
                        .map(|r| (node.unique_id.clone(), r.to_string()))
                })
                .flatten()
        })
        .collect();
    let mut scratch_target = target.clone();
    scratch_target.path = scratch.to_string_lossy().into_owned();
    let connect =
        || -> Result<Box<dyn Connection>> { crate::adapter::open(&scratch_target)?.connect() };
    printer.line(&format!(
        "Verifying idempotence: building the selection twice in {}",
        crate::manifest::slash(&scratch)
    ));
    let build = |n: usize| {
        printer.line(&format!("Build {n} of 2"));
        execute_on(
            g,
            select,
            RunCommand::Build,
            full_refresh && n == 1,
            false,
            None,
            Some(&scratch),
        )
    };
    if build(1)? != Outcome::Success {
        printer.line("The first build failed: nothing to compare.");
        return Ok(Outcome::NodeFailure);
    }
    {
        let conn = connect()?;
        conn.execute(&format!("create schema if not exists {FIRST}"))?;
        for (k, (_, relation)) in models.iter().enumerate() {
            conn.execute(&format!(
                "create or replace table {FIRST}.m{k} as select * from {relation}"
            ))?;
        }
    }
    if build(2)? != Outcome::Success {
        printer.line("The second build failed: nothing to compare.");
        return Ok(Outcome::NodeFailure);
    }
    let conn = connect()?;
    let mut differing = Vec::new();
    for (k, (unique_id, relation)) in models.iter().enumerate() {
        let first = format!("{FIRST}.m{k}");
        if fingerprint(conn.as_ref(), &first)? == fingerprint(conn.as_ref(), relation)? {
            continue;
        }
        let only = |a: &str, b: &str| -> Result<(i64, Vec<String>)> {
            let diff = format!("(select * from {a} except all select * from {b})");
            let count = conn.query(&format!("select count(*) from {diff} d"))?;
            let n = count
                .first()
                .and_then(|r| r.first().cloned().flatten())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let rows = conn
                .query(&format!("select * from {diff} d limit {SHOWN}"))?
                .into_iter()
                .map(|row| {
                    let cells: Vec<String> = row
                        .into_iter()
                        .map(|c| c.unwrap_or_else(|| "NULL".to_owned()))
                        .collect();
                    format!("({})", cells.join(", "))
                })
                .collect();
            Ok((n, rows))
        };
        let (n1, rows1) = only(&first, relation)?;
        let (n2, rows2) = only(relation, &first)?;
        differing.push((unique_id, relation, n1, rows1, n2, rows2));
    }
    printer.line("");
    if differing.is_empty() {
        printer.line(&format!(
            "Idempotent: the {} selected models have the same rows after both builds.",
            models.len()
        ));
        return Ok(Outcome::Success);
    }
    // The verdict is printed even with --quiet.
    eprintln!(
        "Not idempotent: {} of {} models differ between two builds of the same data:",
        differing.len(),
        models.len()
    );
    for (unique_id, relation, n1, rows1, n2, rows2) in differing {
        eprintln!("  {unique_id} ({relation}): {n1} rows only after the first build, {n2} only after the second");
        for r in rows1 {
            eprintln!("    first only:  {r}");
        }
        for r in rows2 {
            eprintln!("    second only: {r}");
        }
    }
    eprintln!(
        "hint: `sluice compile` warns about what makes a model nondeterministic (`now()`, `random()`, an order that is not unique)"
    );
    Ok(Outcome::NodeFailure)
}

/// A relation's row count and the sum of its rows' hashes (order-free).
fn fingerprint(conn: &dyn Connection, relation: &str) -> Result<Vec<Option<String>>> {
    let rows = conn.query(&format!(
        "select count(*), coalesce(sum(hash(t)::hugeint), 0) from {relation} t"
    ))?;
    Ok(rows.into_iter().next().unwrap_or_default())
}

/// Copies the database file at `database` (and its write-ahead log) into
/// `<target_dir>/verify_idempotent/`, replacing an earlier copy; returns
/// the copy's path. A database that does not exist yet gives an empty one.
fn scratch_copy(target_dir: &Path, database: &Path) -> Result<PathBuf> {
    let dir = target_dir.join("verify_idempotent");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
    let name = database
        .file_name()
        .map(|n| n.to_owned())
        .unwrap_or_else(|| "database.duckdb".into());
    let copy = dir.join(&name);
    for suffix in ["", ".wal"] {
        let from = PathBuf::from(format!("{}{suffix}", database.display()));
        let to = PathBuf::from(format!("{}{suffix}", copy.display()));
        let _ = std::fs::remove_file(&to);
        if from.exists() {
            std::fs::copy(&from, &to).map_err(|e| Error::io("copy", &from, e))?;
        }
    }
    Ok(copy)
}

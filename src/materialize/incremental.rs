//! The `incremental` materialization, as dbt's: the first run (or a full
//! refresh) builds the table like `table`; later runs build only the new
//! rows (the model filters them with `{% if is_incremental() %}`), reconcile
//! the schema per `on_schema_change`, and apply them with the configured
//! `incremental_strategy` (`append`, `delete+insert`, `merge`, and on Spark
//! `insert_overwrite`), all in one transaction where the warehouse has
//! them: a failure leaves the table exactly as it was. Where it has neither
//! transactions nor row-level deletes (Spark's Parquet tables), `append`
//! and `insert_overwrite` are single statements and the keyed strategies
//! rebuild the table and swap it in ([`rebuild_and_swap`]).
//!
//! Default strategy: `delete+insert` when a `unique_key` is set, `append`
//! otherwise (dbt-postgres' and dbt-duckdb's default).

use minijinja::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Node;
use crate::materialize::{
    call, clear_intermediate, rel, relation_of, swap_statements, Outcome, TMP_SUFFIX,
};
use crate::project::config::as_string_list;
use crate::project::config::microbatch::Batch;
use crate::render::Renderer;
use crate::sql::strip_trailing_semicolons;
use crate::warehouse::connection::{Connection, RelationType, TxEnd};
use crate::warehouse::relation::quote;
use crate::warehouse::relation::{timestamp_literal, EventTimeFilter, Relation};

/// Suffix of the relation the new rows are built into.
const NEW_ROWS_SUFFIX: &str = "__sluice_incr";

/// Whether this run rebuilds the model from scratch: `--full-refresh`, unless
/// the model sets `full_refresh: false`; or the model sets `full_refresh: true`.
pub fn full_refresh(node: &Node, flag: bool) -> bool {
    node.config.get_bool("full_refresh").unwrap_or(flag)
}

/// Checks that each `unique_key` written as a plain column name is a column
/// of both the new rows and the table: DuckDB's own error for a missing one
/// names an internal relation (`DBT_INTERNAL_SOURCE`) the user never wrote.
/// Keys that are expressions (dbt pastes a string key into the SQL) are
/// left to the warehouse.
///
/// Errors: [`ErrorKind::Config`] naming the key and the model's columns,
/// at the `unique_key` of the model's file when it is set there.
fn check_unique_key(
    node: &Node,
    keys: &[String],
    new_cols: &[(String, String)],
    table_cols: &[(String, String)],
) -> Result<()> {
    let has = |cols: &[(String, String)], key: &str| {
        cols.iter().any(|(c, _)| c.eq_ignore_ascii_case(key))
    };
    for key in keys {
        let bare = key.trim().trim_matches('"');
        if bare.is_empty() || !bare.chars().all(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let missing_in = if !has(new_cols, bare) {
            "the model's columns"
        } else if !has(table_cols, bare) {
            "the columns of its existing table"
        } else {
            continue;
        };
        let names: Vec<&str> = new_cols.iter().map(|(c, _)| c.as_str()).collect();
        let mut err = Error::new(
            ErrorKind::Config,
            format!(
                "incremental model `{}` has unique_key `{bare}`, which is not among {missing_in} ({})",
                node.name,
                names.join(", ")
            ),
        )
        .with_hint("set `unique_key` to a column (or list of columns) the model selects; after renaming a key column, run once with --full-refresh");
        if let Some(offset) = node.raw_code.find("unique_key") {
            err = err.with_location(crate::error::Location::from_offset(
                &node.original_file_path,
                &node.raw_code,
                offset,
            ));
        }
        return Err(err);
    }
    Ok(())
}

/// The `unique_key` config as a list of columns (a string or a list).
fn unique_key(node: &Node) -> Vec<String> {
    node.config
        .get("unique_key")
        .map(as_string_list)
        .unwrap_or_default()
}

/// `(name, type)` of each column of `relation`, in table order.
fn columns(conn: &dyn Connection, relation: &Relation) -> Result<Vec<(String, String)>> {
    conn.columns(relation)
}

/// Applies `delete+insert` or `merge` where the table cannot be changed row
/// by row (Spark's Parquet tables): builds the table's next state under the
/// intermediate name (its rows whose key is not among the new rows, plus
/// the new rows, as `get_incremental_rebuild_sql`), then drops the table
/// and renames the rebuilt one into place. A failure before the swap
/// leaves the table as it was; the rows are those DuckDB's `delete` +
/// `insert` or `merge into` would leave.
///
/// Errors: [`ErrorKind::Database`] from any statement.
#[allow(clippy::too_many_arguments)]
fn rebuild_and_swap(
    renderer: &Renderer,
    conn: &dyn Connection,
    target: &Relation,
    new_rows: &Relation,
    strategy: &str,
    keys: &[String],
    window: Option<(&str, &Batch)>,
    target_cols: &[(String, String)],
    source_cols: &[(String, String)],
) -> Result<()> {
    let staged = target.with_identifier(&format!("{}{TMP_SUFFIX}", target.identifier));
    for s in clear_intermediate(renderer, conn, &staged)? {
        conn.execute(&s)?;
    }
    let columns: Vec<Value> = target_cols
        .iter()
        .map(|(name, ty)| {
            Value::from(vec![
                Value::from(quote(name)),
                Value::from(ty.clone()),
                Value::from(source_cols.iter().any(|(m, _)| m == name)),
            ])
        })
        .collect();
    let select = call(
        renderer,
        "get_incremental_rebuild_sql",
        &[
            Value::from(strategy),
            rel(target),
            rel(new_rows),
            Value::from(keys.iter().map(|k| quote(k)).collect::<Vec<_>>()),
            Value::from(columns),
            Value::from(window.map(|(event_time, batch)| {
                EventTimeFilter {
                    field_name: event_time.to_owned(),
                    start: Some(batch.start),
                    end: Some(batch.end),
                }
                .condition()
            })),
        ],
    )?;
    conn.execute(&call(
        renderer,
        "create_table_as",
        &[Value::from(false), rel(&staged), Value::from(select)],
    )?)?;
    for s in swap_statements(renderer, conn, target, &staged, RelationType::Table)? {
        conn.execute(&s)?;
    }
    conn.record_relation(&staged, None);
    conn.record_relation(target, Some(RelationType::Table));
    Ok(())
}

/// Builds or updates an incremental model (see the module docs).
///
/// Errors: [`ErrorKind::Config`] for an unknown strategy, `merge` without
/// `unique_key`, or a schema change under `on_schema_change: fail`;
/// [`ErrorKind::Database`] when DuckDB rejects a statement. Either way the
/// table is left as it was.
pub fn run(
    renderer: &Renderer,
    conn: &dyn Connection,
    node: &Node,
    compiled: &str,
    full_refresh_flag: bool,
) -> Result<Outcome> {
    let target = relation_of(node)?;
    let existing = conn.relation_type(target)?;
    if existing != Some(RelationType::Table) || full_refresh(node, full_refresh_flag) {
        let mut as_table = node.clone();
        as_table
            .config
            .set("materialized", serde_json::Value::from("table"));
        return super::run_model(renderer, conn, &as_table, compiled);
    }
    // As dbt's incremental materialization: the contract is checked on
    // every run; the table's constraints (from its first build) check the
    // new rows.
    if crate::project::config::Contract::of(&node.config).enforced {
        super::contract::assert_columns_equivalent(
            renderer,
            conn,
            node,
            strip_trailing_semicolons(compiled),
        )?;
    }
    let keys = unique_key(node);
    let strategy = node
        .config
        .get_str("incremental_strategy")
        .unwrap_or_else(|| {
            if keys.is_empty() {
                "append".into()
            } else {
                "delete+insert".into()
            }
        });
    apply(
        renderer, conn, node, compiled, &strategy, &keys, None, &mut None,
    )?;
    Ok(Outcome {
        code: "OK".into(),
        rows: None,
    })
}

/// Applies one microbatch batch's rows (`compiled`, the model rendered for
/// the batch) to the existing table of `node` in one transaction, as dbt's
/// microbatch strategy: the table's rows whose `event_time` falls in the
/// batch are replaced by the batch's rows (`get_incremental_microbatch_sql`),
/// after `on_schema_change`. A failure leaves the table as it was.
///
/// Errors: as [`run`]'s.
pub(crate) fn apply_batch(
    renderer: &Renderer,
    conn: &dyn Connection,
    node: &Node,
    compiled: &str,
    event_time: &str,
    batch: &Batch,
    known: &mut Option<KnownColumns>,
) -> Result<()> {
    apply(
        renderer,
        conn,
        node,
        compiled,
        "microbatch",
        &[],
        Some((event_time, batch)),
        known,
    )
}

/// The columns of a model's new rows and of its table, as the previous
/// batch of the same run found them: every batch renders the same SQL (only
/// the window's bounds differ), so its columns and types are the same, and
/// the table's change only when a batch alters it (then they are read
/// again). Saves two catalog lookups a batch.
#[derive(Debug, Clone)]
pub struct KnownColumns {
    /// `(name, type)` of the new rows.
    source: Vec<(String, String)>,
    /// `(name, type)` of the table, after the previous batch.
    target: Vec<(String, String)>,
}

/// The incremental step after the table exists: builds the new rows
/// (`compiled`) into an intermediate table, reconciles the schema
/// (`on_schema_change`) and applies `strategy` (`window`: the microbatch
/// batch and its event-time column), in one transaction. `known`: the
/// columns a previous batch of the run found, used instead of looking
/// them up, and set to this batch's.
///
/// Errors: as [`run`]'s.
#[allow(clippy::too_many_arguments)]
fn apply(
    renderer: &Renderer,
    conn: &dyn Connection,
    node: &Node,
    compiled: &str,
    strategy: &str,
    keys: &[String],
    window: Option<(&str, &Batch)>,
    known: &mut Option<KnownColumns>,
) -> Result<()> {
    let target = relation_of(node)?;
    if strategy == "microbatch" && window.is_none() {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "microbatch model `{}` runs batch by batch, not as one incremental step",
                node.name
            ),
        ));
    }
    let on_schema_change = node
        .config
        .get_str("on_schema_change")
        .unwrap_or_else(|| "ignore".into());
    if !matches!(
        on_schema_change.as_str(),
        "ignore" | "fail" | "append_new_columns" | "sync_all_columns"
    ) {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "model `{}` has on_schema_change `{on_schema_change}`",
                node.name
            ),
        )
        .with_hint("use one of: ignore, fail, append_new_columns, sync_all_columns"));
    }
    // The strategy's macro, and whether it takes the key columns.
    let (apply_macro, uses_keys) = match strategy {
        "microbatch" => ("get_incremental_microbatch_sql", false),
        "append" => ("get_incremental_append_sql", false),
        // dbt's delete+insert without a key deletes nothing: a plain append.
        "delete+insert" if keys.is_empty() => ("get_incremental_append_sql", false),
        "delete+insert" => ("get_delete_insert_merge_sql", true),
        "merge" if keys.is_empty() => {
            return Err(Error::new(
                ErrorKind::Config,
                format!("model `{}` uses the merge strategy without a `unique_key`", node.name),
            )
            .with_hint("set `unique_key` (a column or a list of columns), or use incremental_strategy `append`"));
        }
        "merge" => ("get_merge_sql", true),
        // dbt-spark's: the new rows replace the table's (its partitions'
        // with `partition_by`, which sluice does not create yet).
        "insert_overwrite" if conn.adapter_type() == "spark" => ("get_insert_overwrite_sql", false),
        "insert_overwrite" => {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "model `{}` uses incremental_strategy `insert_overwrite`, which is Spark's (dbt-spark's), not `{}`'s",
                    node.name,
                    conn.adapter_type()
                ),
            )
            .with_hint("use one of: append, delete+insert, merge"));
        }
        other => {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "model `{}` has incremental_strategy `{other}`, which sluice does not know",
                    node.name
                ),
            )
            .with_hint("use one of: append, delete+insert, merge"));
        }
    };
    // Spark cannot DELETE from or MERGE into a Parquet table: the keyed
    // strategies rebuild it instead (kept rows plus new ones) and swap the
    // rebuilt table in, as its tables are published.
    let rebuild = (uses_keys || window.is_some()) && !conn.transactional();
    // On DuckDB the new rows go to a temporary table (its in-memory temp
    // catalog): they are never written to the database file's log, which
    // halves what a microbatch batch costs. It is created and dropped
    // inside the transaction, so no run can leave one behind.
    let temporary = conn.adapter_type() == "duckdb";
    let new_rows_name = format!("{}{NEW_ROWS_SUFFIX}", target.identifier);
    let new_rows = if temporary {
        Relation::new("temp", "main", &new_rows_name)
    } else {
        target.with_identifier(&new_rows_name)
    };
    let sql = strip_trailing_semicolons(compiled).to_owned();
    let mut found = None;
    let mut body = || -> Result<TxEnd> {
        if !temporary {
            if let Some(t) = conn.relation_type(&new_rows)? {
                conn.execute(&format!("drop {} {new_rows}", t.as_str()))?;
            }
        }
        conn.execute(&call(
            renderer,
            "create_table_as",
            &[
                Value::from(temporary),
                Value::from_object(new_rows.clone()),
                Value::from(sql.clone()),
            ],
        )?)?;
        let (source_cols, target_cols) = match known.as_ref() {
            Some(k) => (k.source.clone(), k.target.clone()),
            None => (columns(conn, &new_rows)?, columns(conn, target)?),
        };
        check_unique_key(node, keys, &source_cols, &target_cols)?;
        let added: Vec<&(String, String)> = source_cols
            .iter()
            .filter(|(n, _)| !target_cols.iter().any(|(m, _)| m == n))
            .collect();
        let removed: Vec<&(String, String)> = target_cols
            .iter()
            .filter(|(n, _)| !source_cols.iter().any(|(m, _)| m == n))
            .collect();
        let changed: Vec<&(String, String)> = source_cols
            .iter()
            .filter(|(n, ty)| target_cols.iter().any(|(m, tt)| m == n && tt != ty))
            .collect();
        let names = |cols: &[&(String, String)]| {
            cols.iter()
                .map(|(n, _)| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut altered = false;
        match on_schema_change.as_str() {
            "fail" if !added.is_empty() || !removed.is_empty() || !changed.is_empty() => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("the source and target schemas of incremental model `{}` are out of sync", node.name),
                )
                .with_note(format!("new columns: [{}]; removed: [{}]; changed type: [{}]", names(&added), names(&removed), names(&changed)))
                .with_hint("set on_schema_change to append_new_columns or sync_all_columns, or run with --full-refresh"));
            }
            "append_new_columns" | "sync_all_columns" => {
                altered = !added.is_empty()
                    || (on_schema_change == "sync_all_columns"
                        && (!removed.is_empty() || !changed.is_empty()));
                for (name, ty) in &added {
                    conn.execute(&format!(
                        "alter table {target} add column {} {ty}",
                        quote(name)
                    ))?;
                }
                if on_schema_change == "sync_all_columns" {
                    for (name, _) in &removed {
                        conn.execute(&format!("alter table {target} drop column {}", quote(name)))?;
                    }
                    for (name, ty) in &changed {
                        conn.execute(&format!(
                            "alter table {target} alter column {} type {ty}",
                            quote(name)
                        ))?;
                    }
                }
            }
            _ => {}
        }
        let target_now = if altered {
            columns(conn, target)?
        } else {
            target_cols.clone()
        };
        if window.is_some() {
            found = Some(KnownColumns {
                source: source_cols.clone(),
                target: target_now.clone(),
            });
        }
        let dest: Vec<Value> = target_now
            .iter()
            .filter(|(n, _)| source_cols.iter().any(|(m, _)| m == n))
            .map(|(n, _)| Value::from(quote(n)))
            .collect();
        let rel = |r: &Relation| Value::from_object(r.clone());
        let mut args = vec![rel(target), rel(&new_rows)];
        if uses_keys {
            args.push(Value::from(
                keys.iter()
                    .map(|k| Value::from(quote(k)))
                    .collect::<Vec<_>>(),
            ));
        }
        if let Some((event_time, batch)) = window {
            args.push(Value::from(event_time));
            args.push(Value::from(timestamp_literal(&batch.start)));
            args.push(Value::from(timestamp_literal(&batch.end)));
        }
        args.push(Value::from(dest));
        if rebuild {
            rebuild_and_swap(
                renderer,
                conn,
                target,
                &new_rows,
                strategy,
                keys,
                window,
                &target_now,
                &source_cols,
            )?;
        } else {
            conn.execute(&call(renderer, apply_macro, &args)?)?;
        }
        conn.execute(&format!("drop table {new_rows}"))?;
        Ok(TxEnd::Commit)
    };
    conn.transaction(&mut body)?;
    conn.record_relation(&new_rows, None);
    // Only a committed batch's columns are what the table has now.
    if found.is_some() {
        *known = found;
    }
    Ok(())
}

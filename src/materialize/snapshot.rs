//! Snapshots: SCD Type 2 (dbt's `timestamp` and `check` strategies) and
//! SCD Type 1 (`type1`, a sluice extension), run so they cannot go wrong.
//!
//! The SQL lives in templates/materializations/snapshot.sql; this module
//! reads the snapshot's config, works out the plan (key, version time,
//! change condition, meta column names, the run's time), and runs the
//! macros' statements in one transaction that also checks the invariants
//! before committing: the source has one row per `unique_key`; each key has
//! at most one current row; `dbt_valid_from < dbt_valid_to`; versions of a
//! key do not overlap. A violation rolls everything back and fails the
//! snapshot naming the keys. A rerun on an unchanged source changes nothing.
//!
//! Time: `updated_at` of type `TIMESTAMP` (or `DATE`, read as midnight) makes
//! the meta columns naive `TIMESTAMP`s and the run's time the UTC wall
//! clock; `TIMESTAMP WITH TIME ZONE` makes them `TIMESTAMPTZ`. A snapshot
//! table of the other kind is an error, never a silent shift.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use minijinja::Value;
use serde_json::{json, Value as Json};

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Node;
use crate::materialize::snapshot_errors::{config_error, missing_column};
use crate::materialize::snapshot_keys::cell;
use crate::materialize::{call, relation_of, Outcome};
use crate::project::config::{CheckCols, SnapshotConfig, SnapshotStrategy};
use crate::render::Renderer;
use crate::sql::strip_trailing_semicolons;
use crate::warehouse::connection::{Connection, TxEnd};
use crate::warehouse::relation::quote;

/// Options of a snapshot run.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotRun {
    /// The run's time (UTC), the same for every snapshot of the invocation.
    pub now: NaiveDateTime,
    /// Compute the changes, report them, and roll back.
    pub dry_run: bool,
}

/// What one snapshot run changed (or, dry, would change).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct SnapshotCounts {
    /// Rows inserted: new keys, new versions, keys that came back, deletion markers.
    pub inserted: i64,
    /// Current versions closed because their row changed (type 2) or rows overwritten (type 1).
    pub updated: i64,
    /// Keys that left the source and were invalidated, marked or deleted.
    pub deleted: i64,
}

/// Naive or time-zone-aware snapshot timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeKind {
    Naive,
    Aware,
}

impl TimeKind {
    fn sql_type(self) -> &'static str {
        match self {
            TimeKind::Naive => "timestamp",
            TimeKind::Aware => "timestamptz",
        }
    }

    fn of(data_type: &str) -> Option<TimeKind> {
        let t = data_type.to_ascii_uppercase();
        if t == "TIMESTAMP WITH TIME ZONE" || t == "TIMESTAMPTZ" {
            Some(TimeKind::Aware)
        } else if t == "DATE" || t.starts_with("TIMESTAMP") {
            Some(TimeKind::Naive)
        } else {
            None
        }
    }

    fn literal(self, at: NaiveDateTime) -> String {
        let text = at.format("%Y-%m-%d %H:%M:%S%.6f");
        match self {
            TimeKind::Naive => format!("timestamp '{text}'"),
            TimeKind::Aware => format!("timestamptz '{text}+00'"),
        }
    }
}

/// Runs snapshot `node` whose compiled select is `compiled`; the outcome's
/// code gives the rows inserted, updated and invalidated (or deleted).
///
/// Errors: [`ErrorKind::Config`] for a missing or bad `strategy`,
/// `unique_key`, `updated_at` or `check_cols`, or naive/aware timestamps
/// mixed; [`ErrorKind::Database`] when a statement fails or an invariant
/// is violated (then nothing was written).
pub fn run(
    renderer: &Renderer,
    conn: &dyn Connection,
    node: &Node,
    compiled: &str,
    options: SnapshotRun,
) -> Result<Outcome> {
    let target = relation_of(node)?;
    let source_sql = strip_trailing_semicolons(compiled).to_owned();
    let config = &node.config;
    let typed = SnapshotConfig::of(config).map_err(|(msg, hint)| config_error(node, msg, &hint))?;
    let strategy = typed.strategy;
    let type1 = strategy == SnapshotStrategy::Type1;
    // PostgreSQL cannot keep an anonymous record in a table: a list key's
    // `row(a, b)` is staged as its text there.
    // Spark has no `row()`: a struct, staged as its JSON text.
    let key = match config.get("unique_key") {
        Some(Json::Array(_)) if conn.adapter_type() == "spark" => {
            let fields = typed
                .unique_key
                .strip_prefix("row")
                .unwrap_or(&typed.unique_key);
            format!("to_json(struct{fields})")
        }
        Some(Json::Array(_)) if conn.adapter_type() != "duckdb" => {
            format!("cast({} as text)", typed.unique_key)
        }
        _ => typed.unique_key.clone(),
    };
    // Without transactions (Spark) a run cannot update the table in place
    // and roll back: it rebuilds the table under `staged` and swaps it in
    // once the invariants hold (snapshot_rebuild_sql).
    let rebuild = !conn.transactional();
    if rebuild && type1 {
        return Err(config_error(
            node,
            format!(
                "strategy `type1` updates rows in place, which sluice does not do on `{}` yet",
                conn.adapter_type()
            ),
            "use the `timestamp` or `check` strategy (SCD Type 2) on this warehouse",
        ));
    }
    let staged = target.with_identifier(&format!("{}{}", target.identifier, super::TMP_SUFFIX));
    let hard_deletes = typed.hard_deletes.clone();

    // The source's columns, and the reserved names they must not use.
    let prepare = std::time::Instant::now();
    let source_columns =
        conn.describe(&format!("select * from (\n{source_sql}\n) __sluice_source"))?;
    // A unique_key of plain column names must name columns the select
    // returns: otherwise the merge fails with a binder error on an alias
    // the user never wrote.
    let key_columns: Vec<String> = match config.get("unique_key") {
        Some(Json::String(k)) => vec![k.clone()],
        Some(Json::Array(ks)) => ks
            .iter()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let plain = |c: &str| !c.is_empty() && c.chars().all(|ch| ch.is_alphanumeric() || ch == '_');
    let keys = key_columns.iter().map(String::as_str).filter(|c| plain(c));
    if let Some(err) = missing_column(
        node,
        "unique_key",
        keys,
        &source_columns,
        "set unique_key to a column the select returns, or an expression over them",
    ) {
        return Err(err);
    }
    let meta_names = meta_names(node)?;
    for (c, _) in &source_columns {
        let reserved =
            meta_names.values().any(|m| m.eq_ignore_ascii_case(c)) || c.starts_with("__sluice");
        if reserved {
            return Err(config_error(
                node,
                format!("the source has a column `{c}`, which the snapshot adds itself"),
                "rename the column in the snapshot's select, or rename the meta columns with snapshot_meta_column_names",
            ));
        }
    }
    let updated_at = typed.updated_at.clone();
    let updated_type = match &updated_at {
        // A plain column: its type is already known.
        Some(u) if source_columns.iter().any(|(c, _)| c == u) => source_columns
            .iter()
            .find(|(c, _)| c == u)
            .map(|(_, t)| t.clone()),
        Some(u) => Some(
            conn.describe(&format!(
                "select {u} as u from (\n{source_sql}\n) __sluice_source"
            ))
            .map_err(|e| {
                e.with_note(format!(
                    "while reading updated_at `{u}` of snapshot `{}`",
                    node.name
                ))
            })?
            .into_iter()
            .next()
            .map(|(_, t)| t)
            .unwrap_or_default(),
        ),
        None => None,
    };
    let exists = conn.relation_type(target)?.is_some();
    let target_columns: Vec<(String, String)> = if exists {
        // `describe` binds one table (~1 ms); the first duckdb_columns()
        // call of a process binds every system view (~15 ms).
        conn.describe(&format!("select * from {target}"))?
    } else {
        Vec::new()
    };
    let time_column = if type1 {
        &meta_names["dbt_updated_at"]
    } else {
        &meta_names["dbt_valid_from"]
    };
    let table_kind = target_columns
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(time_column))
        .and_then(|(_, t)| TimeKind::of(t));
    let kind = match (&updated_type, table_kind) {
        (Some(t), _) => {
            let k = TimeKind::of(t).ok_or_else(|| {
                config_error(
                    node,
                    format!(
                        "updated_at `{}` is of type {t}, not a timestamp",
                        updated_at.clone().unwrap_or_default()
                    ),
                    "cast it in the snapshot's select, e.g. `cast(updated_at as timestamp)`",
                )
            })?;
            if let Some(tk) = table_kind.filter(|tk| *tk != k) {
                return Err(config_error(
                    node,
                    format!(
                        "updated_at is {} but the snapshot table's `{time_column}` is {}: mixing naive and time-zone-aware timestamps would shift history",
                        k.sql_type().to_uppercase(),
                        tk.sql_type().to_uppercase()
                    ),
                    "cast updated_at in the snapshot's select to the table's type, or rebuild the snapshot",
                ));
            }
            k
        }
        (None, Some(tk)) => tk,
        (None, None) => TimeKind::Naive,
    };
    let now = kind.literal(options.now);
    let version_time = match (&updated_at, strategy) {
        (Some(u), SnapshotStrategy::Timestamp) => format!("cast({u} as {})", kind.sql_type()),
        _ => now.clone(),
    };
    let quoted: Vec<String> = source_columns.iter().map(|(c, _)| quote(c)).collect();
    let check_cols: Vec<String> = match &typed.check_cols {
        Some(CheckCols::Columns(cols)) => {
            // Checked on the first run too: the comparison that would
            // reject a missing column only runs from the second.
            if let Some(err) = missing_column(
                node,
                "check_cols",
                cols.iter().map(String::as_str),
                &source_columns,
                "list columns the select returns in `check_cols`, or use `check_cols: all`",
            ) {
                return Err(err);
            }
            cols.iter().map(|c| quote(c)).collect()
        }
        Some(CheckCols::All) => quoted.clone(),
        None => Vec::new(),
    };
    let meta: BTreeMap<&str, String> = meta_names
        .iter()
        .map(|(k, v)| (k.trim_start_matches("dbt_"), quote(v)))
        .collect();
    let valid_to = &meta["valid_to"];
    let valid_to_current = config
        .get_str("dbt_valid_to_current")
        .map(|e| format!("cast(({e}) as {})", kind.sql_type()));
    let current = match &valid_to_current {
        // A type 1 table holds only current rows.
        _ if type1 => "true".to_owned(),
        Some(v) => format!("({valid_to} is null or {valid_to} = {v})"),
        None => format!("{valid_to} is null"),
    };
    let changed = if strategy == SnapshotStrategy::Timestamp {
        format!("cur.{} < src.__sluice_time", meta["updated_at"])
    } else {
        check_cols
            .iter()
            .map(|c| format!("cur.{c} is distinct from src.{c}"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let changed = if changed.is_empty() {
        "false".to_owned()
    } else {
        changed
    };
    let type1_time = match &updated_at {
        Some(u) if type1 => format!("cast(src.{u} as {})", kind.sql_type()),
        _ => now.clone(),
    };
    let plain = crate::sql::plain_select(&source_sql);
    let stage_as = if plain.is_some() { "view" } else { "table" };
    // The table's columns once this run's `alter table ... add column`s
    // (below) have run: what a rebuilt table holds, in order.
    let table_columns: Vec<String> = target_columns
        .iter()
        .map(|(c, _)| c)
        .chain(source_columns.iter().map(|(c, _)| c).filter(|c| {
            !target_columns
                .iter()
                .any(|(tc, _)| tc.eq_ignore_ascii_case(c))
        }))
        .map(|c| quote(c))
        .collect();
    let plan_json = json!({
        "target": target.to_string(),
        "source_sql": source_sql,
        "key": key,
        "updated_at": updated_at,
        "version_time": version_time,
        "changed": changed,
        "columns": quoted,
        "stage_as": stage_as,
        "now": now,
        "meta": meta,
        "current": current,
        "valid_to_current": valid_to_current.clone().unwrap_or_else(|| format!("cast(null as {})", kind.sql_type())),
        "hard_deletes": hard_deletes,
        "type1_time": type1_time,
        "text_type": if conn.adapter_type() == "spark" { "string" } else { "varchar" },
        "staged": staged.to_string(),
        "target_columns": table_columns,
    });
    let plan = Value::from_serialize(&plan_json);
    // The same plan aimed at the staged table: where the new versions go and
    // the invariants are checked when the table is rebuilt.
    let staged_plan = {
        let mut p = plan_json.clone();
        p["target"] = Json::String(staged.to_string());
        Value::from_serialize(&p)
    };
    let m = |name: &str| call(renderer, name, std::slice::from_ref(&plan));
    let into = |name: &str| {
        let p = if rebuild { &staged_plan } else { &plan };
        call(renderer, name, std::slice::from_ref(p))
    };
    let timed = |what: &str, sql: &str| -> Result<()> {
        let t = std::time::Instant::now();
        let r = conn.execute(sql);
        crate::timing::stage(what, t);
        r
    };

    // Columns the source gained since the last run join the table, as dbt.
    let mut statements = Vec::new();
    for (c, t) in &source_columns {
        if exists
            && !target_columns
                .iter()
                .any(|(tc, _)| tc.eq_ignore_ascii_case(c))
        {
            statements.push(format!("alter table {target} add column {} {t}", quote(c)));
        }
    }
    let mut counts = SnapshotCounts::default();
    crate::timing::stage("snap prepare", prepare);
    let in_transaction = std::time::Instant::now();
    let outcome = conn.transaction(&mut || {
        for s in &statements {
            conn.execute(s)?;
        }
        timed("snap stage_source", &m("snapshot_stage_source_sql")?)?;
        // Without a table there are no current rows to stage.
        if exists {
            timed("snap stage_current", &m("snapshot_stage_current_sql")?)?;
        }
        let t = std::time::Instant::now();
        // A primary key DuckDB enforces on the table the select reads makes
        // the check a second proof of what the engine already guarantees.
        let star_of = plain.as_ref().and_then(|p| p.star_of.as_deref());
        let dupes = if super::snapshot_keys::key_is_primary(conn, star_of, config.get("unique_key"))? {
            Vec::new()
        } else {
            conn.query(&m("snapshot_duplicate_keys_sql")?)?
        };
        crate::timing::stage("snap duplicates", t);
        if let Some(nulls) = dupes.iter().find(|r| r.first().is_some_and(Option::is_none)) {
            let n = nulls.get(1).cloned().flatten().unwrap_or_default();
            return Err(Error::new(
                ErrorKind::Database,
                format!("snapshot `{}`: the source has {n} row(s) whose unique_key is NULL, which no run could match to its history (each run would add another current row); rolled back", node.name),
            )
            .with_hint("filter those rows out in the snapshot's select, or coalesce the key"));
        }
        if !dupes.is_empty() {
            return Err(invariant_error(node, "the source has more than one row for a unique_key, so the snapshot would get several current rows per key", &dupes, "make the snapshot's select return one row per key (deduplicate it, or fix unique_key)"));
        }
        if !exists {
            conn.execute(&m(if type1 { "snapshot_type1_create_sql" } else { "snapshot_create_sql" })?)?;
            let n = conn.query("select count(*) from __sluice_snap_src")?;
            counts.inserted = cell(&n);
        } else {
            if type1 {
                timed("snap type1_changes", &m("snapshot_type1_changes_sql")?)?;
            } else {
                timed("snap changes", &m("snapshot_changes_sql")?)?;
            }
            for row in conn.query("select __sluice_change, count(*) from __sluice_snap_changes group by 1")? {
                let n: i64 = row.get(1).cloned().flatten().and_then(|s| s.parse().ok()).unwrap_or(0);
                match row.first().cloned().flatten().as_deref() {
                    Some("insert") => counts.inserted += n,
                    Some("update") => {
                        counts.updated += n;
                        if !type1 {
                            counts.inserted += n;
                        }
                    }
                    Some("resurrect") => counts.inserted += n,
                    Some("delete") => {
                        counts.deleted += n;
                        if hard_deletes == "new_record" {
                            counts.inserted += n;
                        }
                    }
                    _ => {}
                }
            }
            if type1 {
                timed("snap type1_apply", &m("snapshot_type1_apply_sql")?)?;
            } else {
                if rebuild {
                    timed("snap rebuild", &m("snapshot_rebuild_sql")?)?;
                } else {
                    timed("snap close", &m("snapshot_close_sql")?)?;
                }
                timed("snap insert", &into("snapshot_insert_sql")?)?;
                if hard_deletes == "new_record" {
                    conn.execute(&into("snapshot_deletion_markers_sql")?)?;
                }
            }
            let t = std::time::Instant::now();
            let problems = conn.query(&into(if type1 { "snapshot_type1_invariants_sql" } else { "snapshot_invariants_sql" })?)?;
            crate::timing::stage("snap invariants", t);
            if !problems.is_empty() {
                if rebuild {
                    conn.execute(&format!("drop table if exists {staged}"))?;
                }
                return Err(invariant_error(node, "the snapshot's invariants would break", &problems, "nothing was written; this is a bug in the snapshot's SQL or its data (for example a pinned SLUICE_SNAPSHOT_TIME that does not move forward)"));
            }
            if rebuild && options.dry_run {
                conn.execute(&format!("drop table if exists {staged}"))?;
            } else if rebuild {
                // Publish: the old table goes, the rebuilt one takes its name.
                for s in super::swap_statements(renderer, conn, target, &staged, crate::warehouse::connection::RelationType::Table)? {
                    conn.execute(&s)?;
                }
                conn.record_relation(&staged, None);
            }
        }
        conn.execute(&format!(
            "drop view if exists __sluice_snap_cur; drop {stage_as} if exists __sluice_snap_src; drop table if exists __sluice_snap_changes"
        ))?;
        Ok(if options.dry_run {
            TxEnd::Rollback
        } else {
            TxEnd::Commit
        })
    });
    crate::timing::stage("snap transaction", in_transaction);
    outcome?;
    if !options.dry_run {
        conn.record_relation(
            target,
            Some(crate::warehouse::connection::RelationType::Table),
        );
    }
    let verb = if options.dry_run { "WOULD " } else { "" };
    let code = if type1 {
        format!(
            "{verb}INSERT {}, UPDATE {}, DELETE {}",
            counts.inserted, counts.updated, counts.deleted
        )
    } else {
        format!(
            "{verb}INSERT {}, UPDATE {}, INVALIDATE {}",
            counts.inserted, counts.updated, counts.deleted
        )
    };
    Ok(Outcome {
        code,
        rows: Some(counts.inserted + counts.updated + counts.deleted),
    })
}

fn invariant_error(node: &Node, what: &str, rows: &[Vec<Option<String>>], hint: &str) -> Error {
    let keys: Vec<String> = rows
        .iter()
        .map(|r| {
            let key = r
                .first()
                .cloned()
                .flatten()
                .unwrap_or_else(|| "NULL".into());
            match r.get(1).cloned().flatten() {
                Some(detail) => format!("{key} ({detail})"),
                None => key,
            }
        })
        .collect();
    Error::new(
        ErrorKind::Database,
        format!("snapshot `{}`: {what}; rolled back", node.name),
    )
    .with_note(format!("keys: {}", keys.join(", ")))
    .with_hint(hint.to_owned())
}

/// dbt's meta column names, renamed by `snapshot_meta_column_names`
/// (keys `dbt_scd_id`, `dbt_updated_at`, `dbt_valid_from`, `dbt_valid_to`,
/// `dbt_is_deleted`).
///
/// Errors: [`ErrorKind::Config`] for an unknown key.
fn meta_names(node: &Node) -> Result<BTreeMap<String, String>> {
    let mut names: BTreeMap<String, String> = [
        "dbt_scd_id",
        "dbt_updated_at",
        "dbt_valid_from",
        "dbt_valid_to",
        "dbt_is_deleted",
    ]
    .iter()
    .map(|k| ((*k).to_owned(), (*k).to_owned()))
    .collect();
    if let Some(Json::Object(map)) = node.config.get("snapshot_meta_column_names") {
        for (k, v) in map {
            let Some(slot) = names.get_mut(k) else {
                return Err(config_error(
                    node,
                    format!("snapshot_meta_column_names has an unknown key `{k}`"),
                    "the keys are dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to and dbt_is_deleted",
                ));
            };
            if let Some(v) = v.as_str() {
                *slot = v.to_owned();
            }
        }
    }
    Ok(names)
}

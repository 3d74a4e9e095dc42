//! The compat project's incremental replay, shared by tests/compat.rs and
//! the adapter replays (tests/postgres_replay.rs, tests/spark_replay.rs): the changed source
//! rows, the models run on them, what each strategy must leave, and the
//! model edit that adds a column (on_schema_change: append_new_columns).

use super::TempProject;

/// events.csv after the first build: row 2 changed (shipped, later
/// updated_at), row 4 new.
pub const CHANGED_EVENTS: &str = "id,status,amount,updated_at
1,new,10,2024-01-01 00:00:00
2,shipped,25,2024-02-01 00:00:00
3,new,30,2024-01-03 00:00:00
4,new,40,2024-02-02 00:00:00
";

/// The incremental run after [`CHANGED_EVENTS`]: `run -s` these models.
pub const INCREMENTAL_RUN: &[&str] = &[
    "run",
    "-s",
    "events_append",
    "events_merge",
    "events_delete_insert",
];

/// `id:status` of each model after the incremental run, sorted: append
/// adds the changed row again, merge and delete+insert replace it.
pub const STATUSES_AFTER: &[(&str, &[&str])] = &[
    (
        "events_append",
        &["1:new", "2:new", "2:shipped", "3:new", "4:new"],
    ),
    ("events_merge", &["1:new", "2:shipped", "3:new", "4:new"]),
    (
        "events_delete_insert",
        &["1:new", "2:shipped", "3:new", "4:new"],
    ),
];

/// Adds `amount` to events_new_columns' select, for its
/// append_new_columns run (`run -s events_new_columns`).
pub fn add_amount_column(p: &TempProject) {
    let sql = p
        .read("models/incremental/events_new_columns.sql")
        .replace("select id, status,", "select id, status, amount,");
    p.write("models/incremental/events_new_columns.sql", &sql);
}

//! The source states the snapshot replays (tests/snapshots_replay.rs on
//! DuckDB, tests/postgres_replay.rs on PostgreSQL) feed tests/projects/snapshots.

use sluice::warehouse::connection::Connection;

use super::TempProject;

/// The source states, one CSV body per run, each with what changed.
pub const STATES: &[(&str, &str)] = &[
    (
        "insert",
        "1,eu,Ann,gold,2024-01-01 00:00:00
2,eu,Bob,silver,2024-01-01 00:00:00
3,us,Cid,bronze,2024-01-01 00:00:00",
    ),
    (
        "update tier of 1, name of 2, insert 4",
        "1,eu,Ann,platinum,2024-01-05 00:00:00
2,eu,Bobby,silver,2024-01-05 00:00:00
3,us,Cid,bronze,2024-01-01 00:00:00
4,us,Dee,gold,2024-01-06 00:00:00",
    ),
    (
        "delete 3",
        "1,eu,Ann,platinum,2024-01-05 00:00:00
2,eu,Bobby,silver,2024-01-05 00:00:00
4,us,Dee,gold,2024-01-06 00:00:00",
    ),
    (
        "re-insert 3 as it was",
        "1,eu,Ann,platinum,2024-01-05 00:00:00
2,eu,Bobby,silver,2024-01-05 00:00:00
3,us,Cid,bronze,2024-01-01 00:00:00
4,us,Dee,gold,2024-01-06 00:00:00",
    ),
    (
        "unchanged rerun",
        "1,eu,Ann,platinum,2024-01-05 00:00:00
2,eu,Bobby,silver,2024-01-05 00:00:00
3,us,Cid,bronze,2024-01-01 00:00:00
4,us,Dee,gold,2024-01-06 00:00:00",
    ),
];

const HEADER: &str = "id,region,name,tier,updated_at\n";

/// Writes the source seeds for one state: `src.csv`, and `src_regions.csv`
/// with id 1 also in a second region, for the composite key.
pub fn write_state(p: &TempProject, rows: &str) {
    p.write("seeds/src.csv", &format!("{HEADER}{rows}\n"));
    // The same rows, plus id 1 in a second region, for the composite key.
    let extra = rows
        .lines()
        .filter(|l| l.starts_with("1,"))
        .map(|l| l.replacen(",eu,", ",us,", 1))
        .collect::<Vec<_>>()
        .join("\n");
    p.write(
        "seeds/src_regions.csv",
        &format!("{HEADER}{rows}\n{extra}\n"),
    );
}

/// One SCD Type 2 snapshot of the project: its name, unique key, and the
/// names of its validity and id columns (`yaml_check` renames them with
/// `snapshot_meta_column_names` and ends current rows at 9999-12-31).
pub struct Type2 {
    pub name: &'static str,
    pub key: &'static str,
    pub valid_from: &'static str,
    pub valid_to: &'static str,
    pub scd_id: &'static str,
    pub current: &'static str,
}

pub const fn type2(name: &'static str, key: &'static str) -> Type2 {
    Type2 {
        name,
        key,
        valid_from: "dbt_valid_from",
        valid_to: "dbt_valid_to",
        scd_id: "dbt_scd_id",
        current: "dbt_valid_to is null",
    }
}

pub const TYPE2: &[Type2] = &[
    type2("ts_ignore", "id"),
    type2("ts_invalidate", "id"),
    type2("ts_new_record", "id"),
    type2("ts_composite", "id, region"),
    type2("check_tier", "id"),
    type2("check_all", "id"),
    Type2 {
        name: "yaml_check",
        key: "id",
        valid_from: "valid_from",
        valid_to: "valid_to",
        scd_id: "scd_id",
        current: "valid_to = timestamp '9999-12-31'",
    },
];

/// The type 1 snapshots: one row per key, no history.
pub const TYPE1: &[&str] = &["t1_ignore", "t1_delete"];

/// Rows breaking an SCD Type 2 invariant in `snapshot` on the server, by
/// SQL independent of sluice's own checks: more than one current row per
/// key, a version that ends before it starts, or two versions of a key
/// whose validity overlaps.
pub fn type2_violations(
    conn: &dyn Connection,
    s: &Type2,
    text_type: &str,
    infinity: &str,
) -> Vec<Vec<Option<String>>> {
    let t = format!("snapshots.{}", s.name);
    let (key, from, to, id, current) = (s.key, s.valid_from, s.valid_to, s.scd_id, s.current);
    let on = key
        .split(", ")
        .map(|k| format!("a.{k} is not distinct from b.{k}"))
        .collect::<Vec<_>>()
        .join(" and ");
    conn.query(&format!(
        "select 'two current rows', cast(count(*) as {text_type}) from {t} where {current} group by {key} having count(*) > 1
         union all select 'ends before it starts', {id} from {t} where {to} < {from}
         union all select 'overlap', a.{id} from {t} a join {t} b on {on} and a.{id} <> b.{id}
             and a.{from} < coalesce(b.{to}, {infinity})
             and b.{from} < coalesce(a.{to}, {infinity})"
    ))
    .unwrap()
}

//! The source states the snapshot replays (tests/snapshots_replay.rs on
//! DuckDB, tests/postgres_replay.rs on PostgreSQL) feed tests/projects/snapshots.

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

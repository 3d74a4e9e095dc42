//! Snapshots replayed run by run (tests/projects/snapshots): a sequence of
//! source states (insert, update, delete, re-insert, unchanged rerun) is
//! seeded and snapshotted with a pinned clock, and after each run the whole
//! table of every snapshot is recorded as an insta snapshot. The SCD Type 2
//! semantics pin dbt's: timestamp versions start at `updated_at`, check
//! versions at the run's time; hard_deletes invalidate closes the current
//! row, new_record adds a `dbt_is_deleted = 'True'` row; a key that comes
//! back gets a new current row. Then the safety checks: duplicate source
//! keys fail and roll back, mixed naive/aware timestamps are refused,
//! `--dry-run` changes nothing, and a property-style test drives random
//! source histories through four snapshots checking the invariants and that
//! current rows equal the source.

mod common;

use common::snapshot_states::{write_state, STATES};
use common::{Rng, TempProject};

const SNAPSHOTS: &[&str] = &[
    "ts_ignore",
    "ts_invalidate",
    "ts_new_record",
    "ts_composite",
    "check_tier",
    "check_all",
    "t1_ignore",
    "t1_delete",
    "yaml_check",
];

/// A snapshot table as text: every column but the scd id, ordered.
fn dump(p: &TempProject, name: &str) -> String {
    let cols = p.query(&format!(
        "select column_name from information_schema.columns where table_schema = 'snapshots' and table_name = '{name}' and column_name not in ('dbt_scd_id', 'scd_id') order by ordinal_position"
    ));
    let cols: Vec<String> = cols.into_iter().map(|r| r[0].clone().unwrap()).collect();
    let select = cols
        .iter()
        .map(|c| format!("coalesce(cast(\"{c}\" as varchar), 'NULL')"))
        .collect::<Vec<_>>()
        .join(" || ' | ' || ");
    let rows = p.query(&format!(
        "select {select} from snapshots.{name} order by all"
    ));
    let mut out = cols.join(" | ");
    for r in rows {
        out.push('\n');
        out.push_str(r[0].as_deref().unwrap_or(""));
    }
    out
}

fn snapshot_at(p: &TempProject, args: &[&str], time: &str) -> common::Run {
    p.sluice_env(args, &[("SLUICE_SNAPSHOT_TIME", time)])
}

#[test]
fn replay_every_strategy_through_insert_update_delete_reinsert_rerun() {
    let p = TempProject::copy_of("tests/projects/snapshots");
    let mut history: Vec<(String, Vec<String>)> = SNAPSHOTS
        .iter()
        .map(|s| (s.to_string(), Vec::new()))
        .collect();
    for (step, (what, rows)) in STATES.iter().enumerate() {
        write_state(&p, rows);
        let time = format!("2024-02-0{} 00:00:00", step + 1);
        let seed = p.sluice(&["seed", "-q"]);
        assert_eq!(seed.code, 0, "{}", seed.stderr);
        let run = snapshot_at(&p, &["snapshot"], &time);
        assert_eq!(run.code, 0, "step {step} ({what}): {}", run.stderr);
        if *what == "unchanged rerun" {
            // Nothing changes on an unchanged source (dbt pins the same).
            let zero = run
                .stderr
                .lines()
                .filter(|l| l.contains("OK snapshotted"))
                .all(|l| l.contains("INSERT 0, UPDATE 0, "));
            assert!(zero, "{}", run.stderr);
        }
        for (name, steps) in &mut history {
            steps.push(format!(
                "-- run {} at {time}: {what}\n{}",
                step + 1,
                dump(&p, name)
            ));
        }
    }
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        for (name, steps) in history {
            insta::assert_snapshot!(format!("snapshot_replay__{name}"), steps.join("\n\n"));
        }
    });
}

/// A copy of the snapshots project with the first source state seeded and
/// snapshotted into `ts_ignore`, and that table's dump.
fn ts_ignore_after_first_state() -> (TempProject, String) {
    let p = TempProject::copy_of("tests/projects/snapshots");
    write_state(&p, STATES[0].1);
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
    let first = snapshot_at(&p, &["snapshot", "-s", "ts_ignore"], "2024-02-01 00:00:00");
    assert_eq!(first.code, 0, "{}", first.stderr);
    let before = dump(&p, "ts_ignore");
    (p, before)
}

#[test]
fn duplicate_source_keys_fail_and_roll_back() {
    // dbt silently writes two current rows here; sluice refuses.
    let (p, before) = ts_ignore_after_first_state();
    write_state(
        &p,
        &format!("{}\n2,eu,Bob,gold,2024-01-09 00:00:00", STATES[1].1),
    );
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
    let run = snapshot_at(&p, &["snapshot", "-s", "ts_ignore"], "2024-02-02 00:00:00");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the source has more than one row for a unique_key"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("keys: 2 (2)"), "{}", run.stderr);
    assert_eq!(dump(&p, "ts_ignore"), before, "rolled back");
}

#[test]
fn null_source_keys_fail_and_roll_back() {
    // dbt matches a NULL unique_key to nothing, so every run adds another
    // current row for it; sluice refuses the row, and does not call one
    // NULL key a duplicate.
    let (p, before) = ts_ignore_after_first_state();
    write_state(
        &p,
        &format!("{}\n,eu,Nobody,gold,2024-01-09 00:00:00", STATES[1].1),
    );
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
    let run = snapshot_at(&p, &["snapshot", "-s", "ts_ignore"], "2024-02-02 00:00:00");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the source has 1 row(s) whose unique_key is NULL"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("more than one row"), "{}", run.stderr);
    assert_eq!(dump(&p, "ts_ignore"), before, "rolled back");
}

#[test]
fn broken_snapshot_macros_trip_the_invariant_checks_and_roll_back() {
    // The invariant checks are the safety net for project overrides of the
    // snapshot macros: each broken `snapshot_close_sql` below must fail the
    // run naming the keys and the problem, and leave the table as it was.
    let cases = [
        (
            "select 1",
            "1 (more than one current row), 2 (more than one current row)",
        ),
        (
            "update {{ s.target }} set {{ s.meta.valid_to }} = {{ s.meta.valid_from }} \
             from __sluice_snap_changes ch where ch.__sluice_key = {{ s.key }} and {{ s.current }}",
            "1 (dbt_valid_from is not before dbt_valid_to), 2 (dbt_valid_from is not before dbt_valid_to)",
        ),
        (
            "update {{ s.target }} set {{ s.meta.valid_to }} = ch.__sluice_time + interval 1 day \
             from __sluice_snap_changes ch where ch.__sluice_key = {{ s.key }} and {{ s.current }}",
            "1 (versions overlap), 2 (versions overlap)",
        ),
    ];
    for (close, keys) in cases {
        let (p, before) = ts_ignore_after_first_state();
        p.write(
            "macros/broken_close.sql",
            &format!("{{% macro snapshot_close_sql(s) -%}}\n{close}\n{{%- endmacro %}}\n"),
        );
        write_state(&p, STATES[1].1);
        assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
        let run = snapshot_at(&p, &["snapshot", "-s", "ts_ignore"], "2024-02-02 00:00:00");
        assert_eq!(run.code, 1, "{close}: {}", run.stderr);
        assert!(
            run.stderr.contains("the snapshot's invariants would break"),
            "{close}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("keys: {keys}")),
            "{close}: {}",
            run.stderr
        );
        assert_eq!(dump(&p, "ts_ignore"), before, "{close}: rolled back");
    }
}

#[test]
fn mixing_naive_and_aware_timestamps_is_an_error() {
    let p = TempProject::copy_of("tests/projects/snapshots");
    write_state(&p, STATES[0].1);
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
    assert_eq!(
        snapshot_at(&p, &["snapshot", "-s", "ts_ignore"], "2024-02-01 00:00:00").code,
        0
    );
    let before = dump(&p, "ts_ignore");
    p.write(
        "snapshots/timestamp.sql",
        &p.read("snapshots/timestamp.sql").replace(
            "{% snapshot ts_ignore %}\n{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}\nselect * from",
            "{% snapshot ts_ignore %}\n{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}\nselect * replace (cast(updated_at as timestamptz) as updated_at) from",
        ),
    );
    let run = snapshot_at(&p, &["snapshot", "-s", "ts_ignore"], "2024-02-02 00:00:00");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("mixing naive and time-zone-aware timestamps"),
        "{}",
        run.stderr
    );
    assert_eq!(dump(&p, "ts_ignore"), before);
}

#[test]
fn dry_run_reports_the_changes_and_writes_nothing() {
    let p = TempProject::copy_of("tests/projects/snapshots");
    write_state(&p, STATES[0].1);
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
    assert_eq!(
        snapshot_at(&p, &["snapshot"], "2024-02-01 00:00:00").code,
        0
    );
    let before: Vec<String> = SNAPSHOTS.iter().map(|s| dump(&p, s)).collect();
    write_state(&p, STATES[2].1);
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
    let dry = snapshot_at(
        &p,
        &["snapshot", "--dry-run", "-s", "ts_invalidate"],
        "2024-02-02 00:00:00",
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    // 1 and 2 changed (closed and re-inserted), 4 is new, 3 is invalidated.
    assert!(
        dry.stderr
            .contains("WOULD INSERT 3, UPDATE 2, INVALIDATE 1"),
        "{}",
        dry.stderr
    );
    let after: Vec<String> = SNAPSHOTS.iter().map(|s| dump(&p, s)).collect();
    assert_eq!(before, after);
}

#[test]
fn build_runs_snapshots_before_the_models_that_read_them() {
    let p = TempProject::copy_of("tests/projects/snapshots");
    write_state(&p, STATES[0].1);
    let build = snapshot_at(&p, &["build"], "2024-02-01 00:00:00");
    assert_eq!(build.code, 0, "{}", build.stderr);
    assert_eq!(p.scalar("select count(*) from main.current_tiers"), 3);
}

#[test]
fn random_histories_keep_the_invariants_and_current_rows_equal_the_source() {
    // Property-style: random sequences of source states (keys appearing,
    // changing, disappearing, coming back) through snapshots whose current
    // rows must equal the source: check/new_record, check/invalidate via
    // check_tier's columns, timestamp/invalidate, type1/delete.
    let p = TempProject::copy_of("tests/projects/snapshots");
    let tiers = ["gold", "silver", "bronze"];
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for sequence in 0..6 {
        // A fresh history for each sequence.
        let _ = std::fs::remove_file(p.db_path());
        // Per key: (present, tier, updated_at day).
        let mut keys: Vec<(bool, usize, u32)> = (0..6).map(|_| (false, 0, 1)).collect();
        for step in 0..6 {
            for k in keys.iter_mut() {
                match rng.below(4) {
                    0 => k.0 = !k.0,
                    1 => {
                        k.1 = (k.1 + 1 + rng.below(2)) % 3;
                        k.2 += 1;
                    }
                    _ => {}
                }
            }
            let rows: Vec<String> = keys
                .iter()
                .enumerate()
                .filter(|(_, k)| k.0)
                .map(|(i, k)| {
                    format!(
                        "{},eu,n{},{},2024-01-{:02} 00:00:00",
                        i + 1,
                        i + 1,
                        tiers[k.1],
                        k.2.min(28)
                    )
                })
                .collect();
            write_state(&p, &rows.join("\n"));
            assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
            let time = format!("2024-03-{:02} {:02}:00:00", sequence + 1, step + 1);
            let run = snapshot_at(
                &p,
                &[
                    "snapshot",
                    "-s",
                    "check_all",
                    "check_tier",
                    "ts_invalidate",
                    "t1_delete",
                ],
                &time,
            );
            assert_eq!(
                run.code, 0,
                "sequence {sequence} step {step}: {}",
                run.stderr
            );
            let source = p.query("select id, name, tier from main.src order by all");
            for (name, current) in [
                (
                    "check_all",
                    "dbt_valid_to is null and dbt_is_deleted = 'False'",
                ),
                ("check_tier", "dbt_valid_to is null"),
                ("ts_invalidate", "dbt_valid_to is null"),
                ("t1_delete", "true"),
            ] {
                let cols = if name == "check_tier" || name == "t1_delete" {
                    "id, tier"
                } else {
                    "id, name, tier"
                };
                let want = p.query(&format!("select {cols} from main.src order by all"));
                let got = p.query(&format!(
                    "select {cols} from snapshots.{name} where {current} order by all"
                ));
                assert_eq!(got, want, "{name}, sequence {sequence} step {step}");
                assert!(!source.is_empty() || got.is_empty());
                if name == "t1_delete" {
                    continue;
                }
                // The invariants, checked independently of sluice's own check.
                let bad = p.scalar(&format!(
                    "with v as (select id, dbt_valid_from as vf, dbt_valid_to as vt,
                                lead(dbt_valid_from) over (partition by id order by dbt_valid_from) as next_vf
                         from snapshots.{name})
                     select count(*) from v
                     where (vt is not null and vt <= vf)
                        or (next_vf is not null and (vt is null or vt > next_vf))"
                ));
                assert_eq!(bad, 0, "{name} intervals, sequence {sequence} step {step}");
                let many = p.scalar(&format!(
                    "select count(*) from (select id from snapshots.{name} where dbt_valid_to is null group by id having count(*) > 1)"
                ));
                assert_eq!(
                    many, 0,
                    "{name} current rows, sequence {sequence} step {step}"
                );
            }
        }
    }
}

/// As dbt's parser: a snapshot without a strategy is a project error (exit
/// 2) at its `config(` call, found before any database is opened.
#[test]
fn a_snapshot_without_a_strategy_fails_with_a_hint() {
    let p = TempProject::copy_of("tests/projects/snapshots");
    write_state(&p, STATES[0].1);
    assert_eq!(p.sluice(&["seed", "-q"]).code, 0);
    p.write(
        "snapshots/broken.sql",
        "{% snapshot broken %}\n{{ config(unique_key='id') }}\nselect * from {{ ref('src') }}\n{% endsnapshot %}\n",
    );
    let run = snapshot_at(&p, &["snapshot", "-s", "broken"], "2024-02-01 00:00:00");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("snapshots/broken.sql:2:4"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("snapshot `broken`: no `strategy` is set"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: set strategy='timestamp'"),
        "{}",
        run.stderr
    );
}

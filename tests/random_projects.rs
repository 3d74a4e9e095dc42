//! Random projects (issue 19's property test): random DAGs of models with
//! random names, folders, materializations, aliases, schemas, refs (cycles
//! and missing ones included), broken SQL, seeds with ragged rows and
//! schema tests, built by the real binary on a real DuckDB file. Each
//! project either builds, and then every enabled model's relation exists
//! and a second build succeeds too, or fails with exit 1 or 2 and an error
//! located in a file of the project; never a crash, a panic or an
//! internal error. proptest shrinks a failing project to a small one.
//!
//! `PROPTEST_CASES` sets the number of projects (default 96).

use std::path::Path;
use std::process::Command;

use proptest::prelude::*;

/// Model names: plain, reserved words, dbt-looking, mixed case, unicode,
/// names of sluice's own temp relations, and one shared with a seed.
const NAMES: &[&str] = &[
    "orders",
    "customers",
    "m1",
    "m_2",
    "Mixed",
    "select",
    "order",
    "stg__x",
    "ünïcode",
    "orders__sluice_tmp",
    "orders__sluice_incr",
    "seed_a",
    "x",
    "long_name_of_a_model_here",
];

const MATERIALIZATIONS: &[&str] = &["table", "view", "incremental", "ephemeral", "tabel"];

const SCHEMAS: &[&str] = &["marts", "raw", "main", "Marts", "x-y"];

#[derive(Debug, Clone)]
struct Model {
    name: usize,
    /// Whether the name gets the model's index as a suffix (most do, so
    /// that clashes are the exception they are in real projects).
    suffixed: bool,
    folder: usize,
    materialized: usize,
    /// Refs, each an earlier model (by distance back), or now and then any
    /// index: self, later and missing indexes make cycles and refs to
    /// nothing.
    refs: Vec<Ref>,
    alias: Option<usize>,
    schema: Option<usize>,
    enabled: bool,
    body: Body,
}

#[derive(Debug, Clone, Copy)]
enum Ref {
    /// The model this many places before (none before the first).
    Back(usize),
    /// Model `n`, whatever it is.
    Any(usize),
}

#[derive(Debug, Clone, Copy)]
enum Body {
    /// `select ... as id` over the refs.
    Good,
    /// A SQL syntax error.
    Syntax,
    /// A column that is not there.
    MissingColumn,
    /// A Jinja error.
    Jinja,
}

#[derive(Debug, Clone)]
struct Seed {
    name: usize,
    rows: Vec<Vec<u8>>,
    ragged: bool,
}

#[derive(Debug, Clone)]
struct Project {
    models: Vec<Model>,
    seeds: Vec<Seed>,
    /// Generic tests on `id`, by model index: (model, test kind).
    tests: Vec<(usize, usize)>,
}

fn model() -> impl Strategy<Value = Model> {
    (
        (0..NAMES.len(), prop::bool::weighted(0.7)),
        0..3usize,
        prop_oneof![9 => 0..4usize, 1 => Just(4usize)],
        prop::collection::vec(
            prop_oneof![9 => (1..4usize).prop_map(Ref::Back), 1 => (0..10usize).prop_map(Ref::Any)],
            0..3,
        ),
        prop::option::weighted(0.15, 0..NAMES.len()),
        prop::option::weighted(0.2, 0..SCHEMAS.len()),
        prop::bool::weighted(0.9),
        prop_oneof![
            40 => Just(Body::Good),
            1 => Just(Body::Syntax),
            1 => Just(Body::MissingColumn),
            1 => Just(Body::Jinja),
        ],
    )
        .prop_map(
            |((name, suffixed), folder, materialized, refs, alias, schema, enabled, body)| Model {
                name,
                suffixed,
                folder,
                materialized,
                refs,
                alias,
                schema,
                enabled,
                body,
            },
        )
}

fn project() -> impl Strategy<Value = Project> {
    (
        prop::collection::vec(model(), 1..8),
        prop::collection::vec(
            (
                0..NAMES.len(),
                prop::collection::vec(prop::collection::vec(0..3u8, 2), 0..4),
                prop::bool::weighted(0.1),
            )
                .prop_map(|(name, rows, ragged)| Seed { name, rows, ragged }),
            0..2,
        ),
        prop::collection::vec((0..10usize, 0..3usize), 0..3),
    )
        .prop_map(|(models, seeds, tests)| Project {
            models,
            seeds,
            tests,
        })
}

/// Model `i`'s name (its file's stem).
fn name_of(p: &Project, i: usize) -> String {
    let m = &p.models[i];
    if m.suffixed {
        format!("{}_{i}", NAMES[m.name])
    } else {
        NAMES[m.name].to_owned()
    }
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Writes `p` as a project under `root`. Returns the models written, by
/// index: a model whose folder and name repeat an earlier one's is not
/// (it would be the same file).
fn write_project(root: &Path, p: &Project) -> Vec<usize> {
    let mut written = Vec::new();
    let mut files = std::collections::HashSet::new();
    write(
        root,
        "dbt_project.yml",
        "name: prop\nversion: '1.0'\nconfig-version: 2\nprofile: prop\n",
    );
    for (i, m) in p.models.iter().enumerate() {
        let folder = ["", "sub/", "a/b/"][m.folder];
        let mut config = vec![format!(
            "materialized='{}'",
            MATERIALIZATIONS[m.materialized]
        )];
        if m.materialized == 2 {
            config.push("unique_key='id'".into());
        }
        if let Some(a) = m.alias {
            config.push(format!("alias='{}'", NAMES[a]));
        }
        if let Some(s) = m.schema {
            config.push(format!("schema='{}'", SCHEMAS[s]));
        }
        if !m.enabled {
            config.push("enabled=false".into());
        }
        let froms: Vec<String> = m
            .refs
            .iter()
            .filter_map(|&r| match r {
                Ref::Back(d) => i.checked_sub(d),
                Ref::Any(n) => Some(n),
            })
            .map(|r| {
                let target = p.models.get(r).map_or("nowhere".into(), |_| name_of(p, r));
                format!("select id from {{{{ ref('{target}') }}}}")
            })
            .collect();
        let select = match m.body {
            Body::Good => format!("select {i} as id"),
            Body::Syntax => "selec 1 as id from".to_owned(),
            Body::MissingColumn => "select no_such_column as id".to_owned(),
            Body::Jinja => "select {{ 1 + }} as id".to_owned(),
        };
        let body = std::iter::once(select)
            .chain(froms)
            .collect::<Vec<_>>()
            .join("\nunion all\n");
        let file = format!("models/{folder}{}.sql", name_of(p, i));
        if files.insert(file.clone()) {
            write(
                root,
                &file,
                &format!("{{{{ config({}) }}}}\n{body}\n", config.join(", ")),
            );
            written.push(i);
        }
    }
    for s in &p.seeds {
        let mut csv = String::from("id,v\n");
        for (k, row) in s.rows.iter().enumerate() {
            csv.push_str(&format!("{},{}\n", k, row[1]));
            if s.ragged && k == 0 {
                csv.push_str("9\n");
            }
        }
        write(root, &format!("seeds/{}.csv", NAMES[s.name]), &csv);
    }
    if !p.tests.is_empty() {
        // One entry per model (two would be a duplicate-entry error).
        let mut by_model: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
        for &(m, kind) in &p.tests {
            let name = p.models.get(m).map_or("nowhere".into(), |_| name_of(p, m));
            let test = [
                "unique",
                "not_null",
                "accepted_values:\n              values: [0, 1]",
            ][kind];
            by_model.entry(name).or_default().push(test);
        }
        let mut yml = String::from("version: 2\nmodels:\n");
        for (name, tests) in by_model {
            yml.push_str(&format!(
                "  - name: {name}\n    columns:\n      - name: id\n        data_tests:\n"
            ));
            for test in tests {
                yml.push_str(&format!("          - {test}\n"));
            }
        }
        write(root, "models/schema.yml", &yml);
    }
    written
}

struct Run {
    code: Option<i32>,
    stderr: String,
}

fn build(root: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["build", "-q", "--threads", "2", "--project-dir"])
        .arg(root)
        .current_dir(root)
        .env("HOME", root)
        .env("NO_COLOR", "1")
        .env_remove("DBT_PROFILES_DIR")
        .output()
        .expect("run sluice");
    Run {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Whether `stderr` has an error located at `path:line:col` in a file
/// that exists under `root`.
fn has_located_error(root: &Path, stderr: &str) -> bool {
    stderr.lines().any(|line| {
        let Some((_, rest)) = line.split_once("--> ") else {
            return false;
        };
        let mut parts = rest.rsplitn(3, ':');
        let (Some(col), Some(line_no), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        col.parse::<u32>().is_ok() && line_no.parse::<u32>().is_ok() && root.join(path).exists()
    })
}

fn check(p: &Project) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let written = write_project(root, p);
    let first = build(root);
    eprintln!(
        "random project: exit {:?} {}",
        first.code,
        first
            .stderr
            .lines()
            .find(|l| l.contains("error"))
            .unwrap_or("")
            .chars()
            .take(60)
            .collect::<String>()
    );
    let shown = || {
        format!(
            "project: {p:#?}\nmodels written: {written:?}\nstderr:\n{}",
            first.stderr
        )
    };
    prop_assert!(
        matches!(first.code, Some(0..=2)),
        "exit {:?} (a crash)\n{}",
        first.code,
        shown()
    );
    prop_assert!(
        !first.stderr.contains("panicked") && !first.stderr.contains("internal error"),
        "{}",
        shown()
    );
    // Data tests that find rows fail the build (exit 1) as dbt's do: a
    // verdict on the data, not an error in a file.
    let only_test_failures = first.code == Some(1)
        && first.stderr.contains("Failure in test")
        && !first.stderr.contains("Error in ");
    if first.code != Some(0) && !only_test_failures {
        prop_assert!(
            has_located_error(root, &first.stderr),
            "an error with no location\n{}",
            shown()
        );
        return Ok(());
    }
    if only_test_failures {
        return Ok(());
    }
    // It built: every enabled, materialized model's relation is there...
    let db = root.join("prop.duckdb");
    let conn = sluice::adapter::duckdb::open_connection(&db.to_string_lossy(), &Default::default())
        .expect("open the database");
    for (i, m) in written
        .iter()
        .map(|&i| (i, &p.models[i]))
        .filter(|(_, m)| m.enabled && m.materialized != 3)
    {
        let name = m
            .alias
            .map_or_else(|| name_of(p, i), |a| NAMES[a].to_owned())
            .to_lowercase();
        let n: i64 = conn
            .query_row(
                "select count(*) from information_schema.tables where lower(table_name) = ?",
                [&name],
                |r| r.get(0),
            )
            .unwrap();
        prop_assert!(n >= 1, "relation {name} missing after exit 0\n{}", shown());
    }
    drop(conn);
    // ...and building again on the existing warehouse succeeds too.
    let second = build(root);
    prop_assert_eq!(
        second.code,
        Some(0),
        "the second build failed:\n{}",
        second.stderr
    );
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_projects_build_or_fail_located(p in project()) {
        check(&p)?;
    }
}

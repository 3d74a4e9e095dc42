//! Insta snapshots of what `sluice compile` writes under target/compiled/:
//! every example_project model, test and analysis, and every compat fixture
//! model and test, so a change to rendering shows as a diff. The real binary
//! runs on a temp copy of each project, as a user runs it.

mod common;

use std::path::Path;

use common::TempProject;

/// Every file under `dir`: its path relative to `dir` (with `/`) and text,
/// sorted by path.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap();
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push((rel.join("/"), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Runs `sluice compile` on `project` from a clean target/compiled/ and
/// returns the files it wrote there; as many as the nodes it says it compiled.
fn sluice_compile(project: &TempProject) -> Vec<(String, String)> {
    let compiled = project.root().join("target/compiled");
    if compiled.exists() {
        std::fs::remove_dir_all(&compiled).unwrap();
    }
    let run = project.sluice(&["compile"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let count: usize = regex::Regex::new(r"Compiled (\d+) nodes? to target/compiled")
        .unwrap()
        .captures(&run.stderr)
        .unwrap_or_else(|| panic!("no summary line in {}", run.stderr))[1]
        .parse()
        .unwrap();
    let files = files_under(&compiled);
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(files.len(), count, "{paths:#?}");
    files
}

/// Snapshots each file as `<prefix>__<path with / as __>`.
fn snapshot_each(prefix: &str, files: &[(String, String)]) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (path, sql) in files {
            let name = format!("{prefix}__{}", path.replace('/', "__"));
            insta::assert_snapshot!(name, sql);
        }
    });
}

#[test]
fn compiled_sql_of_every_example_model() {
    let project = TempProject::new();
    let files = sluice_compile(&project);
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    // Models, a singular test, a generic test (under its YAML file, as
    // dbt), an analysis.
    for expected in [
        "shop_analytics/models/marts/customers.sql",
        "shop_analytics/models/staging/stg_orders.sql",
        "shop_analytics/tests/assert_order_amounts_match_payments.sql",
        "shop_analytics/models/marts/_marts.yml/unique_orders_order_id.sql",
        "shop_analytics/analyses/top_customers.sql",
    ] {
        assert!(paths.contains(&expected), "{expected} not in {paths:#?}");
    }
    snapshot_each("compiled", &files);
}

#[test]
fn compiled_sql_of_every_compat_model() {
    // The compat fixture (tests/projects/compat): incremental models compile
    // without their is_incremental() filter on a first run, ephemerals are
    // inlined as CTEs. status_pivot runs run_query while compiling: `sluice
    // compile` compiles it against the warehouse, as dbt's compile does, so
    // its upstream models are built first (and nothing else, so the
    // incremental models have no table yet).
    let project = TempProject::copy_of("tests/projects/compat");
    let build = project.sluice(&["build", "-q", "--select", "+status_pivot"]);
    assert_eq!(build.code, 0, "{}{}", build.stdout, build.stderr);
    let files = sluice_compile(&project);
    let pivot = files
        .iter()
        .find(|(p, _)| p == "compat/models/status_pivot.sql")
        .map(|(_, sql)| sql.as_str())
        .unwrap_or_default();
    assert!(
        pivot.contains("then amount else 0 end) as new_amount"),
        "status_pivot not compiled against the warehouse:\n{pivot}"
    );
    snapshot_each("compat_compiled", &files);
}

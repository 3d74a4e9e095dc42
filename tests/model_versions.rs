//! Model versions (dbt 1.5), end to end on a real DuckDB file: one relation
//! per version, `ref()` to the latest or a pinned version, the version
//! fields of manifest.json (an insta snapshot), the `version:` selector,
//! `deprecation_date` warnings and a version without its file.

mod common;

use common::TempProject;

const PROJECT: &str = "tests/projects/versions";

/// As dbt: each version builds its own relation `<model>_v<v>` (dbt's
/// default alias for a version); `ref('m')` reads the latest version and
/// `ref('m', v=1)` the first; each version gets the data tests of its
/// resolved columns (v1 keeps `country_name` and drops `email`; v2 adds
/// `country_code` with its own test).
#[test]
fn each_version_is_a_model_and_refs_pick_one() {
    let p = TempProject::copy_of(PROJECT);
    let out = p.sluice(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(p.scalar("select count(*) from main.dim_customers_v1"), 2);
    assert_eq!(p.scalar("select count(*) from main.dim_customers_v2"), 2);
    assert_eq!(
        p.table("main.reads_latest"),
        [
            [Some("1".into()), Some("FR".into())],
            [Some("2".into()), Some("ES".into())]
        ]
    );
    assert_eq!(
        p.scalar("select count(*) from main.reads_v1 where country_name = 'France'"),
        1
    );
    let ls = p.sluice(&["ls", "-q", "--resource-type", "test"]);
    let tests: Vec<&str> = ls.stdout.lines().collect();
    assert_eq!(
        tests,
        [
            "versions.not_null_dim_customers_v1_customer_id",
            "versions.not_null_dim_customers_v2_country_code",
            "versions.not_null_dim_customers_v2_customer_id",
            "versions.unique_dim_customers_v1_customer_id",
            "versions.unique_dim_customers_v2_customer_id",
        ],
        "{}",
        ls.stderr
    );
    // dbt's `version:` selector, and the model's name selecting every version.
    let latest = p.sluice(&[
        "ls",
        "-q",
        "-s",
        "version:latest",
        "--resource-type",
        "model",
    ]);
    assert_eq!(
        latest.stdout.trim(),
        "versions.dim_customers.v2",
        "{}",
        latest.stderr
    );
    let old = p.sluice(&["ls", "-q", "-s", "version:old", "--resource-type", "model"]);
    assert_eq!(
        old.stdout.trim(),
        "versions.dim_customers.v1",
        "{}",
        old.stderr
    );
    let all = p.sluice(&[
        "ls",
        "-q",
        "-s",
        "dim_customers",
        "--resource-type",
        "model",
    ]);
    assert_eq!(all.stdout.lines().count(), 2, "{}", all.stdout);
}

/// manifest.json speaks of versions as dbt's: unique_id
/// `model.<pkg>.<model>.v<v>`, `name` the model's, `version`,
/// `latest_version`, `deprecation_date`, the fqn ending in `v<v>`, and refs
/// naming the model with the pinned version (none for the latest).
#[test]
fn manifest_version_fields_as_dbt() {
    let p = TempProject::copy_of(PROJECT);
    let out = p.sluice(&["parse"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    let nodes = &manifest["nodes"];
    let pick = |uid: &str, keys: &[&str]| {
        let node = &nodes[uid];
        let mut out = serde_json::Map::new();
        for k in keys {
            out.insert((*k).to_owned(), node[*k].clone());
        }
        serde_json::Value::Object(out)
    };
    let keys = [
        "name",
        "version",
        "latest_version",
        "deprecation_date",
        "alias",
        "fqn",
        "relation_name",
    ];
    let shown = serde_json::json!({
        "model.versions.dim_customers.v1": pick("model.versions.dim_customers.v1", &keys),
        "model.versions.dim_customers.v2": pick("model.versions.dim_customers.v2", &keys),
        "model.versions.reads_latest": pick("model.versions.reads_latest", &["refs", "depends_on", "version"]),
        "model.versions.reads_v1": pick("model.versions.reads_v1", &["refs", "depends_on"]),
        "v1 columns": nodes["model.versions.dim_customers.v1"]["columns"].as_object().unwrap().keys().collect::<Vec<_>>(),
        "v2 columns": nodes["model.versions.dim_customers.v2"]["columns"].as_object().unwrap().keys().collect::<Vec<_>>(),
    });
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("manifest_versions", serde_json::to_string_pretty(&shown).unwrap());
    });
}

/// As dbt's `DeprecatedModel` and `DeprecatedReference` warnings: a
/// version past its `deprecation_date` warns at its YAML entry, and each
/// model that refs it warns at the ref; the build still succeeds.
#[test]
fn deprecated_versions_warn_where_they_are_defined_and_used() {
    let p = TempProject::copy_of(PROJECT);
    let out = p.sluice(&["parse"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("model `dim_customers` version 1 is deprecated"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("models/dim_customers.yml:2:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("model `reads_v1` refers to version 1 of `dim_customers`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("models/reads_v1.sql:1:"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("`reads_latest` refers"),
        "{}",
        out.stderr
    );
}

/// A version whose file is missing is a located error (exit 2) naming the
/// file, before anything renders; so is a `latest_version` not listed.
#[test]
fn a_version_without_its_file_is_a_located_error() {
    let p = TempProject::copy_of(PROJECT);
    std::fs::remove_file(p.root().join("models/dim_customers_v2.sql")).unwrap();
    let out = p.sluice(&["parse"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no model file `dim_customers_v2.sql`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("models/dim_customers.yml:2:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    let p = TempProject::copy_of(PROJECT);
    let yml = p
        .read("models/dim_customers.yml")
        .replace("latest_version: 2", "latest_version: 3");
    p.write("models/dim_customers.yml", &yml);
    let out = p.sluice(&["parse"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("latest_version 3"), "{}", out.stderr);
}

//! Insta snapshots of the compiled SQL of every example_project model,
//! test and analysis, so a change to rendering shows as a diff.

use sluice::compile::compile_node;
use sluice::manifest::{Manifest, ResourceType};
use sluice::project::{LoadOptions, ProfileOptions, Project};
use sluice::render::Renderer;

#[test]
fn compiled_sql_of_every_example_model() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("example_project");
    // A profiles dir of our own keeps a user's ~/.dbt out of the picture; the
    // file stem gives the database name `shop_analytics`, as the embedded default.
    let profiles = tempfile::tempdir().unwrap();
    std::fs::write(
        profiles.path().join("profiles.yml"),
        "shop_analytics:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: shop_analytics.duckdb}\n",
    )
    .unwrap();
    let options = LoadOptions {
        project_dir: dir,
        profile: ProfileOptions {
            profiles_dir: Some(profiles.path().into()),
            target: None,
        },
        vars: None,
    };
    let project = Project::load(&options).unwrap();
    let renderer = Renderer::new(&project).unwrap();
    let manifest = Manifest::build(&project, &renderer).unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        let mut count = 0;
        for node in &manifest.nodes {
            if !matches!(
                node.resource_type,
                ResourceType::Model | ResourceType::Analysis | ResourceType::Test
            ) {
                continue;
            }
            let sql = compile_node(&renderer, &manifest.resolver, node).unwrap();
            let name = format!("compiled__{}__{}", node.resource_type.as_str(), node.name);
            insta::assert_snapshot!(name, sql);
            count += 1;
        }
        assert!(
            count >= 25,
            "expected every model, analysis and test, got {count}"
        );
    });
}

#[test]
fn compiled_sql_of_every_compat_model() {
    // The compat fixture (tests/projects/compat): incremental models compile
    // without their is_incremental() filter on a first run, ephemerals are
    // inlined as CTEs.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/projects/compat");
    let profiles = tempfile::tempdir().unwrap();
    std::fs::write(
        profiles.path().join("profiles.yml"),
        "compat:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: compat.duckdb}\n",
    )
    .unwrap();
    let options = LoadOptions {
        project_dir: dir,
        profile: ProfileOptions {
            profiles_dir: Some(profiles.path().into()),
            target: None,
        },
        vars: None,
    };
    let project = Project::load(&options).unwrap();
    let renderer = Renderer::new(&project).unwrap();
    let manifest = Manifest::build(&project, &renderer).unwrap();
    let models: std::collections::BTreeSet<usize> = manifest
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.resource_type == ResourceType::Model)
        .map(|(i, _)| i)
        .collect();
    let out = tempfile::tempdir().unwrap();
    let compiled = sluice::compile::compile_all(
        &renderer,
        &manifest,
        &manifest.resolver,
        &models,
        out.path(),
        "target",
    );
    assert_eq!(compiled.len(), models.len());
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (i, result) in compiled {
            let name = format!("compat_compiled__{}", manifest.nodes[i].name);
            insta::assert_snapshot!(name, result.unwrap().code);
        }
    });
}

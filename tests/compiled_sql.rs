//! Insta snapshots of the compiled SQL of every example_project model,
//! test and analysis, and of every compat fixture model, so a change to
//! rendering shows as a diff.

mod common;

use sluice::compile::{compile_all, compile_node};
use sluice::manifest::{Manifest, ResourceType};
use sluice::project::{LoadOptions, ProfileOptions, Project};
use sluice::render::Renderer;

/// Parses the project at `rel` (from the repository root) with a profiles
/// dir of our own, which keeps a user's ~/.dbt out of the picture; the file
/// stem `<name>.duckdb` gives the database name, as the embedded default.
fn parse(rel: &str, name: &str) -> (Renderer, Manifest) {
    let profiles = tempfile::tempdir().unwrap();
    std::fs::write(
        profiles.path().join("profiles.yml"),
        format!(
            "{name}:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: {name}.duckdb}}\n"
        ),
    )
    .unwrap();
    let options = LoadOptions {
        project_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel),
        profile: ProfileOptions {
            profiles_dir: Some(profiles.path().into()),
            target: None,
        },
        vars: None,
    };
    let project = Project::load(&options, &sluice::render::ProjectJinja).unwrap();
    let renderer = Renderer::new(&project).unwrap();
    let manifest = Manifest::build(&project, &renderer).unwrap();
    (renderer, manifest)
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn compiled_sql_of_every_example_model() {
    let (renderer, manifest) = parse("example_project", "shop_analytics");
    snapshot_settings().bind(|| {
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
    let (renderer, manifest) = parse("tests/projects/compat", "compat");
    let models: std::collections::BTreeSet<usize> = manifest
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.resource_type == ResourceType::Model)
        .map(|(i, _)| i)
        .collect();
    let out = tempfile::tempdir().unwrap();
    let compiled = compile_all(
        &renderer,
        &manifest,
        &manifest.resolver,
        &models,
        out.path(),
        "target",
        sluice::lineage::Lineage::Skip,
        sluice::adapter::duckdb::parser_accepts,
    );
    assert_eq!(compiled.len(), models.len());
    // A model that runs run_query while compiling is compiled against the
    // warehouse right before it runs, as in dbt: snapshot the SQL a real
    // build wrote for it.
    let built = common::TempProject::copy_of("tests/projects/compat");
    let build = built.sluice(&["build", "-q"]);
    assert_eq!(build.code, 0, "{}", build.stderr);
    snapshot_settings().bind(|| {
        let mut introspective = 0;
        for (i, result) in compiled {
            let node = &manifest.nodes[i];
            let name = format!("compat_compiled__{}", node.name);
            let compiled = result.unwrap();
            let code = if compiled.introspective {
                introspective += 1;
                built.read(&compiled.path.to_string_lossy())
            } else {
                compiled.code
            };
            insta::assert_snapshot!(name, code);
        }
        assert_eq!(introspective, 1, "status_pivot runs run_query");
    });
}

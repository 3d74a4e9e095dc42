//! `init`, as dbt's: scaffold a new project that builds as it is.

use std::path::Path;

use crate::commands::invocation::Outcome;
use crate::error::{Error, ErrorKind, Result};

/// The files of a new project, `(path, text)`; `{name}` is the project's.
/// It needs no profiles.yml: sluice's default target is an embedded DuckDB
/// file in the project (`<name>.duckdb`).
const FILES: &[(&str, &str)] = &[
    (
        "dbt_project.yml",
        "name: '{name}'\nversion: '1.0.0'\nconfig-version: 2\nprofile: '{name}'\n\nmodel-paths: [\"models\"]\nseed-paths: [\"seeds\"]\ntest-paths: [\"tests\"]\nanalysis-paths: [\"analyses\"]\nmacro-paths: [\"macros\"]\nsnapshot-paths: [\"snapshots\"]\n\nclean-targets: [\"target\", \"dbt_packages\"]\n\nmodels:\n  {name}:\n    example:\n      +materialized: view\n",
    ),
    (
        "models/example/my_first_model.sql",
        "-- A table of two rows; `sluice build` creates it in {name}.duckdb.\n{{ config(materialized='table') }}\n\nselect 1 as id, 'first' as label\nunion all\nselect 2 as id, 'second' as label\n",
    ),
    (
        "models/example/my_second_model.sql",
        "-- A view over the first model: `ref` orders the build.\nselect id, upper(label) as label\nfrom {{ ref('my_first_model') }}\nwhere id = 1\n",
    ),
    (
        "models/example/schema.yml",
        "version: 2\n\nmodels:\n  - name: my_first_model\n    description: A starter table.\n    columns:\n      - name: id\n        description: The primary key.\n        data_tests:\n          - unique\n          - not_null\n  - name: my_second_model\n    description: A starter view over my_first_model.\n    columns:\n      - name: id\n        data_tests:\n          - unique\n          - not_null\n",
    ),
    ("seeds/.gitkeep", ""),
    ("macros/.gitkeep", ""),
    ("tests/.gitkeep", ""),
    ("snapshots/.gitkeep", ""),
    ("analyses/.gitkeep", ""),
    (".gitignore", "target/\ndbt_packages/\nlogs/\n*.duckdb\n*.duckdb.wal\n"),
    (
        "README.md",
        "# {name}\n\nA sluice (dbt-compatible) project. `sluice build` builds it into\n`{name}.duckdb`; `sluice docs generate` documents it.\n",
    ),
];

/// `sluice init <name>`, as dbt's `init`: creates `<name>/` in the
/// current folder with a dbt_project.yml, two example models with tests,
/// and the usual folders, so that `sluice build` inside it succeeds at once
/// (on the embedded DuckDB default; add a profiles.yml for another target).
///
/// Errors: [`ErrorKind::Usage`] for a name that is not an identifier
/// (letters, digits, underscores; dbt's rule) or a folder that exists;
/// [`ErrorKind::Io`] when a file cannot be written.
pub fn init(name: &str) -> Result<Outcome> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("`{name}` is not a project name: use letters, digits and underscores, not starting with a digit"),
        )
        .with_hint("for example `sluice init shop_analytics`"));
    }
    let root = Path::new(name);
    if root.exists() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("`{name}` already exists here; sluice init writes only a new folder"),
        )
        .with_hint("choose another name, or run sluice init in another folder"));
    }
    for (rel, text) in FILES {
        let path = root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        }
        std::fs::write(&path, text.replace("{name}", name))
            .map_err(|e| Error::io("write", &path, e))?;
    }
    eprintln!("Created project `{name}`: cd {name} && sluice build");
    Ok(Outcome::Success)
}

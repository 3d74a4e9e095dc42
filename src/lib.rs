//! sluice compiles and builds dbt-style projects into DuckDB.
//!
//! The pipeline, one module a stage: [`project`] reads dbt_project.yml,
//! profiles.yml and the project's files; [`render`] holds the minijinja
//! environment with dbt's context (`ref`, `source`, `var`, `config`, macros);
//! [`contract`] holds model contracts and constraints (checked by the
//! manifest, compile and the materializations);
//! [`manifest`] parses every node (first render) into a manifest of
//! models, seeds, sources and tests; [`graph`] checks the DAG and
//! [`selector`] picks nodes; [`compile`] renders the SQL that runs (second
//! render); [`run`] executes it on the warehouse ([`adapter`]) through
//! [`materialize`] and [`data_tests`]; [`show`] prints a preview of a
//! node's rows; [`docs`] writes the JSON artifacts.
//! [`commands`] strings the stages together for each CLI command; [`deps`]
//! installs packages (`sluice deps`) before any of it.
//!
//! ```no_run
//! use sluice::project::{LoadOptions, Project};
//! use sluice::render::Renderer;
//! use sluice::manifest::Manifest;
//!
//! let project = Project::load(&LoadOptions { project_dir: "example_project".into(), ..Default::default() }, &sluice::render::ProjectJinja)?;
//! let renderer = Renderer::new(&project)?;
//! let manifest = Manifest::build(&project, &renderer)?;
//! println!("{} nodes", manifest.nodes.len());
//! # Ok::<(), sluice::Error>(())
//! ```

pub mod adapter;
pub mod cli;
pub mod commands;
pub mod compile;
pub mod contract;
pub mod data_tests;
pub mod deps;
pub mod dialect;
pub mod docs;
pub mod error;
pub mod execute;
pub mod freshness;
pub mod grain;
pub mod graph;
pub mod lineage;
pub mod manifest;
pub mod materialize;
pub mod project;
pub mod render;
pub mod runner;
pub mod selector;
pub mod show;
pub mod sql;
pub mod state;
pub mod timing;
pub mod unit_tests;
pub mod warehouse;

pub use error::{Error, ErrorKind, Location, Result};

//! Each CLI command, one module a command, around the shared
//! [`session::Session`] (project, renderer, manifest, graph, state and
//! printer). [`run`] dispatches what [`crate::cli`] parsed.

mod build;
mod clean;
mod compile;
mod dag;
mod debug;
mod deps;
mod docs;
mod lineage;
mod ls;
mod retry;
pub mod session;
mod show;

use crate::cli::{Cli, Command, DocsCommand, SelectArgs};
use crate::error::Result;
use crate::manifest::ResourceType;

/// How a command ended (errors that stop the command are `Err`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything passed (warnings allowed).
    Success,
    /// At least one node errored or a test failed.
    NodeFailure,
}

impl Outcome {
    /// The process exit code: 0 or 1.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::NodeFailure => 1,
        }
    }

    /// [`Outcome::NodeFailure`] when `failed`, else success.
    fn failed_if(failed: bool) -> Outcome {
        if failed {
            Outcome::NodeFailure
        } else {
            Outcome::Success
        }
    }
}

/// A command that runs nodes on the warehouse, by dbt's name for it (the
/// `which` of run_results.json's `args`, which `retry` reads back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunCommand {
    /// `run`: models.
    Run,
    /// `test`: data tests and unit tests.
    Test,
    /// `seed`: seeds.
    Seed,
    /// `snapshot`: snapshots.
    Snapshot,
    /// `build`: all of them, in DAG order, tests gating what is downstream.
    Build,
}

impl RunCommand {
    /// dbt's name (`run`, `test`, `seed`, `snapshot`, `build`).
    pub fn which(self) -> &'static str {
        match self {
            RunCommand::Run => "run",
            RunCommand::Test => "test",
            RunCommand::Seed => "seed",
            RunCommand::Snapshot => "snapshot",
            RunCommand::Build => "build",
        }
    }

    /// The command named `which` (dbt's names), if it runs nodes.
    pub fn parse(which: &str) -> Option<RunCommand> {
        [
            RunCommand::Run,
            RunCommand::Test,
            RunCommand::Seed,
            RunCommand::Snapshot,
            RunCommand::Build,
        ]
        .into_iter()
        .find(|c| c.which() == which)
    }

    /// The resource types the command selects among.
    pub fn resource_types(self) -> &'static [ResourceType] {
        match self {
            RunCommand::Run => &[ResourceType::Model],
            RunCommand::Test => &[ResourceType::Test, ResourceType::UnitTest],
            RunCommand::Seed => &[ResourceType::Seed],
            RunCommand::Snapshot => &[ResourceType::Snapshot],
            RunCommand::Build => &[
                ResourceType::Seed,
                ResourceType::Model,
                ResourceType::Snapshot,
                ResourceType::Test,
                ResourceType::UnitTest,
            ],
        }
    }
}

/// run_results.json's `args` for command `which`, as dbt writes them
/// (`which`, `select`, `exclude`); `retry` reads `which` back.
fn args_json(which: &str, select: &SelectArgs) -> serde_json::Value {
    serde_json::json!({"which": which, "select": select.select, "exclude": select.exclude})
}

/// Runs the command `cli` describes.
///
/// Errors: any project, usage or connection error (exit code 2).
pub fn run(cli: &Cli) -> Result<Outcome> {
    let g = &cli.global;
    match &cli.command {
        Command::Clean => clean::clean(g),
        Command::Deps {
            upgrade,
            lock,
            add_package,
            source,
        } => deps::deps(g, *upgrade, *lock, add_package.as_deref(), *source),
        Command::Docs {
            command: DocsCommand::Generate,
        } => docs::generate(g),
        Command::Docs {
            command: DocsCommand::Serve { port },
        } => docs::serve(g, *port),
        Command::Dag { select, format } => dag::dag(g, select, *format),
        Command::Lineage { column, output } => lineage::lineage(g, column, *output),
        Command::Retry => retry::retry(g),
        Command::Debug => debug::debug(g),
        Command::Compile {
            select,
            inline,
            snapshot,
            check,
            dialect,
        } => match dialect {
            Some(d) => compile::compile_dialect(g, select, d),
            None => compile::compile(g, select, inline.as_deref(), *snapshot, *check),
        },
        Command::Ls {
            select,
            resource_type,
            output,
        } => ls::ls(g, select, resource_type, *output),
        Command::Show {
            select,
            inline,
            limit,
            output,
        } => show::show(g, select, inline.as_deref(), *limit, *output),
        Command::Run {
            select,
            full_refresh,
        } => build::execute(g, select, RunCommand::Run, *full_refresh, false),
        Command::Test { select } => build::execute(g, select, RunCommand::Test, false, false),
        Command::Seed {
            select,
            full_refresh,
        } => build::execute(g, select, RunCommand::Seed, *full_refresh, false),
        Command::Snapshot { select, dry_run } => {
            build::execute(g, select, RunCommand::Snapshot, false, *dry_run)
        }
        Command::Build {
            select,
            full_refresh,
        } => build::execute(g, select, RunCommand::Build, *full_refresh, false),
    }
}

//! Each CLI command, one module a command, around the shared
//! [`session::Session`] (project, renderer, manifest, graph, state and
//! printer). [`run`] dispatches what [`crate::cli`] parsed.

mod build;
mod clean;
mod clone;
mod compile;
mod dag;
mod debug;
mod deps;
mod docs;
mod explain;
mod freshness;
mod idempotence;
mod init;
pub mod invocation;
mod lineage;
mod ls;
mod parse;
mod retry;
mod run_operation;
pub mod session;
mod show;

use crate::cli::{Cli, Command, DocsCommand, SourceCommand};
use crate::error::Result;

pub use invocation::{Outcome, RunCommand};

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
        Command::Explain {
            column,
            output,
            rows,
        } => explain::explain(g, column, *output, rows.as_deref()),
        Command::Retry => retry::retry(g),
        Command::Parse => parse::parse(g),
        Command::Clone {
            select,
            full_refresh,
        } => clone::clone(g, select, *full_refresh),
        Command::Init { name } => init::init(name),
        Command::RunOperation { macro_name, args } => {
            run_operation::run_operation(g, macro_name, args.as_deref())
        }
        Command::Source {
            command: SourceCommand::Freshness { select, output },
        } => freshness::source_freshness(g, select, output.as_deref()),
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
        } => build::execute(g, select, RunCommand::Run, *full_refresh, false, None),
        Command::Test { select } => build::execute(g, select, RunCommand::Test, false, false, None),
        Command::Seed {
            select,
            full_refresh,
        } => build::execute(g, select, RunCommand::Seed, *full_refresh, false, None),
        Command::Snapshot { select, dry_run } => {
            build::execute(g, select, RunCommand::Snapshot, false, *dry_run, None)
        }
        Command::Build {
            select,
            full_refresh,
        } if g.verify_idempotent => idempotence::verify(g, select, *full_refresh),
        Command::Build {
            select,
            full_refresh,
        } => build::execute(g, select, RunCommand::Build, *full_refresh, false, None),
    }
}

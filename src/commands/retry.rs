//! `retry`, as dbt's: repeats the last invocation's failures.

use crate::cli::{GlobalArgs, SelectArgs};
use crate::commands::invocation::{InvocationArgs, Outcome, RunCommand};
use crate::commands::session::load_options;
use crate::error::{Error, ErrorKind, Result};
use crate::execute::result::BatchResults;
use crate::project::Project;
use crate::render::ProjectJinja;
use crate::state::PreviousState;

/// `sluice retry`, as dbt's: re-runs the nodes of the last invocation (as
/// recorded in target/run_results.json) that errored, failed or were skipped,
/// with the same command.
///
/// Errors: [`ErrorKind::Usage`] without a previous run_results.json.
pub fn retry(g: &GlobalArgs) -> Result<Outcome> {
    let project = Project::load(&load_options(g), &ProjectJinja)?;
    let dir = project.target_dir();
    let file = dir.join("run_results.json");
    let text = std::fs::read_to_string(&file).map_err(|e| {
        Error::io("read", &file, e)
            .with_hint("run `sluice build` (or run, test, seed) first; retry repeats its failures")
    })?;
    let results: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("`{}` is not valid JSON: {e}", file.display()),
        )
    })?;
    let previous = InvocationArgs::from_json(&results["args"]).map_err(|why| {
        Error::new(
            ErrorKind::Usage,
            format!("`{}` does not say what ran: {why}", file.display()),
        )
        .with_hint(
            "run the command again instead; retry needs the run_results.json sluice or dbt wrote",
        )
    })?;
    let which = previous.which.clone();
    let state = PreviousState::load(&dir)?;
    let failed = state.with_results(&["error", "fail", "skipped", "partial success"]);
    if failed.is_empty() {
        if !g.quiet {
            eprintln!("Nothing to retry: the last `{which}` had no errors, failures or skips");
        }
        return Ok(Outcome::Success);
    }
    let select = SelectArgs {
        select: failed.iter().map(|u| format!("unique_id:{u}")).collect(),
        exclude: Vec::new(),
    };
    match RunCommand::parse(&which) {
        Some(command) => crate::commands::build::execute(
            &previous.apply_to(g),
            &select,
            command,
            previous.full_refresh,
            false,
            Some(
                state
                    .batch_results()
                    .iter()
                    .filter_map(|(uid, json)| Some((uid.clone(), BatchResults::from_json(json)?)))
                    .collect(),
            ),
        ),
        None => Err(Error::new(
            ErrorKind::Usage,
            format!("the last command, `{which}`, cannot be retried"),
        )
        .with_hint("retry repeats run, build, seed, snapshot or test")),
    }
}

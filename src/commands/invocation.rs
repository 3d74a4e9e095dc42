//! What a command is and how it ended: the outcome that sets the exit
//! code, and the node-running commands by dbt's names, as run_results.json
//! records them and `retry` reads them back.

use crate::cli::{GlobalArgs, SelectArgs};
use crate::manifest::ResourceType;
use crate::render::context::Flags;

/// How a command ended (errors that stop the command are `Err`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything passed (warnings allowed).
    Success,
    /// At least one node errored or a test failed.
    NodeFailure,
    /// SIGINT or SIGTERM stopped the run (exit 130, as a shell reports
    /// a process ended by Ctrl-C).
    Interrupted,
}

impl Outcome {
    /// The process exit code: 0, 1, or 130 when interrupted.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::NodeFailure => 1,
            Outcome::Interrupted => 130,
        }
    }

    /// [`Outcome::NodeFailure`] when `failed`, else success.
    pub(crate) fn failed_if(failed: bool) -> Outcome {
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

/// One invocation as run_results.json's `args` records it, with dbt's
/// names (`which`, `select`, `exclude`, `full_refresh`, `vars`, `target`,
/// `threads`, `empty`, `fail_fast`), and as `retry` reads it back to repeat
/// the command with the same flags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InvocationArgs {
    /// dbt's name of the command (`build`, `run`, `compile`, ...).
    pub which: String,
    /// `--select` terms.
    pub select: Vec<String>,
    /// `--exclude` terms.
    pub exclude: Vec<String>,
    /// `--full-refresh`.
    pub full_refresh: bool,
    /// `--vars`, as the YAML (or JSON) text given.
    pub vars: Option<String>,
    /// `--target`.
    pub target: Option<String>,
    /// `--threads`.
    pub threads: Option<usize>,
    /// `--empty`.
    pub empty: bool,
    /// `--fail-fast`.
    pub fail_fast: bool,
}

impl InvocationArgs {
    /// The invocation of command `which` with global flags `g`.
    pub fn new(
        which: &str,
        g: &GlobalArgs,
        select: &SelectArgs,
        full_refresh: bool,
    ) -> InvocationArgs {
        InvocationArgs {
            which: which.to_owned(),
            select: select.select.clone(),
            exclude: select.exclude.clone(),
            full_refresh,
            vars: g.vars.clone(),
            target: g.target.clone(),
            threads: g.threads,
            empty: g.empty,
            fail_fast: g.fail_fast,
        }
    }

    /// The invocation of command `which` with no selection (`docs`,
    /// `lineage`, `dag`, ...).
    pub fn command(which: &str, g: &GlobalArgs) -> InvocationArgs {
        InvocationArgs::new(which, g, &SelectArgs::default(), false)
    }

    /// dbt's `flags` for this invocation: its command and flags, plus
    /// `--quiet` and `--profiles-dir` from `g` and the command line as
    /// `INVOCATION_COMMAND`.
    pub fn flags(&self, g: &GlobalArgs) -> Flags {
        let args: Vec<String> = std::env::args().skip(1).collect();
        Flags {
            which: self.which.clone(),
            full_refresh: self.full_refresh,
            empty: self.empty,
            fail_fast: self.fail_fast,
            store_failures: false,
            quiet: g.quiet,
            invocation_command: format!("sluice {}", args.join(" ")).trim_end().to_owned(),
            profiles_dir: g
                .profiles_dir
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
        }
    }

    /// run_results.json's `args`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "which": self.which,
            "select": self.select,
            "exclude": self.exclude,
            "full_refresh": self.full_refresh,
            "vars": self.vars,
            "target": self.target,
            "threads": self.threads,
            "empty": self.empty,
            "fail_fast": self.fail_fast,
        })
    }

    /// The invocation recorded in run_results.json's `args`. Flags missing
    /// from an older file read as unset.
    ///
    /// Errors: a description of what is wrong when `args` has no `which`
    /// or a field of the wrong type.
    pub fn from_json(args: &serde_json::Value) -> std::result::Result<InvocationArgs, String> {
        let which = args["which"]
            .as_str()
            .ok_or("`args.which` is missing: it names the command to repeat")?;
        let strings = |key: &str| -> std::result::Result<Vec<String>, String> {
            match &args[key] {
                serde_json::Value::Null => Ok(Vec::new()),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<_>>()
                    .ok_or(format!("`args.{key}` holds a value that is not text")),
                _ => Err(format!("`args.{key}` is not a list")),
            }
        };
        let flag = |key: &str| args[key].as_bool().unwrap_or(false);
        let text = |key: &str| args[key].as_str().map(str::to_owned);
        Ok(InvocationArgs {
            which: which.to_owned(),
            select: strings("select")?,
            exclude: strings("exclude")?,
            full_refresh: flag("full_refresh"),
            vars: text("vars"),
            target: text("target"),
            threads: args["threads"].as_u64().map(|n| n as usize),
            empty: flag("empty"),
            fail_fast: flag("fail_fast"),
        })
    }

    /// The global flags `g` with this invocation's `--vars`, `--target`,
    /// `--threads`, `--empty` and `--fail-fast` where `g` does not set them:
    /// `retry` repeats the command as it was run.
    pub fn apply_to(&self, g: &GlobalArgs) -> GlobalArgs {
        GlobalArgs {
            vars: g.vars.clone().or_else(|| self.vars.clone()),
            target: g.target.clone().or_else(|| self.target.clone()),
            threads: g.threads.or(self.threads),
            empty: g.empty || self.empty,
            fail_fast: g.fail_fast || self.fail_fast,
            ..g.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_round_trip_through_run_results() {
        let args = InvocationArgs {
            which: "build".into(),
            select: vec!["+orders".into()],
            exclude: vec!["tag:slow".into()],
            full_refresh: true,
            vars: Some("{a: 1}".into()),
            target: Some("prod".into()),
            threads: Some(4),
            empty: false,
            fail_fast: true,
        };
        assert_eq!(InvocationArgs::from_json(&args.to_json()), Ok(args));
        assert!(InvocationArgs::from_json(&serde_json::json!({"select": []})).is_err());
        assert_eq!(RunCommand::parse("snapshot"), Some(RunCommand::Snapshot));
        assert_eq!(RunCommand::parse("compile"), None);
    }
}

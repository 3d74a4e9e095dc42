//! What a command is and how it ended: the outcome that sets the exit
//! code, and the node-running commands by dbt's names, as run_results.json
//! records them and `retry` reads them back.

use crate::cli::SelectArgs;
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

/// run_results.json's `args` for command `which`, as dbt writes them
/// (`which`, `select`, `exclude`); `retry` reads `which` back.
pub(crate) fn args_json(which: &str, select: &SelectArgs) -> serde_json::Value {
    serde_json::json!({"which": which, "select": select.select, "exclude": select.exclude})
}

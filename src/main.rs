//! The `sluice` binary: parse arguments, call the library, print errors,
//! exit 0 (success), 1 (a node failed) or 2 (usage or project error).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = sluice::cli::Cli::parse();
    match sluice::commands::run(&cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(err) => {
            eprint!("{}", err.render());
            ExitCode::from(2)
        }
    }
}

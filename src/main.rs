//! The `sluice` binary: parse arguments, call the library, print errors,
//! exit 0 (success), 1 (a node failed) or 2 (usage or project error).

use std::process::ExitCode;

use clap::Parser;

/// Rendering and parsing thousands of models allocates millions of small
/// strings and AST nodes from several threads at once; mimalloc serves
/// that faster than glibc's allocator (1,000-model compile: see bench/).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = sluice::cli::Cli::parse();
    let t = std::time::Instant::now();
    let r = sluice::commands::run(&cli);
    sluice::commands::stage("total", t);
    match r {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(err) => {
            eprint!("{}", err.render());
            ExitCode::from(2)
        }
    }
}

//! The `sluice` binary: parse arguments, call the library, print errors,
//! exit 0 (success), 1 (a node failed) or 2 (usage or project error).

use std::process::ExitCode;

use clap::Parser;

/// Rendering and parsing thousands of models allocates millions of small
/// strings and AST nodes from several threads at once; mimalloc serves
/// that faster than glibc's allocator (1,000-model compile: see bench/).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_e` (15 in both
/// mimalloc v2 and v3; libmimalloc-sys has no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // A run frees the syntax trees and renders of thousands of models and
    // then allocates as much again for manifest.json: memory returned to
    // the OS in between (mimalloc's default, a second after it is freed) comes
    // back as fresh pages the kernel must zero. sluice is a short-lived
    // process: keep freed memory for reuse (~70 ms of a 2.2 s compile of
    // 10,000 models, peak memory unchanged).
    // SAFETY: sets a process-wide allocator option before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let cli = sluice::cli::Cli::parse();
    // SIGINT/SIGTERM: while nodes run, stop scheduling, cancel running
    // statements (their transactions roll back) and report; otherwise, or
    // on a second signal, end at once. Exit 130 either way.
    let _ = ctrlc::set_handler(|| {
        use sluice::warehouse::interrupt;
        if interrupt::interrupted() || !interrupt::run_active() {
            std::process::exit(130);
        }
        eprintln!("\nInterrupted: cancelling the running statements (again to quit at once)");
        interrupt::request();
    });
    let json = cli.global.log_format == sluice::cli::LogFormat::Json;
    sluice::execute::output::set_json_logs(json);
    if cli.global.log_level == sluice::cli::LogLevel::Debug {
        // Debug events (stage timings) go to stderr, bare: no time, level or target.
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(std::io::stderr)
            .without_time()
            .with_level(false)
            .with_target(false)
            .with_ansi(false)
            .init();
    }
    // Deep SQL and Jinja recurse deeply: every thread doing that work gets
    // a large (lazily committed) stack instead of aborting on overflow.
    sluice::execute::init_deep_stacks();
    let t = std::time::Instant::now();
    let r = std::thread::Builder::new()
        .name("main-work".into())
        .stack_size(sluice::execute::DEEP_STACK)
        .spawn(move || sluice::commands::run(&cli))
        .map_err(|e| e.to_string())
        .and_then(|handle| handle.join().map_err(|_| "a panic".to_owned()))
        .unwrap_or_else(|why| {
            Err(sluice::Error::new(
                sluice::ErrorKind::Internal,
                format!("the command's thread failed: {why}"),
            ))
        });
    sluice::timing::stage("total", t);
    match r {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(err) => {
            sluice::execute::output::print_diagnostic(&err, sluice::error::Severity::Error);
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn option_15_is_mimallocs_purge_delay() {
        // In the bundled mimalloc (v3), purge_delay defaults to 1000 (ms)
        // and sits just before use_numa_nodes; an upgrade that moves it
        // fails here (check mimalloc.h's mi_option_e). The test binary does
        // not run `main`, so the option still has its default.
        let get = |o| unsafe { libmimalloc_sys::mi_option_get(o) };
        assert_eq!(get(super::MI_OPTION_PURGE_DELAY), 1000);
        assert_eq!(get(libmimalloc_sys::mi_option_use_numa_nodes), 0);
        assert_eq!(
            super::MI_OPTION_PURGE_DELAY + 1,
            libmimalloc_sys::mi_option_use_numa_nodes
        );
    }
}

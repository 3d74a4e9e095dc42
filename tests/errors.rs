//! Error fixtures: each `tests/fixtures/errors/*.txt` edits a temp copy of
//! example_project, runs `sluice compile` in-process (as minijinja's tests
//! run their fixtures), and snapshots the diagnostics a user would see.
//!
//! Fixture format: a first line `# <what the fixture shows>`, then sections
//! `--- write <path>` (the lines that follow become the file) or
//! `--- delete <path>`.

mod common;

use common::{scrub, TempProject};

fn apply(p: &TempProject, fixture: &str) {
    let mut current: Option<(String, String)> = None;
    let flush = |cur: &mut Option<(String, String)>| {
        if let Some((path, text)) = cur.take() {
            p.write(&path, &text);
        }
    };
    for line in fixture.lines() {
        if let Some(path) = line.strip_prefix("--- write ") {
            flush(&mut current);
            current = Some((path.trim().to_owned(), String::new()));
        } else if let Some(path) = line.strip_prefix("--- delete ") {
            flush(&mut current);
            std::fs::remove_file(p.root().join(path.trim())).unwrap();
        } else if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    flush(&mut current);
}

/// Runs `sluice compile -q` on `p` in this process, as the binary does (on
/// a thread with the binary's deep stack), and returns its exit code and
/// every diagnostic it printed, rendered plain as on a pipe.
fn compile_in_process(p: &TempProject) -> (i32, String) {
    use clap::Parser;
    let root = p.root();
    let args = [
        "sluice",
        "compile",
        "-q",
        "--project-dir",
        root.to_str().unwrap(),
    ];
    let cli = sluice::cli::Cli::try_parse_from(args).expect("arguments parse");
    let (result, mut text) = sluice::execute::output::capture_diagnostics(|| {
        std::thread::Builder::new()
            .stack_size(sluice::execute::DEEP_STACK)
            .spawn(move || sluice::commands::run(&cli))
            .expect("spawn")
            .join()
            .expect("no panic")
    });
    let code = match result {
        Ok(outcome) => i32::from(outcome.exit_code()),
        Err(err) => {
            text.push_str(&err.render());
            2
        }
    };
    (code, text)
}

#[test]
fn error_fixtures() {
    // The only test in this binary, so nothing reads the environment while
    // it is changed: no user's ~/.dbt/profiles.yml or DBT_* variable may
    // reach the fixtures.
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("HOME", home.path());
    sluice::execute::init_deep_stacks();
    std::env::remove_var("DBT_PROFILES_DIR");
    std::env::remove_var("DBT_PROJECT_DIR");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("fixtures/errors/*.txt", |path| {
            let fixture = std::fs::read_to_string(path).unwrap();
            let p = TempProject::new();
            apply(&p, &fixture);
            let (code, stderr) = compile_in_process(&p);
            // A project error exits 2; a node that fails to compile (bad SQL)
            // exits 1, as a failed node does. Fixtures say which they expect.
            let expected = if fixture.contains("# exit code: 1") {
                1
            } else {
                2
            };
            assert_eq!(
                code, expected,
                "expected exit {expected}; stderr:\n{stderr}"
            );
            insta::assert_snapshot!(scrub(&stderr, &p));
        });
    });
}

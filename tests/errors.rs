//! Error fixtures: each `tests/fixtures/errors/*.txt` edits a temp copy of
//! example_project, runs `sluice compile`, and snapshots the diagnostic.
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

#[test]
fn error_fixtures() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("fixtures/errors/*.txt", |path| {
            let fixture = std::fs::read_to_string(path).unwrap();
            let p = TempProject::new();
            apply(&p, &fixture);
            let run = p.sluice(&["compile", "-q"]);
            // A project error exits 2; a node that fails to compile (bad SQL)
            // exits 1, as a failed node does. Fixtures say which they expect.
            let expected = if fixture.contains("# exit code: 1") {
                1
            } else {
                2
            };
            assert_eq!(
                run.code, expected,
                "expected exit {expected}; stderr:\n{}",
                run.stderr
            );
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
            insta::assert_snapshot!(scrub(&run.stderr, &p));
        });
    });
}

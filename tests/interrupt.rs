//! SIGINT in the middle of a build (issue 19): the run stops scheduling,
//! the statement that was running is cancelled and rolled back (the old
//! table survives), run_results.json records what finished and what was
//! cancelled, and the process exits 130, as a shell reports Ctrl-C.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::TempProject;

#[test]
fn sigint_cancels_the_running_model_keeps_its_old_table_and_reports() {
    let p = TempProject::new();
    // A model whose size is a var: tiny on the first build, long enough on
    // the second that it is still running when the signal comes.
    p.write(
        "models/slow.sql",
        "{{ config(materialized='table') }}\nselect sum(i % 7) as n from range({{ var('rows', 10) }}) t(i)\n",
    );
    p.write("models/after_slow.sql", "select n from {{ ref('slow') }}\n");
    let first = p.sluice(&["build", "-q"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let before = p.query("select n from main.slow");

    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["build", "--threads", "1", "--vars", "{rows: 500000000000}"])
        .arg("--project-dir")
        .arg(p.root())
        .current_dir(p.dir.path())
        .env("HOME", p.dir.path())
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run sluice");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Wait until the slow model has started, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = String::new();
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the slow model never started:\n{seen}"));
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("START sql table model") && line.contains(".slow ") {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let started = Instant::now();
    let code = child.wait().expect("wait").code();
    reader.join().expect("reader");
    seen.extend(rx.try_iter().map(|l| l + "\n"));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the run took {:?} to stop",
        started.elapsed()
    );
    assert_eq!(code, Some(130), "{seen}");
    assert!(seen.contains("Interrupted"), "{seen}");

    // The cancelled statement rolled back: the table is the first build's.
    assert_eq!(p.query("select n from main.slow"), before);
    // run_results.json: the slow model errored (cancelled), what follows
    // it never started.
    let results: serde_json::Value =
        serde_json::from_str(&p.read("target/run_results.json")).expect("run_results.json");
    let status_of = |id: &str| {
        results["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["unique_id"] == id)
            .map(|r| r["status"].as_str().unwrap_or("").to_owned())
            .unwrap_or_else(|| panic!("{id} missing from run_results.json"))
    };
    assert_eq!(status_of("model.shop_analytics.slow"), "error");
    assert_eq!(status_of("model.shop_analytics.after_slow"), "skipped");
    // The next build starts from there and succeeds.
    let again = p.sluice(&["build", "-q"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
}

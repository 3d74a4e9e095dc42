//! `--log-format json` and `--log-level debug` end to end: the real binary
//! on a temp copy of example_project. As dbt's structured logs, every line
//! on stderr is one JSON object with `info` (`name`, `level`, `msg`, `ts`)
//! and `data`; node results carry `node_info` with the unique_id and status.

mod common;

use common::TempProject;

/// Every line of `stderr`, parsed; fails on a line that is not JSON.
fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{stderr}"))
        })
        .collect()
}

#[test]
fn a_json_build_logs_one_object_a_line_with_node_info() {
    let p = TempProject::new();
    let run = p.sluice(&["build", "--log-format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = json_lines(&run.stderr);
    let finished: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["info"]["name"] == "NodeFinished")
        .collect();
    assert!(!finished.is_empty(), "{}", run.stderr);
    let customers = finished
        .iter()
        .find(|l| l["data"]["node_info"]["unique_id"] == "model.shop_analytics.customers")
        .unwrap_or_else(|| panic!("no line for customers:\n{}", run.stderr));
    assert_eq!(customers["data"]["node_info"]["node_status"], "success");
    assert_eq!(customers["info"]["level"], "info");
    assert!(lines.iter().all(|l| l["info"]["ts"].is_string()));
    assert!(lines.iter().any(|l| l["info"]["msg"]
        .as_str()
        .is_some_and(|m| m.starts_with("Done. PASS="))));
}

#[test]
fn a_json_error_carries_its_location_and_hint() {
    let p = TempProject::new();
    p.write(
        "models/broken.sql",
        "select *\nfrom {{ ref('custmers') }}\n",
    );
    let run = p.sluice(&["compile", "--log-format", "json"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let lines = json_lines(&run.stderr);
    let error = lines
        .iter()
        .find(|l| l["info"]["level"] == "error")
        .unwrap_or_else(|| panic!("no error line:\n{}", run.stderr));
    assert_eq!(error["info"]["name"], "Diagnostic");
    assert_eq!(error["data"]["kind"], "UnknownRef");
    assert_eq!(error["data"]["location"]["path"], "models/broken.sql");
    assert_eq!(error["data"]["location"]["line"], 2);
    assert!(
        error["data"]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("customers")),
        "{error}"
    );
}

#[test]
fn debug_logs_print_stage_timings() {
    let p = TempProject::new();
    let run = p.sluice(&["compile", "--log-level", "debug"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for stage in ["load", "parse", "graph", "compile"] {
        assert!(
            run.stderr
                .lines()
                .any(|l| l.starts_with(&format!("timing: {stage} "))),
            "no timing for {stage}:\n{}",
            run.stderr
        );
    }
    let quiet = p.sluice(&["compile"]);
    assert!(!quiet.stderr.contains("timing:"), "{}", quiet.stderr);
}

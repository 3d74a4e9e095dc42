//! dbt-style progress lines and the end-of-run summary, on stderr.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use crate::execute::result::{tally, NodeResult, Status};
use crate::manifest::{slash, Manifest, Node, ResourceType};

/// Width the message is padded to with dots, as dbt's 80-column lines.
const LINE_WIDTH: usize = 80;

/// Prints progress unless quiet. Thread-safe: each line is one write.
#[derive(Debug, Clone, Copy, Default)]
pub struct Printer {
    /// Suppress everything but errors.
    pub quiet: bool,
}

fn describe(node: &Node) -> String {
    let rel = node
        .relation
        .as_ref()
        .map(|r| format!("{}.{}", r.schema, r.identifier))
        .unwrap_or_else(|| node.name.clone());
    match node.resource_type {
        ResourceType::Model => format!("sql {} model {rel}", node.config.materialized()),
        ResourceType::Seed => format!("seed file {rel}"),
        ResourceType::Test => format!("test {}", node.name),
        ResourceType::UnitTest => format!("unit_test {}", unit_test_name(node)),
        other => format!("{} {rel}", other.as_str()),
    }
}

/// `model::test`, as dbt prints unit tests.
fn unit_test_name(node: &Node) -> String {
    let model = node
        .unit_test
        .as_ref()
        .map_or(String::new(), |u| u.model.clone());
    format!("{model}::{}", node.name)
}

fn relation_name(node: &Node) -> String {
    node.relation
        .as_ref()
        .map(|r| format!("{}.{}", r.schema, r.identifier))
        .unwrap_or_else(|| node.name.clone())
}

impl Printer {
    /// Writes one line to stderr with dbt's `HH:MM:SS  ` prefix.
    pub fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        let ts = chrono::Local::now().format("%H:%M:%S");
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{ts}  {text}");
    }

    fn progress(&self, n: usize, total: usize, msg: &str, status: &str) {
        let head = format!("{n} of {total} {msg} ");
        let dots = LINE_WIDTH.saturating_sub(head.chars().count()).max(3);
        self.line(&format!("{head}{} [{status}]", ".".repeat(dots)));
    }

    /// `1 of 5 START sql view model main.stg_orders ..... [RUN]`
    pub fn start(&self, n: usize, total: usize, node: &Node) {
        self.progress(n, total, &format!("START {}", describe(node)), "RUN");
    }

    /// `1 of 5 SKIP relation main.orders ..... [SKIP]`
    pub fn skip(&self, n: usize, total: usize, node: &Node, _reason: &str) {
        let what = if node.resource_type == ResourceType::Test {
            format!("test {}", node.name)
        } else if node.resource_type == ResourceType::UnitTest {
            format!("unit_test {}", unit_test_name(node))
        } else {
            format!("relation {}", relation_name(node))
        };
        self.progress(n, total, &format!("SKIP {what}"), "SKIP");
    }

    /// The finish line of a node, by status.
    pub fn finish(&self, n: usize, total: usize, node: &Node, r: &NodeResult) {
        let t = format!("{:.2}s", r.execution_time);
        let (msg, status) = match (node.resource_type, r.status) {
            (ResourceType::Test, Status::Pass) => {
                (format!("PASS {}", node.name), format!("PASS in {t}"))
            }
            (ResourceType::Test, Status::Warn) => {
                let f = r.failures.unwrap_or(0);
                (
                    format!("WARN {f} {}", node.name),
                    format!("WARN {f} in {t}"),
                )
            }
            (ResourceType::Test, Status::Fail) => {
                let f = r.failures.unwrap_or(0);
                (
                    format!("FAIL {f} {}", node.name),
                    format!("FAIL {f} in {t}"),
                )
            }
            (ResourceType::Test, _) => (format!("ERROR {}", node.name), format!("ERROR in {t}")),
            (ResourceType::UnitTest, Status::Pass) => (
                format!("PASS {}", unit_test_name(node)),
                format!("PASS in {t}"),
            ),
            (ResourceType::UnitTest, Status::Fail) => (
                format!("FAIL 1 {}", unit_test_name(node)),
                format!("FAIL 1 in {t}"),
            ),
            (ResourceType::UnitTest, _) => (
                format!("ERROR {}", unit_test_name(node)),
                format!("ERROR in {t}"),
            ),
            (ResourceType::Snapshot, Status::Success) => (
                format!("OK snapshotted {}", relation_name(node)),
                format!("{} in {t}", r.message),
            ),
            (ResourceType::Seed, Status::Success) => (
                format!("OK loaded {}", describe(node)),
                format!("{} in {t}", r.message),
            ),
            (_, Status::Success) => (
                format!("OK created {}", describe(node)),
                format!("{} in {t}", r.message),
            ),
            (ResourceType::Seed, _) => (
                format!("ERROR loading {}", describe(node)),
                format!("ERROR in {t}"),
            ),
            _ => (
                format!("ERROR creating {}", describe(node)),
                format!("ERROR in {t}"),
            ),
        };
        self.progress(n, total, &msg, &status);
    }

    /// The end of a run: what ran, failures repeated with their compiled
    /// SQL path, and `Done. PASS=.. WARN=.. ERROR=.. SKIP=.. TOTAL=..`.
    pub fn summary(
        &self,
        manifest: &Manifest,
        results: &[NodeResult],
        elapsed: f64,
        paths: &HashMap<usize, PathBuf>,
    ) {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for r in results {
            let node = &manifest.nodes[r.index];
            let key = match node.resource_type {
                ResourceType::Model => format!("{} model", node.config.materialized()),
                ResourceType::Test => "data test".to_owned(),
                ResourceType::UnitTest => "unit test".to_owned(),
                other => other.as_str().to_owned(),
            };
            *counts.entry(key).or_default() += 1;
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|(k, v)| format!("{v} {k}{}", if *v == 1 { "" } else { "s" }))
            .collect();
        self.line("");
        self.line(&format!(
            "Finished running {} in 0 hours {} minutes and {:.2} seconds ({elapsed:.2}s).",
            if parts.is_empty() {
                "0 nodes".to_owned()
            } else {
                parts.join(", ")
            },
            (elapsed / 60.0).floor() as u64,
            elapsed % 60.0
        ));
        let mut problems: Vec<&NodeResult> = results
            .iter()
            .filter(|r| r.status.is_failure() || r.status == Status::Warn)
            .collect();
        problems.sort_by_key(|r| (r.status == Status::Warn, &manifest.nodes[r.index].unique_id));
        let errors = problems.iter().filter(|r| r.status.is_failure()).count();
        let warns = problems.len() - errors;
        self.line("");
        if errors == 0 && warns == 0 {
            self.line("Completed successfully");
        } else if errors == 0 {
            self.line(&format!(
                "Completed with {warns} warning{}:",
                if warns == 1 { "" } else { "s" }
            ));
        } else {
            self.line(&format!(
                "Completed with {errors} error{} and {warns} warning{}:",
                if errors == 1 { "" } else { "s" },
                if warns == 1 { "" } else { "s" }
            ));
        }
        for r in problems {
            let node = &manifest.nodes[r.index];
            let kind = node.resource_type.as_str();
            let file = slash(&node.original_file_path);
            self.line("");
            match r.status {
                Status::Fail => self.line(&format!("Failure in {kind} {} ({file})", node.name)),
                Status::Warn => self.line(&format!("Warning in {kind} {} ({file})", node.name)),
                _ => self.line(&format!("Error in {kind} {} ({file})", node.name)),
            }
            match &r.error {
                Some(rendered) => {
                    for l in rendered.lines() {
                        self.line(&format!("  {l}"));
                    }
                }
                None => self.line(&format!("  {}", r.message)),
            }
            if let Some(p) = paths.get(&r.index) {
                self.line("");
                self.line(&format!("  compiled code at {}", slash(p)));
            }
        }
        let t = tally(results);
        self.line("");
        // Always printed, even with --quiet: it is the run's verdict.
        let done = format!(
            "Done. PASS={} WARN={} ERROR={} SKIP={} TOTAL={}",
            t["PASS"], t["WARN"], t["ERROR"], t["SKIP"], t["TOTAL"]
        );
        if self.quiet {
            eprintln!("{done}");
        } else {
            self.line(&done);
        }
    }
}

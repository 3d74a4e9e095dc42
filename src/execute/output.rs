//! dbt-style progress lines and the end-of-run summary, on stderr.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Severity};
use crate::execute::result::{tally, NodeResult, Status};
use crate::manifest::{slash, Manifest, Node, ResourceType};

/// Width the message is padded to with dots, as dbt's 80-column lines.
const LINE_WIDTH: usize = 80;

/// `--log-format json`: every line on stderr is a JSON object. Set once by
/// the binary before any command runs, as the log subscriber is.
static LOG_JSON: AtomicBool = AtomicBool::new(false);

/// Makes every line and diagnostic printed from now on a JSON object
/// (`--log-format json`), as dbt's structured logs.
pub fn set_json_logs(json: bool) {
    LOG_JSON.store(json, Ordering::Relaxed);
}

fn json_logs() -> bool {
    LOG_JSON.load(Ordering::Relaxed)
}

/// The diagnostics printed while [`capture_diagnostics`] runs, rendered
/// plain; `None` when diagnostics go to stderr.
static CAPTURED: Mutex<Option<String>> = Mutex::new(None);

/// Runs `f` with every diagnostic it prints collected instead of written
/// to stderr, and returns `f`'s result with the diagnostics rendered as
/// plain text, in the order they were printed. For tests that run a
/// command in-process (the error fixtures) and snapshot what a user sees.
/// Captures are process-wide: one at a time.
pub fn capture_diagnostics<R>(f: impl FnOnce() -> R) -> (R, String) {
    let lock = |m: &'static Mutex<Option<String>>| m.lock().unwrap_or_else(|e| e.into_inner());
    *lock(&CAPTURED) = Some(String::new());
    let r = f();
    let text = lock(&CAPTURED).take().unwrap_or_default();
    (r, text)
}

/// Prints diagnostic `err` on stderr at `severity`: rendered for people,
/// or as one JSON object under `--log-format json`.
pub fn print_diagnostic(err: &Error, severity: Severity) {
    if let Some(buf) = CAPTURED.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        buf.push_str(&err.render_as(severity));
        return;
    }
    let mut out = std::io::stderr().lock();
    if json_logs() {
        let level = match severity {
            Severity::Error => "error",
            Severity::Warning => "warn",
        };
        let name = match err.kind() {
            ErrorKind::Internal => "InternalError",
            _ => "Diagnostic",
        };
        let location = err
            .location()
            .map(|l| serde_json::json!({"path": slash(&l.path), "line": l.line, "col": l.col}));
        let data = serde_json::json!({
            "kind": format!("{:?}", err.kind()),
            "location": location,
            "notes": err.notes(),
            "hint": err.hint(),
        });
        let _ = writeln!(out, "{}", json_line(level, name, err.message(), data));
    } else {
        drop(out);
        // anstream drops the colour for a pipe, a file, NO_COLOR or TERM=dumb.
        let _ = write!(anstream::stderr().lock(), "{}", err.render_styled(severity));
    }
}

/// Whether stderr takes colour: a terminal, without `NO_COLOR` (or forced
/// with `CLICOLOR_FORCE`), as anstream decides for every stream.
fn colour_on() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

/// `line` with its closing `[STATUS ...]` coloured as dbt colours it:
/// green for success, red for ERROR and FAIL, yellow for WARN and SKIP.
/// `[RUN]` and lines without a status are left as they are.
fn coloured_status(line: &str) -> String {
    use anstyle::{AnsiColor, Style};
    let Some(open) = line.rfind(" [").filter(|_| line.ends_with(']')) else {
        return line.to_owned();
    };
    let status = &line[open + 2..line.len() - 1];
    let colour = match status.split_whitespace().next().unwrap_or("") {
        "RUN" => return line.to_owned(),
        "ERROR" | "FAIL" => AnsiColor::Red,
        "WARN" | "SKIP" => AnsiColor::Yellow,
        _ => AnsiColor::Green,
    };
    let style = Style::new().fg_color(Some(colour.into()));
    format!("{} [{style}{status}{style:#}]", &line[..open])
}

/// One `--log-format json` line of level `level` with message `msg` and
/// `data`, in dbt's structured-log shape.
/// Writes one log line on stderr at `level`: stamped for people (`styled`,
/// ANSI stripped where stderr does not take it), or a JSON object under
/// `--log-format json`.
fn emit_line(level: &str, text: &str, styled: &str) {
    if json_logs() {
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}",
            json_line(level, "Line", text, serde_json::json!({}))
        );
        return;
    }
    let _ = writeln!(anstream::stderr().lock(), "{}", stamped(styled));
}

fn json_line(level: &str, name: &str, msg: &str, data: serde_json::Value) -> String {
    serde_json::json!({
        "info": {
            "name": name,
            "level": level,
            "msg": msg,
            "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "pid": std::process::id(),
        },
        "data": data,
    })
    .to_string()
}

/// Runs of more nodes than this show a progress bar on a terminal instead
/// of a START and a finish line per node.
const BAR_ABOVE: usize = 50;

/// Prints progress unless quiet. Thread-safe: each line is one write.
#[derive(Debug, Clone, Copy, Default)]
pub struct Printer {
    /// Suppress everything but errors.
    pub quiet: bool,
    /// stderr is a terminal: long runs show a progress bar.
    pub interactive: bool,
}

/// The progress bar of a long run on a terminal: counts and elapsed time,
/// with the lines of nodes that did not succeed printed above it.
pub struct ProgressBar(indicatif::ProgressBar);

impl ProgressBar {
    /// Counts one finished node.
    pub fn inc(&self) {
        self.0.inc(1);
    }

    /// Prints `text` above the bar, as [`Printer::line`] would, its status
    /// coloured where stderr takes colour.
    fn println(&self, text: &str) {
        let text = if colour_on() {
            coloured_status(text)
        } else {
            text.to_owned()
        };
        self.0.println(stamped(&text));
    }

    /// Removes the bar, leaving the lines printed above it.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// `text` with dbt's `HH:MM:SS  ` prefix (local time).
fn stamped(text: &str) -> String {
    format!("{}  {text}", chrono::Local::now().format("%H:%M:%S"))
}

/// `1 of 5 START sql view model main.stg_orders ..... [RUN]`: dbt's line,
/// padded with dots to 80 columns.
fn progress_line(n: usize, total: usize, msg: &str, status: &str) -> String {
    let head = format!("{n} of {total} {msg} ");
    let dots = LINE_WIDTH.saturating_sub(head.chars().count()).max(3);
    format!("{head}{} [{status}]", ".".repeat(dots))
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

/// Whether a run of `total` nodes shows a progress bar: on a terminal, not
/// quiet, and long (more than [`BAR_ABOVE`] nodes); otherwise dbt's lines.
fn wants_bar(interactive: bool, quiet: bool, total: usize) -> bool {
    interactive && !quiet && total > BAR_ABOVE
}

impl Printer {
    /// A printer for `--quiet` `quiet`, interactive when stderr is a
    /// terminal (`NO_COLOR` and `TERM=dumb` are left to indicatif).
    pub fn new(quiet: bool) -> Printer {
        use std::io::IsTerminal;
        Printer {
            quiet,
            interactive: std::io::stderr().is_terminal() && !json_logs(),
        }
    }

    /// A progress bar for a run of `total` nodes, when one is wanted (see
    /// [`wants_bar`]).
    pub fn progress_bar(&self, total: usize) -> Option<ProgressBar> {
        if !wants_bar(self.interactive, self.quiet, total) {
            return None;
        }
        let bar = indicatif::ProgressBar::new(total as u64);
        let style = indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} nodes {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Some(ProgressBar(bar))
    }

    /// A node's finish line above `bar` when it did not succeed (successes
    /// only move the bar), else the dbt line as [`Printer::finish`].
    pub fn finish_with(
        &self,
        bar: Option<&ProgressBar>,
        n: usize,
        total: usize,
        node: &Node,
        r: &NodeResult,
    ) {
        match bar {
            Some(bar) => {
                if !matches!(r.status, Status::Success | Status::Pass | Status::Reused) {
                    bar.println(&self.progress_text(n, total, node, r));
                }
                bar.inc();
            }
            None => self.finish(n, total, node, r),
        }
    }

    /// Writes one line to stderr with dbt's `HH:MM:SS  ` prefix.
    pub fn line(&self, text: &str) {
        self.write_line(text, text);
    }

    /// Writes `text` (or, for people, `styled`: the same text with ANSI
    /// colour, which anstream strips where stderr does not take it).
    fn write_line(&self, text: &str, styled: &str) {
        if self.quiet {
            return;
        }
        emit_line("info", text, styled);
    }

    /// A line of the error summary: written even under `--quiet`, which
    /// (as dbt's) hides everything but errors.
    fn error_line(&self, text: &str) {
        if self.quiet {
            emit_line("error", text, text);
        } else {
            self.line(text);
        }
    }

    /// A node's finish line; under `--log-format json` it carries dbt's
    /// `node_info` (unique_id, status, execution time).
    fn node_line(&self, text: &str, node: &Node, r: &NodeResult) {
        if self.quiet {
            return;
        }
        if !json_logs() {
            return self.write_line(text, &coloured_status(text));
        }
        let data = serde_json::json!({
            "node_info": {
                "unique_id": node.unique_id,
                "resource_type": node.resource_type.as_str(),
                "node_status": r.status.as_str(),
                "execution_time": r.execution_time,
            }
        });
        let level = if r.status.is_failure() {
            "error"
        } else {
            "info"
        };
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}",
            json_line(level, "NodeFinished", text, data)
        );
    }

    fn progress(&self, n: usize, total: usize, msg: &str, status: &str) {
        let text = progress_line(n, total, msg, status);
        self.write_line(&text, &coloured_status(&text));
    }

    /// A progress line of a command that runs no nodes (`source
    /// freshness`): `1 of 5 <msg> ..... [<status>]`, coloured by status.
    pub fn step(&self, n: usize, total: usize, msg: &str, status: &str) {
        self.progress(n, total, msg, status);
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
        self.node_line(&self.progress_text(n, total, node, r), node, r);
    }

    /// The text of a node's finish line, by status.
    fn progress_text(&self, n: usize, total: usize, node: &Node, r: &NodeResult) -> String {
        let t = format!("{:.2}s", r.execution_time);
        let (msg, status) = match (node.resource_type, r.status) {
            (ResourceType::Test, Status::Pass) => match &r.proof {
                Some((_, false)) => (
                    format!("PASS (proven) {}", node.name),
                    "PASS (proven, not run)".to_owned(),
                ),
                Some((_, true)) => (
                    format!("PASS (proven) {}", node.name),
                    format!("PASS (proven) in {t}"),
                ),
                None => (format!("PASS {}", node.name), format!("PASS in {t}")),
            },
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
            (_, Status::Reused) => (
                format!("REUSED {}", describe(node)),
                format!("REUSED in {t}"),
            ),
            (_, Status::PartialSuccess) => {
                let (ok, all) = r.batch_results.as_ref().map_or((0, 0), |b| {
                    (b.successful.len(), b.successful.len() + b.failed.len())
                });
                (
                    format!(
                        "PARTIAL SUCCESS ({ok}/{all}) batches for {}",
                        describe(node)
                    ),
                    format!("PARTIAL SUCCESS in {t}"),
                )
            }
            (ResourceType::Seed, _) => (
                format!("ERROR loading {}", describe(node)),
                format!("ERROR in {t}"),
            ),
            _ => (
                format!("ERROR creating {}", describe(node)),
                format!("ERROR in {t}"),
            ),
        };
        progress_line(n, total, &msg, &status)
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
            // Under --quiet only errors and failures are shown, as dbt's
            // quiet keeps error-level lines.
            let line = |text: &str| match r.status {
                Status::Warn => self.line(text),
                _ => self.error_line(text),
            };
            let node = &manifest.nodes[r.index];
            let kind = node.resource_type.as_str();
            let file = slash(&node.original_file_path);
            line("");
            match r.status {
                Status::Fail => line(&format!("Failure in {kind} {} ({file})", node.name)),
                Status::Warn => line(&format!("Warning in {kind} {} ({file})", node.name)),
                _ => line(&format!("Error in {kind} {} ({file})", node.name)),
            }
            match &r.error {
                Some(rendered) => {
                    for l in rendered.lines() {
                        line(&format!("  {l}"));
                    }
                }
                None => line(&format!("  {}", r.message)),
            }
            if let Some(p) = paths.get(&r.index) {
                line("");
                line(&format!("  compiled code at {}", slash(p)));
            }
        }
        let t = tally(results);
        self.line("");
        // Always printed, even with --quiet: it is the run's verdict.
        let mut done = format!(
            "Done. PASS={} WARN={} ERROR={} SKIP={} TOTAL={}",
            t["PASS"], t["WARN"], t["ERROR"], t["SKIP"], t["TOTAL"]
        );
        // sluice's extension: how many passes were proven by the grain,
        // and how many of those were not executed (`--skip-proven`).
        let proven = results
            .iter()
            .filter(|r| r.proof.is_some() && r.status == Status::Pass)
            .count();
        if proven > 0 {
            let not_run = results
                .iter()
                .filter(|r| matches!(r.proof, Some((_, false))))
                .count();
            done.push_str(&format!(" PROVEN={proven}"));
            if not_run > 0 {
                done.push_str(&format!(" (NOT RUN={not_run})"));
            }
        }
        self.error_line(&done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_long_runs_on_a_terminal_get_a_bar() {
        assert!(wants_bar(true, false, 51));
        assert!(!wants_bar(true, false, 50));
        assert!(!wants_bar(false, false, 1000));
        assert!(!wants_bar(true, true, 1000));
    }

    #[test]
    fn lines_are_padded_to_80_columns() {
        let line = progress_line(1, 5, "START sql view model main.a", "RUN");
        assert_eq!(line.chars().count(), 80 + " [RUN]".len());
        assert!(line.starts_with("1 of 5 START sql view model main.a ...."));
    }

    #[test]
    fn statuses_are_coloured_as_dbt_colours_them() {
        let red = "\u{1b}[31m";
        let green = "\u{1b}[32m";
        let yellow = "\u{1b}[33m";
        assert!(coloured_status("1 of 2 ERROR creating x ... [ERROR in 0.01s]").contains(red));
        assert!(coloured_status("1 of 2 FAIL 3 t ... [FAIL 3 in 0.01s]").contains(red));
        assert!(coloured_status("1 of 2 WARN 3 t ... [WARN 3 in 0.01s]").contains(yellow));
        assert!(coloured_status("1 of 2 SKIP relation x ... [SKIP]").contains(yellow));
        assert!(coloured_status("1 of 2 OK created x ... [OK in 0.01s]").contains(green));
        assert_eq!(
            coloured_status("1 of 2 START x ... [RUN]"),
            "1 of 2 START x ... [RUN]"
        );
        assert_eq!(
            coloured_status("Completed successfully"),
            "Completed successfully"
        );
        // The text between the brackets is unchanged.
        let line = coloured_status("1 of 2 OK created x ... [OK in 0.01s]");
        assert_eq!(
            anstream::adapter::strip_str(&line).to_string(),
            "1 of 2 OK created x ... [OK in 0.01s]"
        );
    }
}

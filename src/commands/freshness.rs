//! `source freshness`, as dbt's (see [`crate::freshness`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::cli::{GlobalArgs, SelectArgs};
use crate::commands::invocation::{InvocationArgs, Outcome};
use crate::commands::session::Session;
use crate::docs::artifacts::{self, Invocation};
use crate::error::{Error, ErrorKind, Result, Severity};
use crate::execute::output::{print_diagnostic, Printer};
use crate::freshness::{source_name, Criteria, FreshnessResult, FreshnessStatus};
use crate::manifest::ResourceType;

/// The environment variable that pins the clock freshness is judged by
/// (a timestamp, UTC unless it has an offset), for tests and replays.
pub const FRESHNESS_TIME_VAR: &str = "SLUICE_FRESHNESS_TIME";

/// `sluice source freshness`, as dbt's: for each selected source table with
/// a freshness threshold, in manifest order, finds its newest row and
/// prints `PASS`, `WARN`, `ERROR STALE` (older than error_after) or `ERROR`
/// (the check failed, with the located diagnostic); then writes sources.json
/// (dbt's sources v3 schema) to `output` or target/sources.json.
///
/// Returns [`Outcome::NodeFailure`] (exit 1) when a source is past
/// error_after or its check failed; warnings exit 0.
///
/// Errors: project and selector errors; a malformed freshness config;
/// [`ErrorKind::Usage`] for a malformed `SLUICE_FRESHNESS_TIME`; the
/// warehouse's connection errors; [`ErrorKind::Io`] writing sources.json.
pub fn source_freshness(
    g: &GlobalArgs,
    select: &SelectArgs,
    output: Option<&Path>,
) -> Result<Outcome> {
    let inv = Invocation::new();
    let clock = Instant::now();
    let printer = Printer::new(g.quiet);
    let now = pinned_now()?;
    let p = Session::open(
        g,
        InvocationArgs::new("freshness", g, select, false),
        printer,
    )?;
    let selected = p.select(select, &[ResourceType::Source])?;
    let mut yml_texts: HashMap<PathBuf, String> = HashMap::new();
    let mut checks = Vec::new();
    for &i in &selected {
        let node = &p.manifest.nodes[i];
        let yml = yml_texts
            .entry(node.original_file_path.clone())
            .or_insert_with(|| {
                std::fs::read_to_string(p.project.root.join(&node.original_file_path))
                    .unwrap_or_default()
            });
        if let Some(criteria) = Criteria::of(node, yml)? {
            checks.push((i, criteria));
        }
    }
    let total = checks.len();
    let mut results = Vec::with_capacity(total);
    if total == 0 {
        p.printer.line("Nothing to do: no selected source has a freshness threshold (`freshness: {warn_after: ..., error_after: ...}`)");
    } else {
        let db = crate::adapter::open(&p.project.target)?;
        let chunks: Vec<&[(usize, Criteria)]> = checks.chunks(crate::freshness::BATCH).collect();
        let batches = observe_in_parallel(&p, db.as_ref(), &chunks, &yml_texts, now)?;
        p.printer.line("");
        let mut n = 0;
        for (chunk, (started_at, share, observed)) in chunks.iter().zip(batches) {
            for ((i, criteria), observed) in chunk.iter().zip(observed) {
                let node = &p.manifest.nodes[*i];
                n += 1;
                let what = format!("freshness of {}", source_name(node));
                p.printer.step(n, total, &format!("START {what}"), "RUN");
                let (status, observation, error) = match observed {
                    Ok(o) => (criteria.judge(o.age_s()), Some(o), None),
                    Err(e) => {
                        print_diagnostic(&e, Severity::Error);
                        (
                            FreshnessStatus::RuntimeError,
                            None,
                            Some(e.message().to_owned()),
                        )
                    }
                };
                let result = FreshnessResult {
                    unique_id: node.unique_id.clone(),
                    status,
                    observation,
                    criteria: criteria.clone(),
                    error,
                    started_at,
                    completed_at: started_at + share,
                };
                let t = format!("{:.2}s", result.execution_time());
                let (word, bracket) = match status {
                    FreshnessStatus::Pass => ("PASS", format!("PASS in {t}")),
                    FreshnessStatus::Warn => ("WARN", format!("WARN in {t}")),
                    FreshnessStatus::Error => ("ERROR STALE", format!("ERROR STALE in {t}")),
                    FreshnessStatus::RuntimeError => ("ERROR", format!("ERROR in {t}")),
                };
                p.printer
                    .step(n, total, &format!("{word} {what}"), &bracket);
                results.push(result);
            }
        }
    }
    let elapsed = clock.elapsed().as_secs_f64();
    write_sources_json(&p, &inv, &results, elapsed, output)?;
    let count = |s: FreshnessStatus| results.iter().filter(|r| r.status == s).count();
    let errors = count(FreshnessStatus::Error) + count(FreshnessStatus::RuntimeError);
    if total > 0 {
        p.printer.line("");
        p.printer.line(&format!(
            "Finished running {total} source{} in 0 hours {} minutes and {:.2} seconds ({elapsed:.2}s).",
            if total == 1 { "" } else { "s" },
            (elapsed / 60.0).floor() as u64,
            elapsed % 60.0
        ));
        p.printer.line(&format!(
            "Done. PASS={} WARN={} ERROR={errors} SKIP=0 TOTAL={total}",
            count(FreshnessStatus::Pass),
            count(FreshnessStatus::Warn),
        ));
    }
    Ok(if errors > 0 {
        Outcome::NodeFailure
    } else {
        Outcome::Success
    })
}

/// One batch's observations, when it started, and each source's share of
/// its time.
type BatchResult = (
    DateTime<Utc>,
    chrono::TimeDelta,
    Vec<Result<crate::freshness::Observation>>,
);

/// Observes every batch of `chunks` on up to the target's `threads`
/// connections at once (each thread its own session), in order.
///
/// Errors: the warehouse's connection errors.
fn observe_in_parallel(
    p: &Session,
    db: &dyn crate::warehouse::engine::Warehouse,
    chunks: &[&[(usize, Criteria)]],
    yml_texts: &HashMap<PathBuf, String>,
    now: Option<DateTime<Utc>>,
) -> Result<Vec<BatchResult>> {
    let workers = p.project.target.threads.clamp(1, chunks.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: std::sync::Mutex<Vec<Option<BatchResult>>> =
        std::sync::Mutex::new((0..chunks.len()).map(|_| None).collect());
    let connections = (0..workers)
        .map(|_| db.connect())
        .collect::<Result<Vec<_>>>()?;
    std::thread::scope(|scope| {
        for conn in connections {
            let (next, done) = (&next, &done);
            scope.spawn(move || loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(chunk) = chunks.get(k) else { break };
                let batch: Vec<crate::freshness::Check<'_>> = chunk
                    .iter()
                    .map(|(i, criteria)| {
                        let node = &p.manifest.nodes[*i];
                        (node, criteria, yml_texts[&node.original_file_path].as_str())
                    })
                    .collect();
                let started_at = Utc::now();
                let observed = crate::freshness::observe_all(
                    &p.renderer,
                    conn.as_ref(),
                    &batch,
                    &p.project.root,
                    now,
                );
                let share = (Utc::now() - started_at) / batch.len().max(1) as i32;
                done.lock().unwrap_or_else(|e| e.into_inner())[k] =
                    Some((started_at, share, observed));
            });
        }
    });
    Ok(done
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect())
}

/// The clock `SLUICE_FRESHNESS_TIME` pins, if set.
///
/// Errors: [`ErrorKind::Usage`] when it is not a timestamp.
fn pinned_now() -> Result<Option<DateTime<Utc>>> {
    match std::env::var(FRESHNESS_TIME_VAR) {
        Ok(t) if !t.trim().is_empty() => crate::freshness::parse_timestamp(&t)
            .map(Some)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Usage,
                    format!("{FRESHNESS_TIME_VAR} `{t}` is not a timestamp"),
                )
                .with_hint("write it as `2024-03-01 12:00:00` (UTC) or with an offset, `2024-03-01T12:00:00+02:00`")
            }),
        _ => Ok(None),
    }
}

/// Writes sources.json (dbt's sources v3 schema) to `output`, or to the
/// target path.
///
/// Errors: [`ErrorKind::Io`].
fn write_sources_json(
    p: &Session,
    inv: &Invocation,
    results: &[FreshnessResult],
    elapsed: f64,
    output: Option<&Path>,
) -> Result<()> {
    let doc = json!({
        "metadata": artifacts::metadata(
            inv,
            "https://schemas.getdbt.com/dbt/sources/v3.json",
            None,
        ),
        "results": results.iter().map(FreshnessResult::to_json).collect::<Vec<_>>(),
        "elapsed_time": elapsed,
    });
    match output {
        Some(path) => {
            // sluice writes only inside the project.
            let root = p
                .project
                .root
                .canonicalize()
                .unwrap_or(p.project.root.clone());
            let path = root.join(path);
            let inside = path
                .components()
                .all(|c| c != std::path::Component::ParentDir)
                && path.starts_with(&root);
            if !inside {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!(
                        "`--output {}` is outside the project; sluice writes only inside it",
                        path.display()
                    ),
                )
                .with_hint(
                    "give a path inside the project, such as `target/freshness/sources.json`",
                ));
            }
            let dir = path.parent().unwrap_or(Path::new("."));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sources.json".into());
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
            artifacts::write_json(dir, &name, &doc)
        }
        None => artifacts::write_json(&p.project.target_dir(), "sources.json", &doc),
    }
}

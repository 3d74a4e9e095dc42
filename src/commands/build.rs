//! `run`, `test`, `seed`, `snapshot` and `build`: the commands that run
//! nodes on the warehouse.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::cli::{GlobalArgs, SelectArgs};
use crate::commands::invocation::{InvocationArgs, Outcome, RunCommand};
use crate::commands::session::{incremental_models, Session};
use crate::compile::Compiled;
use crate::docs::artifacts::{self, Invocation};
use crate::error::{Error, ErrorKind, Result};
use crate::execute::output::Printer;
use crate::execute::result::{BatchResults, Status};
use crate::execute::{MicrobatchOptions, NodeResult, RunOptions};
use crate::lineage::Lineage;
use crate::project::config::microbatch::{parse_datetime, parse_sample};
use crate::render::{EventTimeWindow, Resolver};
use crate::runner::reuse::{write_build_state, ReuseState};
use crate::timing::stage;
use crate::warehouse::catalog::Catalog;
use crate::warehouse::engine::Warehouse;

/// `run`, `test`, `seed`, `snapshot` and `build`, as dbt's: parses the
/// project, selects `command`'s nodes, reads the warehouse's catalog,
/// compiles (with column lineage) and runs them in DAG order on
/// `--threads` workers, writing manifest.json beside the run and
/// run_results.json after it. `dry_run`: snapshots report what would
/// change, and roll back.
///
/// `retry_batches`: for `retry`, the batches each partly failed microbatch
/// model ran before (by unique_id); only the failed ones run again.
///
/// Returns [`Outcome::NodeFailure`] when a node errors or a test fails.
///
/// Errors: project, selector and connection errors; hook failures;
/// [`ErrorKind::Usage`] for an unreadable `--event-time-start`/`--event-time-end`.
pub fn execute(
    g: &GlobalArgs,
    select: &SelectArgs,
    command: RunCommand,
    full_refresh: bool,
    dry_run: bool,
    retry_batches: Option<HashMap<String, BatchResults>>,
) -> Result<Outcome> {
    if g.verify_idempotent {
        // `build --verify-idempotent` is dispatched to `idempotence::verify`.
        return Err(Error::new(
            ErrorKind::Usage,
            "`--verify-idempotent` is a flag of `build`",
        )
        .with_hint("run `sluice build --verify-idempotent`"));
    }
    execute_on(
        g,
        select,
        command,
        full_refresh,
        dry_run,
        retry_batches,
        None,
    )
}

/// [`execute`] against the DuckDB file at `scratch` instead of the
/// target's, when given: a scratch copy for `--verify-idempotent`, whose
/// builds leave no model-freshness state behind.
///
/// Errors: as [`execute`].
pub(crate) fn execute_on(
    g: &GlobalArgs,
    select: &SelectArgs,
    command: RunCommand,
    full_refresh: bool,
    dry_run: bool,
    retry_batches: Option<HashMap<String, BatchResults>>,
    scratch: Option<&Path>,
) -> Result<Outcome> {
    let clock = Instant::now();
    let microbatch = MicrobatchOptions {
        retry: retry_batches.unwrap_or_default(),
        ..microbatch_options(g)?
    };
    let now = microbatch.now;
    let inv = Invocation::new();
    let printer = Printer::new(g.quiet);
    let which = command.which();
    let mut p = Session::open(
        g,
        InvocationArgs::new(which, g, select, full_refresh),
        printer,
    )?;
    let selected = p.select(select, command.resource_types())?;
    // Model freshness: what each node's last build was (commands that
    // build whole tables: not `--empty` or `--sample`, whose rows are partial).
    let reuse =
        (command != RunCommand::Test && !g.empty && g.sample.is_none() && scratch.is_none())
            .then(|| ReuseState::load(&p.project.target_dir(), now));
    if let Some(path) = scratch {
        p.project.target.path = path.to_string_lossy().into_owned();
    }
    p.set_selected_resources(&selected);
    let target = &p.project.target;
    if target.profiles_file.is_none()
        && target.path != ":memory:"
        && !Path::new(&target.path).exists()
    {
        printer.line(&format!(
            "No profiles.yml defines profile `{}`: using the embedded DuckDB database `{}` (schema `{}`)",
            target.profile_name, target.path, target.schema
        ));
    }
    let t = Instant::now();
    let db = crate::adapter::open(target)?;
    stage("open database", t);
    let t = Instant::now();
    // Column lineage reads the warehouse's columns as they are before the
    // run, on a connection of its own beside the catalog read (each is the
    // first system-catalog query of its connection, ~10-20 ms).
    let columns_conn = db.connect()?;
    let (catalog, warehouse) = std::thread::scope(|scope| {
        let columns = scope.spawn(move || crate::lineage::warehouse_columns(columns_conn.as_ref()));
        // `is_incremental()` depends on what the warehouse holds, so it is known before compiling.
        // One catalog read answers every model (a lookup each costs ~9 ms on a
        // large catalog), and serves the run too unless on-run-start hooks may
        // change what exists.
        let catalog = db.catalog();
        let columns = columns
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (catalog, columns)
    });
    let (catalog, warehouse) = (catalog?, warehouse?);
    let cached = db.connect_cached(catalog.clone())?;
    let resolver = Arc::new(p.deferred(
        Resolver {
            incremental: incremental_models(&p.manifest, &selected, cached.as_ref(), full_refresh)?,
            empty: g.empty,
            sample: sample_window(g, microbatch.now)?,
            ..(*p.manifest.resolver).clone()
        },
        &selected,
        cached.as_ref(),
        g.defer,
        g.favor_state,
    )?);
    stage("catalog", t);
    let t = Instant::now();
    // A test is proven from its tested node's grain, inferred while that
    // node and the models it reads compile: those not selected (`sluice
    // test`, or tests selected without their models) are compiled too,
    // and dropped before anything runs or is reported.
    let for_proofs = proof_ancestors(&p.manifest, &selected);
    let mut compiled = if for_proofs.is_empty() {
        p.compile(
            &resolver,
            &selected,
            Lineage::Compute {
                warehouse: Some(&warehouse),
            },
        )
    } else {
        let both: BTreeSet<usize> = selected.union(&for_proofs).copied().collect();
        p.compile(
            &resolver,
            &both,
            Lineage::Compute {
                warehouse: Some(&warehouse),
            },
        )
    };
    compiled.retain(|i, _| selected.contains(i));
    drop(warehouse);
    stage("compile", t);
    // manifest.json is not needed to execute: it is written beside the run.
    p.print_warnings(&compiled)?;
    let (results, manifest) = std::thread::scope(|scope| {
        let (p, inv, compiled) = (&p, &inv, &compiled);
        let manifest = scope.spawn(move || p.write_manifest(compiled, inv));
        let results = run_selected(
            g,
            p,
            &resolver,
            db.as_ref(),
            catalog,
            &selected,
            compiled,
            full_refresh,
            command == RunCommand::Build,
            dry_run,
            microbatch,
            reuse.as_ref(),
        );
        let manifest = manifest
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (results, manifest)
    });
    // Closing checkpoints DuckDB's write-ahead log into the database file.
    let t = Instant::now();
    drop(db);
    stage("close database", t);
    let results = results?;
    manifest?;
    if let Some(reuse) = &reuse {
        write_build_state(&p.project.target_dir(), reuse, &p.manifest, &results)?;
    }
    let elapsed = clock.elapsed().as_secs_f64();
    artifacts::write_run_results_json(
        &p.project.target_dir(),
        &p.manifest,
        &results,
        &compiled,
        elapsed,
        p.invocation.to_json(),
        &inv,
    )?;
    if !selected.is_empty() {
        printer.summary(
            &p.manifest,
            &results,
            elapsed,
            &crate::runner::compiled_paths(&compiled),
        );
    }
    if crate::warehouse::interrupt::interrupted() {
        // Always printed, as dbt's "Exited because of keyboard interrupt".
        let done = results
            .iter()
            .filter(|r| r.status != Status::Skipped)
            .count();
        eprintln!(
            "Interrupted: {done} of {} nodes finished or stopped; the rest were cancelled. run_results.json records them; `sluice retry` runs what did not succeed.",
            results.len()
        );
        return Ok(Outcome::Interrupted);
    }
    Ok(Outcome::failed_if(
        results.iter().any(|r| r.status.is_failure()),
    ))
}

/// The run part of [`execute`]: on-run-start hooks, the selected nodes
/// in DAG order, on-run-end hooks. Returns one result per node run.
///
/// Errors: from hooks and the database; node failures are results, not errors.
#[allow(clippy::too_many_arguments)]
fn run_selected(
    g: &GlobalArgs,
    p: &Session,
    resolver: &Arc<Resolver>,
    db: &dyn Warehouse,
    catalog: Arc<Catalog>,
    selected: &BTreeSet<usize>,
    compiled: &HashMap<usize, Result<Compiled>>,
    full_refresh: bool,
    build: bool,
    dry_run: bool,
    microbatch: MicrobatchOptions,
    reuse: Option<&ReuseState>,
) -> Result<Vec<NodeResult>> {
    let printer = &p.printer;
    let target = &p.project.target;
    crate::runner::create_schemas(&p.renderer, &p.manifest, selected, db)?;
    let catalog = if p.project.config.run_hooks(false).is_empty() {
        catalog
    } else {
        p.run_hooks(resolver, db, false)?;
        db.catalog()?
    };
    let threads = g.threads.unwrap_or(target.threads).max(1);
    printer.line("");
    printer.line(&format!(
        "Concurrency: {threads} thread{} (target='{}')",
        if threads == 1 { "" } else { "s" },
        target.name
    ));
    printer.line("");
    let options = RunOptions {
        threads,
        fail_fast: g.fail_fast,
        full_refresh,
        build,
        snapshot_time: snapshot_time()?,
        dry_run,
        warn_error: p.warn_policy.all(),
        microbatch,
        skip_proven: g.skip_proven,
    };
    let t = Instant::now();
    let results = if selected.is_empty() {
        printer.line("Nothing to do. Try checking your model configs and the --select argument.");
        Vec::new()
    } else {
        let cx = p.context(resolver);
        crate::warehouse::interrupt::set_run_active(true);
        let results = crate::runner::run(
            &cx, &p.graph, db, catalog, selected, compiled, &options, printer, reuse,
        );
        crate::warehouse::interrupt::set_run_active(false);
        results?
    };
    stage("execute", t);
    // An interrupted run ends here: on-run-end hooks would start new work.
    if !crate::warehouse::interrupt::interrupted() {
        p.run_hooks(resolver, db, true)?;
    }
    Ok(results)
}

/// The microbatch options of flags `g`: the invocation's time (now, UTC,
/// or `SLUICE_INVOCATION_TIME` to pin it for reproducible runs, as
/// `SLUICE_SNAPSHOT_TIME` pins snapshots') and the `--event-time-*` bounds.
///
/// Errors: [`ErrorKind::Usage`] for an unreadable timestamp, or a start
/// not before the end (as dbt's check of the flags).
fn microbatch_options(g: &GlobalArgs) -> Result<MicrobatchOptions> {
    let read = |what: &str, text: &str| {
        parse_datetime(text).ok_or_else(|| {
            Error::new(
                ErrorKind::Usage,
                format!("{what} `{}` is not a date or timestamp", text.trim()),
            )
            .with_hint("write `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` (UTC)")
        })
    };
    let now = match std::env::var("SLUICE_INVOCATION_TIME") {
        Ok(text) => read("SLUICE_INVOCATION_TIME", &text)?,
        Err(_) => chrono::Utc::now().naive_utc(),
    };
    let start = g
        .event_time_start
        .as_deref()
        .map(|t| read("--event-time-start", t))
        .transpose()?;
    let end = g
        .event_time_end
        .as_deref()
        .map(|t| read("--event-time-end", t))
        .transpose()?;
    if let (Some(s), Some(e)) = (start, end) {
        if s >= e {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("--event-time-start ({s}) must be before --event-time-end ({e})"),
            )
            .with_hint("swap the two, or widen the window"));
        }
    }
    Ok(MicrobatchOptions {
        now,
        event_time_start: start,
        event_time_end: end,
        retry: HashMap::new(),
    })
}

/// `--sample`'s window (dbt 1.10), relative to `now`, if given.
///
/// Errors: [`ErrorKind::Usage`] for a window sluice cannot read.
fn sample_window(g: &GlobalArgs, now: chrono::NaiveDateTime) -> Result<Option<EventTimeWindow>> {
    let Some(text) = &g.sample else {
        return Ok(None);
    };
    let (start, end) = parse_sample(text, now).map_err(|why| {
        Error::new(ErrorKind::Usage, format!("--sample {text:?}: {why}")).with_hint(
            "write `--sample \"3 days\"` (hours, days, months, years) or `--sample \"{start: 2024-07-01, end: 2024-07-08}\"`",
        )
    })?;
    Ok(Some(EventTimeWindow { start, end }))
}

/// The invocation's snapshot time: now (UTC), or `SLUICE_SNAPSHOT_TIME`
/// (`YYYY-MM-DD HH:MM:SS[.ffffff]`, UTC) to pin it for reproducible runs.
///
/// Errors: [`ErrorKind::Usage`] for a malformed `SLUICE_SNAPSHOT_TIME`.
fn snapshot_time() -> Result<chrono::NaiveDateTime> {
    match std::env::var("SLUICE_SNAPSHOT_TIME") {
        Ok(text) => {
            let t = text.trim();
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f"))
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                        .map(|d| d.and_time(chrono::NaiveTime::MIN))
                })
                .map_err(|_| {
                    Error::new(
                        ErrorKind::Usage,
                        format!("SLUICE_SNAPSHOT_TIME `{t}` is not a timestamp"),
                    )
                    .with_hint("use `YYYY-MM-DD HH:MM:SS` (UTC), or unset it to use the clock")
                })
        }
        Err(_) => Ok(chrono::Utc::now().naive_utc()),
    }
}

/// The models a proof of a selected test needs compiled that are not
/// selected: each selected test's tested node, when it is a model, and the
/// models it reads, transitively (their grains feed its grain).
fn proof_ancestors(
    manifest: &crate::manifest::Manifest,
    selected: &BTreeSet<usize>,
) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    let mut todo: Vec<usize> = selected
        .iter()
        .filter_map(|&i| crate::grain::tested_node(&manifest.nodes[i]))
        .filter_map(|id| manifest.position(id))
        .filter(|i| !selected.contains(i))
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(i) = todo.pop() {
        let node = &manifest.nodes[i];
        if node.resource_type != crate::manifest::ResourceType::Model || !seen.insert(i) {
            continue;
        }
        if !selected.contains(&i) {
            out.insert(i);
        }
        todo.extend(node.depends_on.iter().filter_map(|d| manifest.position(d)));
    }
    out
}

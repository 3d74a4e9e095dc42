//! Each CLI command as a function of the pipeline stages.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::adapter::duckdb::Database;
use crate::cli::{Cli, Command, GlobalArgs, LsOutput, SelectArgs};
use crate::compile::{compile_all, compile_one, CompileContext, Compiled};
use crate::docs::artifacts::{self, Invocation};
use crate::error::{Error, ErrorKind, Result};
use crate::execute::output::Printer;
use crate::execute::{NodeResult, RunOptions, Status};
use crate::graph::Graph;
use crate::lineage::Lineage;
use crate::manifest::{slash, Manifest, Node, ResourceType};
use crate::project::{LoadOptions, ProfileOptions, Project};
use crate::render::context::Flags;
use crate::render::{Introspection, NodeScope, NodeVars, Phase, ProjectJinja, Renderer, Resolver};
use crate::selector;
use crate::state::PreviousState;
use crate::warehouse::connection::Connection;

/// How a command ended (errors that stop the command are `Err`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything passed (warnings allowed).
    Success,
    /// At least one node errored or a test failed.
    NodeFailure,
}

impl Outcome {
    /// The process exit code: 0 or 1.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::NodeFailure => 1,
        }
    }
}

/// Runs the command `cli` describes.
///
/// Errors: any project, usage or connection error (exit code 2).
pub fn run(cli: &Cli) -> Result<Outcome> {
    let g = &cli.global;
    match &cli.command {
        Command::Clean => clean(g),
        Command::Deps {
            upgrade,
            lock,
            add_package,
            source,
        } => deps(g, *upgrade, *lock, add_package.as_deref(), *source),
        Command::Docs {
            command: crate::cli::DocsCommand::Generate,
        } => docs_generate(g),
        Command::Docs {
            command: crate::cli::DocsCommand::Serve { port },
        } => crate::docs::serve::serve(
            &Project::load(&load_options(g), &ProjectJinja)?.target_dir(),
            *port,
        )
        .map(|()| Outcome::Success),
        Command::Dag { select, format } => dag(g, select, *format),
        Command::Lineage { column, output } => lineage_command(g, column, *output),
        Command::Retry => retry(g),
        Command::Debug => debug(g),
        Command::Compile {
            select,
            inline,
            snapshot,
            check,
            dialect,
        } => match dialect {
            Some(d) => compile_dialect(g, select, d),
            None => compile(g, select, inline.as_deref(), *snapshot, *check),
        },
        Command::Ls {
            select,
            resource_type,
            output,
        } => ls(g, select, resource_type, *output),
        Command::Show {
            select,
            inline,
            limit,
            output,
        } => show(g, select, inline.as_deref(), *limit, *output),
        Command::Run {
            select,
            full_refresh,
        } => execute(g, select, &[ResourceType::Model], *full_refresh, false),
        Command::Test { select } => execute(
            g,
            select,
            &[ResourceType::Test, ResourceType::UnitTest],
            false,
            false,
        ),
        Command::Seed {
            select,
            full_refresh,
        } => execute(g, select, &[ResourceType::Seed], *full_refresh, false),
        Command::Snapshot { select, dry_run } => {
            execute_with(g, select, &[ResourceType::Snapshot], false, false, *dry_run)
        }
        Command::Build {
            select,
            full_refresh,
        } => execute(
            g,
            select,
            &[
                ResourceType::Seed,
                ResourceType::Model,
                ResourceType::Snapshot,
                ResourceType::Test,
                ResourceType::UnitTest,
            ],
            *full_refresh,
            true,
        ),
    }
}

/// The previous run's artifacts named by `--state`, if any.
/// The `--state` artifacts, compared with the current macros (for dbt's
/// `state:modified.macros`).
fn load_state(g: &GlobalArgs, p: &Parsed) -> Result<Option<PreviousState>> {
    g.state
        .as_deref()
        .map(|dir| PreviousState::load(dir).map(|s| s.with_current_macros(p.renderer.macros())))
        .transpose()
}

fn load_options(g: &GlobalArgs) -> LoadOptions {
    LoadOptions {
        project_dir: g.project_dir.clone().unwrap_or_else(|| PathBuf::from(".")),
        profile: ProfileOptions {
            profiles_dir: g.profiles_dir.clone(),
            target: g.target.clone(),
        },
        vars: g.vars.clone(),
    }
}

/// Everything parsed: project, renderer, manifest, graph.
struct Parsed {
    project: Project,
    renderer: Renderer,
    manifest: Manifest,
    graph: Graph,
}

impl Parsed {
    /// What compiling a node needs, with refs resolved by `resolver`.
    fn context<'a>(&'a self, resolver: &'a Arc<Resolver>) -> CompileContext<'a> {
        CompileContext {
            renderer: &self.renderer,
            manifest: &self.manifest,
            resolver,
            project_root: &self.project.root,
            target_path: &self.project.config.target_path,
            engine_parser: crate::adapter::duckdb::parser_accepts,
        }
    }
}

use crate::timing::stage;

/// dbt's `flags` for command `which` (dbt's name: `run`, `list`,
/// `generate`, ...) with global options `g`.
fn flags(which: &str, g: &GlobalArgs, full_refresh: bool) -> Flags {
    let args: Vec<String> = std::env::args().skip(1).collect();
    Flags {
        which: which.to_owned(),
        full_refresh,
        empty: g.empty,
        fail_fast: g.fail_fast,
        store_failures: false,
        quiet: g.quiet,
        invocation_command: format!("sluice {}", args.join(" ")).trim_end().to_owned(),
        profiles_dir: g
            .profiles_dir
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
    }
}

/// Loads and parses the project. Templates see `flags` while parsing, as
/// in dbt, and once parsing is done `graph` (dbt's flat graph: the parse
/// render sees it empty), built only when a macro or node mentions it.
fn parse(g: &GlobalArgs, printer: &Printer, flags: &Flags) -> Result<Parsed> {
    let t = Instant::now();
    let project = Project::load(&load_options(g), &ProjectJinja)?;
    if !g.quiet {
        for w in &project.warnings {
            eprintln!("{w}");
        }
    }
    stage("load", t);
    let t = Instant::now();
    let mut renderer = Renderer::new(&project)?;
    renderer.add_global("flags", flags.value());
    stage("environment", t);
    let t = Instant::now();
    let manifest = Manifest::build(&project, &renderer)?;
    stage("parse", t);
    if crate::docs::flat_graph::mentioned(&renderer, &manifest) {
        let t = Instant::now();
        let graph = crate::docs::flat_graph::flat_graph(&manifest, &project.config.target_path);
        renderer.add_global("graph", graph);
        stage("flat graph", t);
    }
    let t = Instant::now();
    let graph = Graph::build(&manifest)?;
    stage("graph", t);
    let count = |t: ResourceType| {
        manifest
            .nodes
            .iter()
            .filter(|n| n.resource_type == t)
            .count()
    };
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    printer.line(&format!(
        "Found {}, {}, {}, {}, {}, {}, {}, {}",
        plural(count(ResourceType::Model), "model", "models"),
        plural(count(ResourceType::Seed), "seed", "seeds"),
        plural(count(ResourceType::Snapshot), "snapshot", "snapshots"),
        plural(count(ResourceType::Test), "data test", "data tests"),
        plural(count(ResourceType::Source), "source", "sources"),
        plural(count(ResourceType::Analysis), "analysis", "analyses"),
        plural(renderer.macros().len(), "macro", "macros"),
        plural(count(ResourceType::UnitTest), "unit test", "unit tests"),
    ));
    Ok(Parsed {
        project,
        renderer,
        manifest,
        graph,
    })
}

/// Hands templates dbt's `selected_resources`: the unique_ids of the
/// selected nodes, in manifest order.
fn set_selected_resources(p: &mut Parsed, selected: &std::collections::BTreeSet<usize>) {
    let ids: Vec<minijinja::Value> = selected
        .iter()
        .map(|&i| minijinja::Value::from(p.manifest.nodes[i].unique_id.clone()))
        .collect();
    p.renderer
        .add_global("selected_resources", minijinja::Value::from(ids));
}

/// Prints the compile warnings (tables read without ref or source), in
/// node order, unless quiet.
fn print_warnings(compiled: &HashMap<usize, Result<Compiled>>, quiet: bool) {
    if quiet {
        return;
    }
    let mut order: Vec<&usize> = compiled.keys().collect();
    order.sort_unstable();
    for i in order {
        if let Ok(c) = &compiled[i] {
            for w in &c.warnings {
                eprint!("{w}");
            }
        }
    }
}

/// Compiles the selected nodes (see [`compile_all`]), keyed by position,
/// with column lineage as `lineage` says.
fn compile_selected(
    p: &Parsed,
    resolver: &Arc<Resolver>,
    selected: &std::collections::BTreeSet<usize>,
    lineage: Lineage,
) -> HashMap<usize, Result<Compiled>> {
    compile_all(
        &p.renderer,
        &p.manifest,
        resolver,
        selected,
        &p.project.root,
        &p.project.config.target_path,
        lineage,
        crate::adapter::duckdb::parser_accepts,
    )
    .into_iter()
    .collect()
}

/// The columns of every relation in the project's database, for column
/// lineage, when its file exists (compile does not create one): what exists
/// is known from the warehouse; without it, from YAML and seeds.
fn existing_warehouse_columns(p: &Parsed) -> Option<crate::lineage::WarehouseColumns> {
    existing_database(p)
        .and_then(|db| db.connect().ok())
        .and_then(|c| crate::lineage::warehouse_columns(&c).ok())
}

/// Every node compiled, with column lineage (warehouse columns read from
/// the database file when it exists): for `lineage` and `docs generate`.
fn compile_everything(p: &Parsed) -> HashMap<usize, Result<Compiled>> {
    let resolver = Arc::new((*p.manifest.resolver).clone());
    let all: std::collections::BTreeSet<usize> = (0..p.manifest.nodes.len()).collect();
    let warehouse = existing_warehouse_columns(p);
    compile_selected(
        p,
        &resolver,
        &all,
        Lineage::Compute {
            warehouse: warehouse.as_ref(),
        },
    )
}

/// After compiling without a run: the SQL warnings, then manifest.json.
///
/// Errors: [`ErrorKind::Io`] when manifest.json cannot be written.
fn warnings_and_manifest(
    p: &Parsed,
    compiled: &HashMap<usize, Result<Compiled>>,
    quiet: bool,
    inv: &Invocation,
) -> Result<()> {
    print_warnings(compiled, quiet);
    let t = Instant::now();
    write_manifest(p, compiled, inv)?;
    stage("manifest.json", t);
    Ok(())
}

/// The project's database when its file already exists (compile does not
/// create one); `None` when it is missing or cannot be opened (locked).
fn existing_database(p: &Parsed) -> Option<Database> {
    let target = &p.project.target;
    if target.path == ":memory:" || !Path::new(&target.path).exists() {
        return None;
    }
    Database::open(target).ok()
}

fn write_manifest(
    p: &Parsed,
    compiled: &HashMap<usize, Result<Compiled>>,
    inv: &Invocation,
) -> Result<()> {
    artifacts::write_with(&p.project.target_dir(), "manifest.json", &mut |out| {
        artifacts::write_manifest_json(
            out,
            &p.manifest,
            p.renderer.macros(),
            p.renderer.docs(),
            &p.project.config.target_path,
            compiled,
            inv,
        )
    })
}

fn args_json(command: &str, select: &SelectArgs) -> serde_json::Value {
    json!({"which": command, "select": select.select, "exclude": select.exclude})
}

fn execute(
    g: &GlobalArgs,
    select: &SelectArgs,
    types: &[ResourceType],
    full_refresh: bool,
    build: bool,
) -> Result<Outcome> {
    execute_with(g, select, types, full_refresh, build, false)
}

/// [`execute`], and for snapshots `dry_run` (report changes, roll back).
fn execute_with(
    g: &GlobalArgs,
    select: &SelectArgs,
    types: &[ResourceType],
    full_refresh: bool,
    build: bool,
    dry_run: bool,
) -> Result<Outcome> {
    let clock = Instant::now();
    let inv = Invocation::new();
    let printer = Printer { quiet: g.quiet };
    let which = match (build, types) {
        (true, _) => "build",
        (_, [ResourceType::Model]) => "run",
        (_, [ResourceType::Seed]) => "seed",
        (_, [ResourceType::Snapshot]) => "snapshot",
        _ => "test",
    };
    let mut p = parse(g, &printer, &flags(which, g, full_refresh))?;
    let state = load_state(g, &p)?;
    let selected = selector::select(
        &p.manifest,
        &p.graph,
        &select.select,
        &select.exclude,
        types,
        state.as_ref(),
    )?;
    set_selected_resources(&mut p, &selected);
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
    let db = Database::open(target)?;
    stage("open database", t);
    let t = Instant::now();
    // Column lineage reads the warehouse's columns as they are before the
    // run, on a connection of its own beside the catalog read (each is the
    // first system-catalog query of its connection, ~10-20 ms).
    let columns_conn = db.connect()?;
    let (catalog, warehouse) = std::thread::scope(|scope| {
        let columns = scope.spawn(move || crate::lineage::warehouse_columns(&columns_conn));
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
    let resolver = Arc::new(Resolver {
        incremental: incremental_models(
            &p.manifest,
            &selected,
            &db.connect_cached(catalog.clone())?,
            full_refresh,
        )?,
        empty: g.empty,
        ..(*p.manifest.resolver).clone()
    });
    stage("catalog", t);
    let t = Instant::now();
    let compiled = compile_selected(
        &p,
        &resolver,
        &selected,
        Lineage::Compute {
            warehouse: Some(&warehouse),
        },
    );
    drop(warehouse);
    stage("compile", t);
    // manifest.json is not needed to execute: it is written beside the run.
    print_warnings(&compiled, g.quiet);
    let (results, manifest) = std::thread::scope(|scope| {
        let (p, inv, compiled) = (&p, &inv, &compiled);
        let manifest = scope.spawn(move || -> Result<()> {
            let t = Instant::now();
            write_manifest(p, compiled, inv)?;
            stage("manifest.json", t);
            Ok(())
        });
        let results = run_selected(
            g,
            p,
            &resolver,
            &db,
            catalog,
            &selected,
            compiled,
            full_refresh,
            build,
            dry_run,
            &printer,
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
    let elapsed = clock.elapsed().as_secs_f64();
    artifacts::write_run_results_json(
        &p.project.target_dir(),
        &p.manifest,
        &results,
        &compiled,
        elapsed,
        args_json(which, select),
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
    Ok(if results.iter().any(|r| r.status.is_failure()) {
        Outcome::NodeFailure
    } else {
        Outcome::Success
    })
}

/// The run part of [`execute_with`]: on-run-start hooks, the selected nodes
/// in DAG order, on-run-end hooks. Returns one result per node run.
///
/// Errors: from hooks and the database; node failures are results, not errors.
#[allow(clippy::too_many_arguments)]
fn run_selected(
    g: &GlobalArgs,
    p: &Parsed,
    resolver: &Arc<Resolver>,
    db: &Database,
    catalog: Arc<crate::adapter::duckdb::Catalog>,
    selected: &std::collections::BTreeSet<usize>,
    compiled: &HashMap<usize, Result<Compiled>>,
    full_refresh: bool,
    build: bool,
    dry_run: bool,
    printer: &Printer,
) -> Result<Vec<NodeResult>> {
    let target = &p.project.target;
    let catalog = if p.project.config.run_hooks(false).is_empty() {
        catalog
    } else {
        run_hooks(p, resolver, db, false)?;
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
    };
    let t = Instant::now();
    let results = if selected.is_empty() {
        printer.line("Nothing to do. Try checking your model configs and the --select argument.");
        Vec::new()
    } else {
        let cx = p.context(resolver);
        crate::runner::run(
            &cx, &p.graph, db, catalog, selected, compiled, &options, printer,
        )?
    };
    stage("execute", t);
    run_hooks(p, resolver, db, true)?;
    Ok(results)
}

/// `sluice retry`, as dbt's: re-runs the nodes of the last invocation (as
/// recorded in target/run_results.json) that errored, failed or were skipped,
/// with the same command.
///
/// Errors: [`ErrorKind::Usage`] without a previous run_results.json.
fn retry(g: &GlobalArgs) -> Result<Outcome> {
    let project = Project::load(&load_options(g), &ProjectJinja)?;
    let dir = project.target_dir();
    let file = dir.join("run_results.json");
    let text = std::fs::read_to_string(&file).map_err(|e| {
        Error::io("read", &file, e)
            .with_hint("run `sluice build` (or run, test, seed) first; retry repeats its failures")
    })?;
    let results: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("`{}` is not valid JSON: {e}", file.display()),
        )
    })?;
    let which = results["args"]["which"]
        .as_str()
        .unwrap_or("build")
        .to_owned();
    let state = PreviousState::load(&dir)?;
    let failed = state.with_results(&["error", "fail", "skipped"]);
    if failed.is_empty() {
        if !g.quiet {
            eprintln!("Nothing to retry: the last `{which}` had no errors, failures or skips");
        }
        return Ok(Outcome::Success);
    }
    let select = SelectArgs {
        select: failed.iter().map(|u| format!("unique_id:{u}")).collect(),
        exclude: Vec::new(),
    };
    match which.as_str() {
        "run" => execute(g, &select, &[ResourceType::Model], false, false),
        "seed" => execute(g, &select, &[ResourceType::Seed], false, false),
        "snapshot" => execute(g, &select, &[ResourceType::Snapshot], false, false),
        "test" => execute(
            g,
            &select,
            &[ResourceType::Test, ResourceType::UnitTest],
            false,
            false,
        ),
        "build" => execute(
            g,
            &select,
            &[
                ResourceType::Seed,
                ResourceType::Model,
                ResourceType::Snapshot,
                ResourceType::Test,
                ResourceType::UnitTest,
            ],
            false,
            true,
        ),
        other => Err(Error::new(
            ErrorKind::Usage,
            format!("the last command, `{other}`, cannot be retried"),
        )
        .with_hint("retry repeats run, build, seed or test")),
    }
}

fn compile(
    g: &GlobalArgs,
    select: &SelectArgs,
    inline: Option<&str>,
    snapshot: bool,
    check: bool,
) -> Result<Outcome> {
    let clock = Instant::now();
    let inv = Invocation::new();
    let printer = Printer { quiet: g.quiet };
    let mut p = parse(g, &printer, &flags("compile", g, false))?;
    if let Some(sql) = inline {
        let code = compile_inline(&p, sql)?;
        println!("{code}");
        return Ok(Outcome::Success);
    }
    let types = [
        ResourceType::Model,
        ResourceType::Test,
        ResourceType::Analysis,
    ];
    let state = load_state(g, &p)?;
    let selected = selector::select(
        &p.manifest,
        &p.graph,
        &select.select,
        &select.exclude,
        &types,
        state.as_ref(),
    )?;
    set_selected_resources(&mut p, &selected);
    let resolver = Arc::new(Resolver {
        empty: g.empty,
        ..(*p.manifest.resolver).clone()
    });
    let warehouse = existing_warehouse_columns(&p);
    let t = Instant::now();
    let mut compiled = compile_selected(
        &p,
        &resolver,
        &selected,
        Lineage::Compute {
            warehouse: warehouse.as_ref(),
        },
    );
    // Nodes that run statements while compiling (run_query, ...) are compiled
    // again against the warehouse, as dbt's compile does.
    let mut introspective: Vec<usize> = compiled
        .iter()
        .filter(|(_, c)| c.as_ref().is_ok_and(|c| c.introspective))
        .map(|(&i, _)| i)
        .collect();
    if !introspective.is_empty() {
        introspective.sort_unstable();
        let db = Database::open(&p.project.target)?;
        let conn: Box<dyn crate::warehouse::connection::Connection> = Box::new(db.connect()?);
        let live = Introspection::Live(Arc::new(std::sync::Mutex::new(conn)));
        let cx = p.context(&resolver);
        for i in introspective {
            compiled.insert(i, compile_one(&cx, i, &live));
        }
    }
    stage("compile", t);
    warnings_and_manifest(&p, &compiled, g.quiet, &inv)?;
    let mut order: Vec<usize> = compiled.keys().copied().collect();
    order.sort_unstable();
    let mut results = Vec::new();
    let mut failed = false;
    for &i in &order {
        let mut result = NodeResult::new(i, Status::Success, "Thread-1");
        if let Err(e) = &compiled[&i] {
            failed = true;
            eprint!("{}", e.render());
            result.status = Status::Error;
            result.message = e.message().to_owned();
        }
        results.push(result);
    }
    // With --select, print the compiled SQL of the selected models (data to stdout).
    if !select.select.is_empty() {
        let models: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| p.manifest.nodes[i].resource_type != ResourceType::Test)
            .collect();
        let show = if models.is_empty() {
            order.clone()
        } else {
            models
        };
        for (k, &i) in show.iter().enumerate() {
            if let Ok(c) = &compiled[&i] {
                if show.len() > 1 {
                    if k > 0 {
                        println!();
                    }
                    println!("-- {}", p.manifest.nodes[i].unique_id);
                }
                println!("{}", c.code);
            }
        }
    }
    let elapsed = clock.elapsed().as_secs_f64();
    let t = Instant::now();
    artifacts::write_run_results_json(
        &p.project.target_dir(),
        &p.manifest,
        &results,
        &compiled,
        elapsed,
        args_json("compile", select),
        &inv,
    )?;
    stage("run_results.json", t);
    printer.line(&format!(
        "Compiled {} node{} to {}/compiled in {elapsed:.2}s",
        order.len(),
        if order.len() == 1 { "" } else { "s" },
        p.project.config.target_path
    ));
    if snapshot || check {
        let models: Vec<(&Node, &Compiled)> = order
            .iter()
            .filter_map(|&i| {
                let node = &p.manifest.nodes[i];
                match (&compiled[&i], node.resource_type) {
                    (Ok(c), ResourceType::Model) => Some((node, c)),
                    _ => None,
                }
            })
            .collect();
        let dir = p.project.root.join("snapshots").join("compiled");
        if snapshot {
            let written = crate::compile::write_snapshots(&dir, &models)?;
            printer.line(&format!(
                "Wrote {written} compiled-SQL snapshot{} to snapshots/compiled/",
                if written == 1 { "" } else { "s" }
            ));
        } else {
            let diffs = crate::compile::check_snapshots(&dir, &models);
            for d in &diffs {
                eprint!("{d}");
            }
            if !diffs.is_empty() {
                eprintln!(
                    "{} compiled model{} from snapshots/compiled/; review, then run `sluice compile --snapshot` to accept",
                    diffs.len(),
                    if diffs.len() == 1 { " differs" } else { "s differ" }
                );
                failed = true;
            }
        }
    }
    release_at_exit((p, compiled));
    Ok(if failed {
        Outcome::NodeFailure
    } else {
        Outcome::Success
    })
}

/// Leaves `state` for the process's exit to reclaim instead of freeing it
/// piece by piece: the last step of a command that built a whole project
/// (every node parsed and compiled), which `main` reports on and exits
/// right after. Freeing 10,000 models' worth, on one thread, took ~50-70 ms
/// of a 2.3 s compile. Only for state built once per process.
fn release_at_exit<T>(state: T) {
    std::mem::forget(state);
}

/// Renders and runs `on-run-start` (`end` false) or `on-run-end` (`end` true).
///
/// Errors: Jinja or [`ErrorKind::Database`] errors, naming the hook.
fn run_hooks(p: &Parsed, resolver: &Arc<Resolver>, db: &Database, end: bool) -> Result<()> {
    let hooks = p.project.config.run_hooks(end);
    if hooks.is_empty() {
        return Ok(());
    }
    let which = if end { "on-run-end" } else { "on-run-start" };
    let uid = format!("operation.{}.{which}", p.manifest.project_name);
    let scope = Arc::new(NodeScope::new(
        Phase::Compile,
        &uid,
        Default::default(),
        resolver.clone(),
    ));
    let vars = NodeVars {
        this: None,
        model: minijinja::Value::from(()),
        test_kwargs: None,
    };
    let conn = db.connect()?;
    for (k, hook) in hooks.iter().enumerate() {
        let sql = p
            .renderer
            .render(&format!("<{which} hook {}>", k + 1), hook, &scope, &vars)?;
        conn.execute(&sql)
            .map_err(|e| e.with_note(format!("in `{which}` hook {} of dbt_project.yml", k + 1)))?;
    }
    Ok(())
}

/// The selected incremental models whose table already exists and that are
/// not being fully refreshed (`--full-refresh` or `full_refresh: true`):
/// for these `is_incremental()` is true, as in dbt.
///
/// Errors: [`ErrorKind::Database`] if the catalog cannot be read.
fn incremental_models(
    manifest: &Manifest,
    selected: &std::collections::BTreeSet<usize>,
    conn: &dyn Connection,
    full_refresh: bool,
) -> Result<std::collections::HashSet<String>> {
    let mut out = std::collections::HashSet::new();
    for &i in selected {
        let node = &manifest.nodes[i];
        if node.resource_type != ResourceType::Model || node.config.materialized() != "incremental"
        {
            continue;
        }
        if crate::materialize::incremental::full_refresh(node, full_refresh) {
            continue;
        }
        if let Some(rel) = &node.relation {
            if conn.relation_type(rel)? == Some(crate::warehouse::connection::RelationType::Table) {
                out.insert(node.unique_id.clone());
            }
        }
    }
    Ok(out)
}

/// Compiles an ad-hoc SQL snippet (`--inline`) in the project's context,
/// with the ephemeral models it refs inlined as `__dbt__cte__` CTEs.
///
/// Errors: Jinja errors; [`ErrorKind::UnknownRef`] for a ref to no node.
fn compile_inline(p: &Parsed, sql: &str) -> Result<String> {
    let uid = format!("sql_operation.{}.inline_query", p.manifest.project_name);
    let vars = NodeVars {
        this: None,
        model: minijinja::Value::from_serialize(json!({"name": "inline_query", "unique_id": uid})),
        test_kwargs: None,
    };
    // Parse first, so an unknown ref gets the same located error as in a model.
    let parse_scope = Arc::new(NodeScope::new(
        Phase::Parse,
        &uid,
        Default::default(),
        p.manifest.resolver.clone(),
    ));
    p.renderer.render("<inline>", sql, &parse_scope, &vars)?;
    let refs = parse_scope.captured().refs;
    for call in &refs {
        if !p.manifest.resolver.refs.contains_key(&call.name) {
            let known: Vec<&str> = p
                .manifest
                .resolver
                .refs
                .keys()
                .map(String::as_str)
                .collect();
            let err = Error::new(
                ErrorKind::UnknownRef,
                format!(
                    "inline query refers to `{}`, which does not exist",
                    call.name
                ),
            );
            return Err(match crate::error::did_you_mean(&call.name, known) {
                Some(s) => err.with_hint(format!("did you mean `{s}`?")),
                None => err,
            });
        }
    }
    let scope = Arc::new(NodeScope::new(
        Phase::Compile,
        &uid,
        Default::default(),
        p.manifest.resolver.clone(),
    ));
    let code = p.renderer.render("<inline>", sql, &scope, &vars)?;
    // Ephemeral models the query refs are inlined as CTEs, dependencies
    // first, as in a model's compiled SQL.
    let mut ephemerals: Vec<usize> = Vec::new();
    for call in &refs {
        let found = p.manifest.nodes.iter().position(|n| {
            n.name == call.name
                && call.package.as_ref().is_none_or(|pk| *pk == n.package_name)
                && n.resource_type == ResourceType::Model
                && n.config.materialized() == "ephemeral"
        });
        if let Some(d) = found {
            for a in crate::compile::ephemeral_ancestors(&p.manifest, d)
                .into_iter()
                .chain([d])
            {
                if !ephemerals.contains(&a) {
                    ephemerals.push(a);
                }
            }
        }
    }
    if ephemerals.is_empty() {
        return Ok(code);
    }
    let ctes = ephemerals
        .iter()
        .map(|&a| {
            let node = &p.manifest.nodes[a];
            let body = crate::compile::compile_node(&p.renderer, &p.manifest.resolver, node)?;
            Ok(format!(
                "__dbt__cte__{} as (\n{}\n)",
                node.name,
                crate::materialize::strip_trailing_semicolons(&body)
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(crate::compile::prepend_ctes(&code, &ctes.join(",\n")))
}

/// `sluice show`, as dbt's `show`: compiles each selected model or
/// analysis (or the `--inline` SQL) with its ephemeral parents inlined,
/// runs it wrapped in `get_show_sql` (`select * from (...) limit n`; every
/// row for a negative `limit`) on a read-only connection, and prints the
/// rows to stdout as a text table under `Previewing node 'name':` (the
/// heading left out with `--quiet`, as dbt) or as JSON. The node itself
/// need not be built; the relations it reads must exist.
///
/// Returns [`Outcome::NodeFailure`] (exit 1) when a node fails to compile,
/// reads a relation the database lacks, or DuckDB rejects its SQL; each is
/// reported at the node's `path:line:col` with a hint.
///
/// Errors: [`ErrorKind::Usage`] without `--select` or `--inline`, or for a
/// selection that matches no model (with a "did you mean"); project errors;
/// [`ErrorKind::MissingFile`] when the database file does not exist yet.
fn show(
    g: &GlobalArgs,
    select: &SelectArgs,
    inline: Option<&str>,
    limit: i64,
    output: crate::cli::ShowOutput,
) -> Result<Outcome> {
    use crate::show::{self as preview, Previewed};
    if select.select.is_empty() && inline.is_none() {
        return Err(Error::new(
            ErrorKind::Usage,
            "`sluice show` needs `--select` or `--inline`",
        )
        .with_hint("preview a model with `sluice show -s orders`, or SQL with `sluice show --inline \"select ...\"`"));
    }
    let printer = Printer { quiet: g.quiet };
    let mut p = parse(g, &printer, &flags("show", g, false))?;
    let limit = preview::row_limit(limit);
    let print = |what: Previewed, table: &crate::warehouse::connection::CellTable, first: bool| {
        match output {
            crate::cli::ShowOutput::Json => println!("{}", preview::render_json(what, table)),
            crate::cli::ShowOutput::Text => {
                if !first {
                    println!();
                }
                if !g.quiet {
                    println!("{}", preview::heading(what));
                }
                print!("{}", preview::render_text(table));
            }
        }
    };
    if let Some(sql) = inline {
        let code = compile_inline(&p, sql)?;
        let db = Database::open_read_only(&p.project.target)?;
        let conn = db.connect()?;
        let query = preview::show_sql(
            &p.renderer,
            crate::materialize::strip_trailing_semicolons(&code),
            limit,
        )?;
        return match conn.query_cells(&query) {
            Ok(table) => {
                print(Previewed::Inline, &table, true);
                Ok(Outcome::Success)
            }
            Err(e) => {
                eprint!("{}", locate_inline_error(e, sql, &code).render());
                Ok(Outcome::NodeFailure)
            }
        };
    }
    let types = [ResourceType::Model, ResourceType::Analysis];
    let state = load_state(g, &p)?;
    let selected = selector::select(
        &p.manifest,
        &p.graph,
        &select.select,
        &select.exclude,
        &types,
        state.as_ref(),
    )?;
    if selected.is_empty() {
        let terms = select.select.join(" ");
        let err = Error::new(
            ErrorKind::Usage,
            format!("`--select {terms}` matches no model or analysis"),
        );
        let names = p
            .manifest
            .nodes
            .iter()
            .filter(|n| types.contains(&n.resource_type))
            .map(|n| n.name.as_str());
        return Err(match crate::error::did_you_mean(&terms, names) {
            Some(s) => err.with_hint(format!("did you mean `{s}`?")),
            None => err.with_hint("list the models with `sluice ls --resource-type model`"),
        });
    }
    set_selected_resources(&mut p, &selected);
    let db = Database::open_read_only(&p.project.target)?;
    let conn = db.connect()?;
    // is_incremental() is true for an incremental model whose table exists,
    // as in dbt's show: the preview is what the next run would add.
    let resolver = Arc::new(Resolver {
        incremental: incremental_models(&p.manifest, &selected, &conn, false)?,
        empty: g.empty,
        ..(*p.manifest.resolver).clone()
    });
    let mut compiled = compile_selected(&p, &resolver, &selected, Lineage::Skip);
    // Nodes that query the warehouse while compiling (run_query, ...) are
    // compiled again against it, as compile does; the connection is
    // read-only, so such a query cannot change anything either.
    let introspective: Vec<usize> = selected
        .iter()
        .copied()
        .filter(|i| compiled[i].as_ref().is_ok_and(|c| c.introspective))
        .collect();
    if !introspective.is_empty() {
        let live_conn: Box<dyn Connection> = Box::new(db.connect()?);
        let live = Introspection::Live(Arc::new(std::sync::Mutex::new(live_conn)));
        let cx = p.context(&resolver);
        for i in introspective {
            compiled.insert(i, compile_one(&cx, i, &live));
        }
    }
    print_warnings(&compiled, g.quiet);
    let mut failed = false;
    let mut first = true;
    for &i in &selected {
        let node = &p.manifest.nodes[i];
        let result = compiled[&i]
            .as_ref()
            .map_err(Error::duplicate)
            .and_then(|c| {
                missing_parent(&p.manifest, node, &conn)?;
                let query = preview::show_sql(
                    &p.renderer,
                    crate::materialize::strip_trailing_semicolons(&c.code),
                    limit,
                )?;
                conn.query_cells(&query).map_err(|e| {
                    crate::runner::locate_in_template(e, node, &c.code)
                        .with_note(format!("compiled SQL: `{}`", slash(&c.path)))
                        .with_hint(format!(
                            "fix the SQL of `{}`, then preview it again with `sluice show -s {}`",
                            slash(&node.original_file_path),
                            node.name
                        ))
                })
            });
        match result {
            Ok(table) => {
                print(Previewed::Node(&node.name), &table, first);
                first = false;
            }
            Err(e) => {
                eprint!("{}", e.render());
                failed = true;
            }
        }
    }
    Ok(if failed {
        Outcome::NodeFailure
    } else {
        Outcome::Success
    })
}

/// Checks that every relation `node`'s SQL reads exists in the database:
/// its parents, and through an ephemeral parent (inlined as a CTE) that
/// parent's parents. dbt's show runs the node's SQL, so its parents must be
/// built; the node itself need not be.
///
/// Errors: [`ErrorKind::Database`] naming the first missing relation, at
/// the `ref`/`source` call in the node's file when it is a direct parent,
/// with a hint to build it; or when the catalog cannot be read.
fn missing_parent(manifest: &Manifest, node: &Node, conn: &dyn Connection) -> Result<()> {
    let mut stack: Vec<(&str, Option<&str>)> = node
        .depends_on
        .iter()
        .rev()
        .map(|d| (d.as_str(), None))
        .collect();
    let mut seen = std::collections::HashSet::new();
    while let Some((uid, via)) = stack.pop() {
        if !seen.insert(uid) {
            continue;
        }
        let Some(parent) = manifest.get(uid) else {
            continue;
        };
        if parent.resource_type == ResourceType::Model
            && parent.config.materialized() == "ephemeral"
        {
            let via = via.or(Some(parent.name.as_str()));
            stack.extend(parent.depends_on.iter().rev().map(|d| (d.as_str(), via)));
            continue;
        }
        let Some(rel) = &parent.relation else {
            continue;
        };
        if conn.relation_type(rel)?.is_some() {
            continue;
        }
        let relation = format!("{}.{}", rel.schema, rel.identifier);
        let (what, hint) = match &parent.source {
            Some(src) => (
                format!("source `{}.{}`", src.source_name, parent.name),
                format!("load `{relation}` into the database; `sluice show` reads sources as they are"),
            ),
            _ => (
                format!("`{}`", parent.name),
                format!(
                    "build it first with `sluice build -s {}` (or every parent with `sluice build -s +{}`): show runs `{}`'s SQL on what its parents hold, as dbt's show",
                    parent.name, node.name, node.name
                ),
            ),
        };
        let mut err = Error::new(
            ErrorKind::Database,
            format!(
                "`{}` reads {what}, but `{relation}` is not in the database",
                node.name
            ),
        )
        .with_hint(hint);
        match via {
            Some(eph) => err = err.with_note(format!("through the ephemeral model `{eph}`")),
            None => {
                if let Some(offset) = call_offset(&node.raw_code, parent) {
                    err = err.with_location(crate::error::Location::from_offset(
                        &node.original_file_path,
                        &node.raw_code,
                        offset,
                    ));
                }
            }
        }
        return Err(err);
    }
    Ok(())
}

/// Where `code` calls `ref(...)` or `source(...)` for `parent`: the byte
/// offset of the call, when it is written out with literal arguments.
fn call_offset(code: &str, parent: &Node) -> Option<usize> {
    let quoted = |s: &str| format!(r#"['"]{}['"]"#, regex::escape(s));
    let pattern = match &parent.source {
        Some(src) => format!(
            r"\bsource\s*\(\s*{}\s*,\s*{}",
            quoted(&src.source_name),
            quoted(&parent.name)
        ),
        _ => format!(
            r#"\bref\s*\(\s*(?:['"][^'"]*['"]\s*,\s*)?{}"#,
            quoted(&parent.name)
        ),
    };
    regex::Regex::new(&pattern)
        .ok()?
        .find(code)
        .map(|m| m.start())
}

/// Points a DuckDB error for `--inline` SQL at the spot in the SQL as given
/// (`<inline>:line:col`), as [`crate::runner::locate_in_template`] does for a model.
fn locate_inline_error(err: Error, inline: &str, compiled: &str) -> Error {
    let hint = "fix the `--inline` SQL and run it again";
    if err.kind() != ErrorKind::Database || err.location().is_some() {
        return err;
    }
    match crate::sql::locate_engine_error(err.message(), compiled) {
        Some((line, col)) => {
            let (line, col) = crate::sql::map_to_template(inline, compiled, line, col);
            err.with_location(crate::error::Location::new(
                "<inline>",
                line,
                col,
                Some(inline),
            ))
            .with_hint(hint)
        }
        None => err.with_hint(hint),
    }
}

fn ls(
    g: &GlobalArgs,
    select: &SelectArgs,
    resource_types: &[String],
    output: LsOutput,
) -> Result<Outcome> {
    let printer = Printer { quiet: true };
    let p = parse(g, &printer, &flags("list", g, false))?;
    let types: Vec<ResourceType> = if resource_types.is_empty() {
        vec![
            ResourceType::Model,
            ResourceType::Seed,
            ResourceType::Source,
            ResourceType::Test,
            ResourceType::Analysis,
        ]
    } else {
        resource_types
            .iter()
            .map(|t| {
                ResourceType::parse(t).ok_or_else(|| {
                    Error::new(ErrorKind::Usage, format!("unknown resource type `{t}`"))
                        .with_hint("use one of: model, seed, source, test, analysis")
                })
            })
            .collect::<Result<_>>()?
    };
    let state = load_state(g, &p)?;
    let selected = selector::select(
        &p.manifest,
        &p.graph,
        &select.select,
        &select.exclude,
        &types,
        state.as_ref(),
    )?;
    for &i in &selected {
        let node = &p.manifest.nodes[i];
        println!("{}", ls_line(node, output));
    }
    Ok(Outcome::Success)
}

fn ls_line(node: &Node, output: LsOutput) -> String {
    match output {
        LsOutput::Name => node.name.clone(),
        LsOutput::Path => slash(&node.original_file_path),
        LsOutput::Selector => match node.resource_type {
            ResourceType::Source => format!("source:{}", node.fqn.join(".")),
            _ => node.fqn.join("."),
        },
        LsOutput::Json => json!({
            "name": node.name,
            "resource_type": node.resource_type.as_str(),
            "package_name": node.package_name,
            "original_file_path": slash(&node.original_file_path),
            "unique_id": node.unique_id,
            "alias": node.relation.as_ref().map(|r| r.identifier.clone()),
            "config": node.config.0,
            "tags": node.config.tags(),
            "depends_on": {"nodes": node.depends_on},
        })
        .to_string(),
    }
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

/// `sluice compile --dialect D`: the selected models' (all models without
/// `--select`) compiled SQL printed for engine `D` (see [`crate::dialect`]).
///
/// Errors: [`ErrorKind::Usage`] for an unknown dialect; a model that cannot
/// be translated is reported at its own line and fails the command (exit 1).
fn compile_dialect(g: &GlobalArgs, select: &SelectArgs, dialect: &str) -> Result<Outcome> {
    let target = crate::dialect::Dialect::parse(dialect).ok_or_else(|| {
        Error::new(ErrorKind::Usage, format!("unknown dialect `{dialect}`"))
            .with_hint("use duckdb, postgres, snowflake or bigquery")
    })?;
    let printer = Printer { quiet: true };
    let p = parse(g, &printer, &flags("compile", g, false))?;
    let selected = selector::select(
        &p.manifest,
        &p.graph,
        &select.select,
        &select.exclude,
        &[ResourceType::Model],
        None,
    )?;
    let resolver = Arc::new((*p.manifest.resolver).clone());
    let compiled = compile_selected(&p, &resolver, &selected, Lineage::Skip);
    let mut order: Vec<usize> = compiled.keys().copied().collect();
    order.sort_unstable();
    let mut failed = false;
    let mut first = true;
    for i in order {
        let node = &p.manifest.nodes[i];
        if node.config.materialized() == "ephemeral" {
            continue;
        }
        let code = match &compiled[&i] {
            Ok(c) => c.code.clone(),
            Err(e) => {
                eprint!("{}", e.render());
                failed = true;
                continue;
            }
        };
        match crate::dialect::translate(&code, target) {
            Ok(sql) => {
                if !first {
                    println!();
                }
                first = false;
                println!("-- {} ({})", node.unique_id, target.name());
                println!("{sql};");
            }
            Err(u) => {
                failed = true;
                let (line, col) = crate::sql::map_to_template(&node.raw_code, &code, u.line, u.col);
                let err = Error::new(
                    ErrorKind::Sql,
                    format!("model `{}`: {}", node.name, u.message),
                )
                .with_location(crate::error::Location::new(
                    &node.original_file_path,
                    line,
                    col,
                    Some(&node.raw_code),
                ))
                .with_hint("rewrite the construct portably, or keep this model DuckDB-only");
                eprint!("{}", err.render());
            }
        }
    }
    Ok(if failed {
        Outcome::NodeFailure
    } else {
        Outcome::Success
    })
}

/// `sluice lineage node.column`: compiles the project, computes column
/// lineage, and prints the column's upstream and downstream columns as
/// trees (or JSON).
///
/// Errors: [`ErrorKind::Usage`] for an argument that is not `node.column`
/// or names no node (with a "did you mean").
fn lineage_command(
    g: &GlobalArgs,
    column: &str,
    output: crate::cli::LineageOutput,
) -> Result<Outcome> {
    use crate::lineage::{ColumnLineage, LineageKind};
    let printer = Printer { quiet: true };
    let p = parse(g, &printer, &flags("lineage", g, false))?;
    let Some((node_name, col)) = column.rsplit_once('.') else {
        return Err(
            Error::new(ErrorKind::Usage, format!("`{column}` is not `node.column`"))
                .with_hint("name a column as `orders.customer_id`"),
        );
    };
    let node = p
        .manifest
        .nodes
        .iter()
        .find(|n| {
            n.name == node_name
                && n.resource_type != ResourceType::Test
                && n.resource_type != ResourceType::UnitTest
        })
        .ok_or_else(|| {
            let err = Error::new(
                ErrorKind::Usage,
                format!("no model, seed, source or snapshot is named `{node_name}`"),
            );
            match crate::error::did_you_mean(
                node_name,
                p.manifest.nodes.iter().map(|n| n.name.as_str()),
            ) {
                Some(s) => err.with_hint(format!("did you mean `{s}`?")),
                None => err,
            }
        })?;
    let compiled = compile_everything(&p);
    let mut by_column: HashMap<(String, String), ColumnLineage> = HashMap::new();
    let mut downstream: HashMap<(String, String), Vec<(String, String)>> = HashMap::new();
    for (&i, c) in &compiled {
        let Ok(c) = c else { continue };
        let uid = &p.manifest.nodes[i].unique_id;
        for l in c.columns_lineage.iter().flatten() {
            let key = (uid.clone(), l.name.to_lowercase());
            for s in &l.sources {
                downstream
                    .entry((s.node.clone(), s.column.to_lowercase()))
                    .or_default()
                    .push((uid.clone(), l.name.clone()));
            }
            by_column.insert(key, l.clone());
        }
    }
    let name_of = |uid: &str| {
        p.manifest
            .get(uid)
            .map_or_else(|| uid.to_owned(), |n| n.name.clone())
    };
    let kind_of = |uid: &str, col: &str| {
        by_column
            .get(&(uid.to_owned(), col.to_lowercase()))
            .map(|l| match l.kind {
                LineageKind::Copy => "copy",
                LineageKind::Rename => "rename",
                LineageKind::Transformation => "transformation",
            })
            .unwrap_or_else(|| {
                p.manifest
                    .get(uid)
                    .map_or("table", |n| n.resource_type.as_str())
            })
    };
    type Step<'a> = &'a dyn Fn(&(String, String)) -> Vec<(String, String)>;
    fn tree(
        key: &(String, String),
        next: Step,
        label: &dyn Fn(&(String, String)) -> serde_json::Value,
        seen: &mut std::collections::BTreeSet<(String, String)>,
    ) -> serde_json::Value {
        let mut children = Vec::new();
        if seen.insert((key.0.clone(), key.1.to_lowercase())) {
            let mut nexts = next(key);
            nexts.sort();
            nexts.dedup();
            for n in nexts {
                children.push(tree(&n, next, label, seen));
            }
        }
        let mut v = label(key);
        v["children"] = serde_json::Value::Array(children);
        v
    }
    let label = |k: &(String, String)| json!({"node": k.0, "name": format!("{}.{}", name_of(&k.0), k.1), "kind": kind_of(&k.0, &k.1)});
    let up = |k: &(String, String)| -> Vec<(String, String)> {
        by_column
            .get(&(k.0.clone(), k.1.to_lowercase()))
            .map(|l| {
                l.sources
                    .iter()
                    .map(|s| (s.node.clone(), s.column.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let down = |k: &(String, String)| -> Vec<(String, String)> {
        downstream
            .get(&(k.0.clone(), k.1.to_lowercase()))
            .cloned()
            .unwrap_or_default()
    };
    let start = (node.unique_id.clone(), col.to_owned());
    let upstream = tree(&start, &up, &label, &mut Default::default());
    let downstream_tree = tree(&start, &down, &label, &mut Default::default());
    match output {
        crate::cli::LineageOutput::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "column": label(&start),
                    "upstream": upstream["children"],
                    "downstream": downstream_tree["children"],
                }))
                .unwrap_or_default()
            );
        }
        crate::cli::LineageOutput::Text => {
            fn print(v: &serde_json::Value, prefix: &str) {
                let children = v["children"].as_array().cloned().unwrap_or_default();
                for (k, c) in children.iter().enumerate() {
                    let last = k + 1 == children.len();
                    println!(
                        "{prefix}{} {} ({})",
                        if last { "└──" } else { "├──" },
                        c["name"].as_str().unwrap_or_default(),
                        c["kind"].as_str().unwrap_or_default()
                    );
                    print(
                        c,
                        &format!("{prefix}{}", if last { "    " } else { "│   " }),
                    );
                }
            }
            println!("{}.{} ({})", node.name, col, kind_of(&node.unique_id, col));
            println!("upstream:");
            print(&upstream, "  ");
            println!("downstream:");
            print(&downstream_tree, "  ");
        }
    }
    Ok(Outcome::Success)
}

/// `sluice dag`: the selected models, seeds, sources and snapshots and the
/// edges between them, as Mermaid or DOT on stdout (see [`crate::graph::render_dag`]).
///
/// Errors: project and selector errors.
fn dag(g: &GlobalArgs, select: &SelectArgs, format: crate::cli::DagFormat) -> Result<Outcome> {
    let p = parse(g, &Printer { quiet: true }, &flags("dag", g, false))?;
    let selected = selector::select(
        &p.manifest,
        &p.graph,
        &select.select,
        &select.exclude,
        &[
            ResourceType::Model,
            ResourceType::Seed,
            ResourceType::Source,
            ResourceType::Snapshot,
        ],
        None,
    )?;
    print!(
        "{}",
        crate::graph::render_dag(&p.manifest, &selected, format == crate::cli::DagFormat::Dot)
    );
    Ok(Outcome::Success)
}

/// `sluice docs generate`: compiles every node, writes manifest.json (with
/// column lineage) and catalog.json read from the warehouse. Without a
/// database file yet, the catalog is empty and says so.
///
/// Errors: project errors, [`ErrorKind::Database`] when the catalog cannot be read.
fn docs_generate(g: &GlobalArgs) -> Result<Outcome> {
    let clock = Instant::now();
    let inv = Invocation::new();
    let printer = Printer { quiet: g.quiet };
    let p = parse(g, &printer, &flags("generate", g, false))?;
    let compiled = compile_everything(&p);
    warnings_and_manifest(&p, &compiled, g.quiet, &inv)?;
    let target = &p.project.target;
    let t = Instant::now();
    let catalog = if target.path == ":memory:" || Path::new(&target.path).exists() {
        let db = Database::open(target)?;
        crate::docs::catalog::catalog_json(&p.manifest, &db.connect()?, &inv)?
    } else {
        printer.line(&format!(
            "No database at `{}` yet: catalog.json lists no tables (run `sluice build` first)",
            target.path
        ));
        serde_json::json!({
            "metadata": crate::docs::artifacts::metadata(&inv, "https://schemas.getdbt.com/dbt/catalog/v1.json", None),
            "nodes": {}, "sources": {}, "errors": null,
        })
    };
    artifacts::write_json(&p.project.target_dir(), "catalog.json", &catalog)?;
    stage("catalog.json", t);
    let t = Instant::now();
    // The last run's statuses and timings, when there was one.
    let run_results = std::fs::read_to_string(p.project.target_dir().join("run_results.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
    let data = crate::docs::site::site_data(
        &p.manifest,
        &compiled,
        &catalog,
        run_results.as_ref(),
        &inv.generated_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    );
    artifacts::write_text(
        &p.project.target_dir(),
        "index.html",
        &crate::docs::site::index_html(&data),
    )?;
    stage("index.html", t);
    printer.line(&format!(
        "Catalog written to {}/catalog.json ({} nodes, {} sources)",
        p.project.config.target_path,
        catalog["nodes"].as_object().map_or(0, |m| m.len()),
        catalog["sources"].as_object().map_or(0, |m| m.len()),
    ));
    printer.line(&format!(
        "Documentation written to {}/index.html in {:.2}s: open it in a browser, or run `sluice docs serve`",
        p.project.config.target_path,
        clock.elapsed().as_secs_f64()
    ));
    Ok(Outcome::Success)
}

/// `sluice deps`: installs the packages of packages.yml, as `dbt deps`
/// (see [`crate::deps`]).
///
/// Errors: those of [`crate::deps::run`].
fn deps(
    g: &GlobalArgs,
    upgrade: bool,
    lock: bool,
    add_package: Option<&str>,
    source: crate::cli::DepsSource,
) -> Result<Outcome> {
    crate::deps::run(&crate::deps::DepsOptions {
        project_dir: g.project_dir.clone().unwrap_or_else(|| PathBuf::from(".")),
        vars: g.vars.clone(),
        upgrade,
        lock,
        add_package: add_package.map(str::to_owned),
        source: match source {
            crate::cli::DepsSource::Hub => crate::deps::AddSource::Hub,
            crate::cli::DepsSource::Git => crate::deps::AddSource::Git,
            crate::cli::DepsSource::Local => crate::deps::AddSource::Local,
        },
        quiet: g.quiet,
    })?;
    Ok(Outcome::Success)
}

fn debug(g: &GlobalArgs) -> Result<Outcome> {
    let opts = load_options(g);
    eprintln!("sluice version: {}", env!("CARGO_PKG_VERSION"));
    let project = Project::load(&opts, &ProjectJinja)?;
    eprintln!(
        "project: `{}` in `{}`  [OK found and valid]",
        project.name(),
        project.root.display()
    );
    let t = &project.target;
    match &t.profiles_file {
        Some(f) => eprintln!("profiles.yml: `{}`  [OK found and valid]", f.display()),
        None => eprintln!(
            "profiles.yml: none defines profile `{}`; using the embedded DuckDB default",
            t.profile_name
        ),
    }
    eprintln!(
        "target: `{}` (type {}, path `{}`, database `{}`, schema `{}`, threads {})",
        t.name, t.adapter_type, t.path, t.database, t.schema, t.threads
    );
    let db = Database::open(t)?;
    let conn = db.connect()?;
    conn.query("select 1")?;
    eprintln!("connection: DuckDB {}  [OK connection ok]", db.version());
    eprintln!("All checks passed!");
    Ok(Outcome::Success)
}

fn clean(g: &GlobalArgs) -> Result<Outcome> {
    let opts = load_options(g);
    let root = &opts.project_dir;
    let file = root.join("dbt_project.yml");
    let text = std::fs::read_to_string(&file).map_err(|e| Error::io("read", &file, e))?;
    let config = crate::project::DbtProject::parse(Path::new("dbt_project.yml"), &text)?;
    let targets = config
        .clean_targets
        .clone()
        .unwrap_or_else(|| vec![config.target_path.clone()]);
    let canon_root = std::fs::canonicalize(root).map_err(|e| Error::io("read", root, e))?;
    for t in targets {
        let path = root.join(&t);
        if !path.exists() {
            continue;
        }
        let canon = std::fs::canonicalize(&path).map_err(|e| Error::io("read", &path, e))?;
        if !canon.starts_with(&canon_root) || canon == canon_root {
            return Err(Error::new(
                ErrorKind::Config,
                format!("refusing to clean `{t}`: it is not inside the project directory"),
            )
            .with_hint("list only folders inside the project in `clean-targets`"));
        }
        std::fs::remove_dir_all(&canon).map_err(|e| Error::io("remove", &path, e))?;
        if !g.quiet {
            eprintln!("Cleaned {t}/");
        }
    }
    Ok(Outcome::Success)
}

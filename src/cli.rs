//! The command line (clap derive). Each flag's doc comment is its `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// sluice: a dbt-style SQL transformation compiler. Renders Jinja SQL models,
/// builds them into DuckDB in dependency order, and tests them.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes (before or after the command name).
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// The project directory (holds dbt_project.yml). Defaults to the current directory.
    #[arg(long, global = true, value_name = "DIR", env = "DBT_PROJECT_DIR")]
    pub project_dir: Option<PathBuf>,
    /// Where to find profiles.yml (default: project dir, then ~/.dbt/; also DBT_PROFILES_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub profiles_dir: Option<PathBuf>,
    /// The profile target to use (default: the profile's `target:`).
    #[arg(long, short = 't', global = true)]
    pub target: Option<String>,
    /// Project vars as a YAML mapping, overriding dbt_project.yml: --vars '{start_date: 2024-01-01}'.
    #[arg(long, global = true, value_name = "YAML")]
    pub vars: Option<String>,
    /// Worker threads for run/test/seed/build (default: the profile's `threads`).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Stop at the first failure: nodes not yet started are skipped.
    #[arg(long, short = 'x', global = true)]
    pub fail_fast: bool,
    /// Build models with zero rows: refs and sources read as `limit 0` subqueries
    /// (run, build, compile), for a fast check that every model's SQL is valid.
    #[arg(long, global = true)]
    pub empty: bool,
    /// A previous run's target directory (manifest.json, run_results.json), for
    /// the `state:modified`, `state:new` and `result:<status>` selectors.
    #[arg(long, global = true, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Refs to models, seeds and snapshots that are not selected and not
    /// built in the target read the relations the `--state` manifest
    /// records instead, as dbt's `--defer` (run, test, seed, snapshot, build).
    #[arg(long, global = true, requires = "state")]
    pub defer: bool,
    /// With `--defer`, read the state's relation even where the target has
    /// one, as dbt's `--favor-state`.
    #[arg(long, global = true, requires = "defer")]
    pub favor_state: bool,
    /// Microbatch models start their first batch at this event time
    /// (`YYYY-MM-DD[ HH:MM:SS]`, UTC) instead of `begin` or the lookback,
    /// as dbt's `--event-time-start`.
    #[arg(long, global = true, value_name = "TIMESTAMP")]
    pub event_time_start: Option<String>,
    /// Microbatch models end their last batch at this event time instead
    /// of now, as dbt's `--event-time-end`.
    #[arg(long, global = true, value_name = "TIMESTAMP")]
    pub event_time_end: Option<String>,
    /// Sample mode, as dbt 1.10's `--sample`: models read each ref and
    /// source whose node sets `event_time` only within a window, either
    /// relative to now (`"3 days"`, `"6 hours"`, `"1 month"`) or
    /// `{start: 2024-07-01, end: 2024-07-08}` (run, build).
    #[arg(long, global = true, value_name = "WINDOW")]
    pub sample: Option<String>,
    /// Data tests that the tested model's inferred grain proves (`unique`,
    /// `not_null`, `unique_combination_of_columns`) are reported
    /// `PASS (proven)` without being executed (build, test; sluice's
    /// extension).
    #[arg(long, global = true)]
    pub skip_proven: bool,
    /// `build` only: build the selection twice into a scratch copy of the
    /// DuckDB file (`<target>/verify_idempotent/`) and report every model
    /// whose rows differ, with the first differing rows; exit 1 if any
    /// does (sluice's extension).
    #[arg(long, global = true)]
    pub verify_idempotent: bool,
    /// Print only errors and the final summary line.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Treat every warning as an error, as dbt's `--warn-error`: a
    /// warning while parsing or selecting stops the command (exit 2), and
    /// a data test with `severity: warn` that finds rows fails.
    #[arg(long, global = true, env = "DBT_WARN_ERROR")]
    pub warn_error: bool,
    /// Which warnings are errors, as dbt's `--warn-error-options`:
    /// `{error: all, warn: [NoNodesForSelectionCriteria]}` (YAML or JSON;
    /// `include`/`exclude` are accepted for `error`/`warn`). Names are
    /// dbt's event names where dbt has one, else the warning's kind.
    #[arg(
        long,
        global = true,
        value_name = "YAML",
        env = "DBT_WARN_ERROR_OPTIONS"
    )]
    pub warn_error_options: Option<String>,
    /// How much to log on stderr besides the run's lines, as dbt's
    /// `--log-level`: `debug` adds each stage's timing.
    #[arg(long, global = true, value_enum, default_value_t = LogLevel::Info, env = "DBT_LOG_LEVEL")]
    pub log_level: LogLevel,
    /// How stderr is written, as dbt's `--log-format`: `text` for people,
    /// `json` for machines (one JSON object a line: progress, node results
    /// with their unique_id and status, warnings and errors with file:line).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "DBT_LOG_FORMAT")]
    pub log_format: LogFormat,
}

/// `--log-format` values, as dbt's (its `debug` format is `text` here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// `--log-level` values, as dbt's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogLevel {
    /// Stage timings and other debug events.
    Debug,
    /// The run's lines (the default).
    #[default]
    Info,
    /// Warnings and errors.
    Warn,
    /// Errors only.
    Error,
    /// Nothing logged (results still print).
    None,
}

/// Node selection, as dbt's `--select` / `--exclude`.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Nodes to include: names, `+model`, `model+`, `2+model`, `tag:x`, `path:models/staging`,
    /// `source:raw.orders`; space-separated terms are a union, comma-separated an intersection.
    #[arg(long, short = 's', num_args = 1.., value_name = "SELECTOR", alias = "models", short_alias = 'm')]
    pub select: Vec<String>,
    /// Nodes to leave out, same grammar as --select.
    #[arg(long, num_args = 1.., value_name = "SELECTOR")]
    pub exclude: Vec<String>,
}

/// `ls --output` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LsOutput {
    /// The node's selector (`shop.staging.stg_orders`), as dbt's default.
    #[default]
    Selector,
    /// The node name.
    Name,
    /// The file path.
    Path,
    /// One JSON object per line.
    Json,
}

/// `lineage --output` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LineageOutput {
    /// Upstream and downstream columns as trees.
    #[default]
    Text,
    /// The same trees as one JSON document.
    Json,
}

/// `show --output` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ShowOutput {
    /// A table, as dbt's (agate's `print_table`).
    #[default]
    Text,
    /// `{"node": ..., "show": [rows]}`, as dbt's.
    Json,
}

/// `dag --format` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DagFormat {
    /// A Mermaid flowchart, left to right (renders in GitHub Markdown).
    #[default]
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// `deps --source` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DepsSource {
    /// A dbt Hub package (`package:` + `version:`).
    #[default]
    Hub,
    /// A git URL (`git:` + `revision:`).
    Git,
    /// A folder (`local:`).
    Local,
}

/// `docs` subcommands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum DocsCommand {
    /// Write target/manifest.json (with column lineage),
    /// target/catalog.json (columns, types and row counts from the warehouse)
    /// and target/index.html (the documentation site, one self-contained file).
    Generate,
    /// Serve target/ (index.html and the JSON artifacts) on 127.0.0.1 only,
    /// and print the URL; stops on Ctrl+C.
    Serve {
        /// Port to listen on (0: any free port).
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
}

/// `source` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum SourceCommand {
    /// Check how old each selected source's newest row is against its
    /// `freshness` (warn_after, error_after), and write target/sources.json,
    /// as `dbt source freshness`; exits 1 when a source is past error_after.
    Freshness {
        /// Selection (`source:raw`, `source:raw.orders`).
        #[command(flatten)]
        select: SelectArgs,
        /// Where to write sources.json (default: target/sources.json).
        #[arg(long, short = 'o', value_name = "PATH")]
        output: Option<std::path::PathBuf>,
    },
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render every selected model, test and analysis to target/compiled/ (no warehouse needed).
    Compile {
        /// Selection.
        #[command(flatten)]
        select: SelectArgs,
        /// Compile this SQL snippet in the project's context and print it.
        #[arg(long)]
        inline: Option<String>,
        /// Write each compiled model as an insta `.snap` file under
        /// `snapshots/compiled/`, to review and commit.
        #[arg(long, conflicts_with = "check")]
        snapshot: bool,
        /// Fail with a diff when a compiled model differs from its `.snap`
        /// file (or has none): shows exactly which SQL a change altered.
        #[arg(long)]
        check: bool,
        /// Print the selected models' compiled SQL for another engine:
        /// duckdb, postgres, snowflake or bigquery.
        #[arg(long)]
        dialect: Option<String>,
    },
    /// Build the selected models in dependency order.
    Run {
        /// Selection.
        #[command(flatten)]
        select: SelectArgs,
        /// Rebuild from scratch (seeds are dropped and recreated).
        #[arg(long)]
        full_refresh: bool,
    },
    /// Run the selected data tests.
    Test {
        /// Selection.
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Load the selected seed CSVs.
    Seed {
        /// Selection.
        #[command(flatten)]
        select: SelectArgs,
        /// Drop and recreate seed tables instead of emptying and refilling them.
        #[arg(long)]
        full_refresh: bool,
    },
    /// Runs the selected snapshots (SCD Type 2 or Type 1 history tables).
    Snapshot {
        /// Selection.
        #[command(flatten)]
        select: SelectArgs,
        /// Compute each snapshot's changes, print the rows it would insert,
        /// update and invalidate, and roll back.
        #[arg(long)]
        dry_run: bool,
    },
    /// Seeds, models, snapshots and tests together in DAG order; a failing test skips what is downstream.
    Build {
        /// Selection.
        #[command(flatten)]
        select: SelectArgs,
        /// Rebuild from scratch (seeds are dropped and recreated).
        #[arg(long)]
        full_refresh: bool,
    },
    /// Print the first rows of the selected models' (or inline SQL's) query, as dbt's `show`.
    ///
    /// The model's compiled SQL runs against the warehouse, opened
    /// read-only: the model itself need not be built, the relations it
    /// reads must be, and nothing is written.
    Show {
        /// Selection: each selected model (or analysis) is previewed.
        #[command(flatten)]
        select: SelectArgs,
        /// Preview this SQL (Jinja, `ref` and `source` allowed) instead of a model.
        #[arg(long, conflicts_with_all = ["select", "exclude"])]
        inline: Option<String>,
        /// Rows to fetch (the query is wrapped in `select * from (...) limit N`); -1 for all.
        #[arg(long, default_value_t = crate::show::DEFAULT_LIMIT, allow_negative_numbers = true)]
        limit: i64,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = ShowOutput::Text)]
        output: ShowOutput,
    },
    /// List the selected nodes.
    #[command(alias = "list")]
    Ls {
        /// Selection.
        #[command(flatten)]
        select: SelectArgs,
        /// Only these resource types (model, seed, source, test, analysis).
        #[arg(long, num_args = 1..)]
        resource_type: Vec<String>,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = LsOutput::Selector)]
        output: LsOutput,
    },
    /// Print the selected nodes' dependency graph (tests left out) as
    /// Mermaid or Graphviz DOT, for READMEs and pull requests.
    Dag {
        /// Selection.
        #[command(flatten)]
        select: SelectArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DagFormat::Mermaid)]
        format: DagFormat,
    },
    /// Documentation artifacts.
    Docs {
        /// What to do.
        #[command(subcommand)]
        command: DocsCommand,
    },
    /// Call a macro against the warehouse, as `dbt run-operation`: its
    /// `run_query` calls and `statement` blocks run; exits 1 when it fails.
    RunOperation {
        /// The macro: `name`, or `package.name`.
        #[arg(value_name = "MACRO")]
        macro_name: String,
        /// Its keyword arguments, as a YAML mapping: `--args '{days: 7}'`.
        #[arg(long)]
        args: Option<String>,
    },
    /// Create a new project folder that builds as it is (two example
    /// models with tests, on the embedded DuckDB default), as `dbt init`.
    Init {
        /// The project's name, and its folder's.
        name: String,
    },
    /// Make the selected nodes' relations in the target as views over the
    /// relations of the `--state` run, as `dbt clone` (existing ones are
    /// kept unless --full-refresh).
    Clone {
        /// Selection.
        #[command(flatten)]
        select: SelectArgs,
        /// Replace relations the target already has.
        #[arg(long)]
        full_refresh: bool,
    },
    /// Parse the project and write target/manifest.json and
    /// target/perf_info.json, without compiling or connecting.
    Parse,
    /// Commands on sources: `source freshness`.
    Source {
        /// What to do.
        #[command(subcommand)]
        command: SourceCommand,
    },
    /// Re-run what errored, failed or was skipped in the last run, build, seed or test.
    Retry,
    /// Check the project, the profile and the warehouse connection.
    Debug,
    /// Delete the folders in `clean-targets` (default: the target path).
    Clean,
    /// Install the packages of packages.yml (dbt Hub, git, tarball, private
    /// and local) into the packages install path (`dbt_packages/`), pinned
    /// by package-lock.yml, as `dbt deps`.
    Deps {
        /// Resolve every package afresh, ignoring package-lock.yml (takes
        /// the newest versions the ranges allow) and rewrite the lock.
        #[arg(long)]
        upgrade: bool,
        /// Resolve and write package-lock.yml without installing anything.
        #[arg(long)]
        lock: bool,
        /// Add a package to packages.yml first, as `name@version`
        /// (`dbt-labs/dbt_utils@1.3.0`; a range list as `@>=1.0.0,<2.0.0`).
        #[arg(long, value_name = "NAME@VERSION")]
        add_package: Option<String>,
        /// Where `--add-package` takes the package from.
        #[arg(long, value_enum, default_value_t = DepsSource::Hub)]
        source: DepsSource,
    },
    /// The column lineage of `node.column`: the upstream columns it is
    /// computed from and the downstream columns computed from it.
    Lineage {
        /// `model_name.column_name` (also a seed, source table or snapshot).
        column: String,
        /// Text trees or JSON.
        #[arg(long, value_enum, default_value_t = LineageOutput::Text)]
        output: LineageOutput,
    },
    /// How `model.column` is computed, from the sources to the column
    /// (sluice's extension): each model's steps (expression, joins,
    /// filters, grouping, dedupes) and one composed query from the inputs.
    Explain {
        /// `model_name.column_name`.
        column: String,
        /// Text or JSON.
        #[arg(long, value_enum, default_value_t = LineageOutput::Text)]
        output: LineageOutput,
        /// Run the composed query where this SQL condition on the model's
        /// columns holds (`customer_id = 42`), and show the input rows
        /// behind the value (needs a built database).
        #[arg(long, value_name = "CONDITION")]
        rows: Option<String>,
    },
}
